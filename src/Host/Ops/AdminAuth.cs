using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using LeanProxy.Listener;

namespace LeanProxy.Host.Ops;

/// <summary>
/// Who may use an admin listener: with a token, a request that carries it — <c>Authorization: Bearer TOKEN</c>, or
/// HTTP Basic with the token as password (what a browser prompts for on the status page, and what Prometheus can send)
/// — compared in constant time; without one (loopback listeners only), requests whose Host is an IP literal or
/// localhost, so that a page a DNS name rebinds to loopback is not same-origin with it.
/// </summary>
internal sealed class AdminAuth(byte[]? tokenHash)
{
    /// <summary>How a token is kept and compared: its SHA-256 (equal lengths for the constant-time comparison).</summary>
    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public bool HasToken => tokenHash is not null;

    public bool HostAllowed(ProxyRequest request) => tokenHash is not null || IsLiteralHost(request.Host);

    public bool Authorized(ProxyRequest request)
    {
        if (tokenHash is null)
        {
            return true; // loopback only: a non-loopback admin listener without a token is refused at start
        }

        var header = request.FindHeader("authorization"u8);
        if (header < 0)
        {
            return false;
        }

        var value = request.HeaderValue(header);
        if (value.Length > 7 && Ascii.EqualsIgnoreCase(value[..7], "bearer "u8))
        {
            return Matches(value[7..].Trim((byte)' '));
        }

        if (value.Length > 6 && Ascii.EqualsIgnoreCase(value[..6], "basic "u8))
        {
            try
            {
                var decoded = Base64.IsValid(value[6..].Trim((byte)' ')) ? Convert.FromBase64String(Encoding.ASCII.GetString(value[6..].Trim((byte)' '))) : [];
                var colon = Array.IndexOf(decoded, (byte)':');
                return colon >= 0 && Matches(decoded.AsSpan(colon + 1));
            }
            catch (FormatException)
            {
                return false;
            }
        }

        return false;
    }

    private bool Matches(ReadOnlySpan<byte> token) => CryptographicOperations.FixedTimeEquals(SHA256.HashData(token), tokenHash);

    private static bool IsLiteralHost(ReadOnlySpan<byte> host)
    {
        var text = Encoding.ASCII.GetString(host);
        var colon = text.LastIndexOf(':');
        if (colon > 0 && !text.EndsWith(']'))
        {
            text = text[..colon];
        }

        return text.Equals("localhost", StringComparison.OrdinalIgnoreCase) || System.Net.IPAddress.TryParse(text.Trim('[', ']'), out _);
    }
}
