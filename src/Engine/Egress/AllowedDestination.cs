using System.Globalization;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace LeanProxy.Engine.Egress;

/// <summary>A destination handlers may reach although the policy would refuse it: <c>--allow-net HOST[:PORT]</c>.</summary>
public sealed record AllowedDestination(string Host, int? Port)
{
    /// <summary>Parses HOST, HOST:PORT or [IPv6]:PORT; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static AllowedDestination Parse(string value)
    {
        var text = value.Trim();
        if (text.Length == 0 || text.Any(c => char.IsWhiteSpace(c) || c is '/' or '@' or '?' or '#'))
        {
            throw new FormatException($"{value}: expected HOST or HOST:PORT, e.g. db.internal:5432 or 10.0.0.5.");
        }

        string host;
        int? port = null;
        if (text.StartsWith('['))
        {
            var end = text.IndexOf(']');
            if (end < 0)
            {
                throw new FormatException($"{value}: an IPv6 address needs its closing ']'.");
            }

            host = text[1..end];
            if (end + 1 < text.Length)
            {
                port = PortOf(value, text[(end + 1)..].TrimStart(':'));
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            host = text[..text.IndexOf(':')];
            port = PortOf(value, text[(text.IndexOf(':') + 1)..]);
        }
        else
        {
            host = text;
        }

        if (host.Length == 0)
        {
            throw new FormatException($"{value}: expected HOST or HOST:PORT, e.g. db.internal:5432 or 10.0.0.5.");
        }

        return new AllowedDestination(host.ToLowerInvariant(), port);
    }

    private static int PortOf(string value, string port) =>
        int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and < 65536
            ? number
            : throw new FormatException($"{value}: the port must be a number from 1 to 65535.");

    public bool Matches(string host, int port) =>
        string.Equals(Host, host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase) && (Port is null || Port == port);
}
