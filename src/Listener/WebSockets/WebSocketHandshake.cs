using System.Text;

namespace LeanProxy.Listener.WebSockets;

/// <summary>
/// The opening handshake of RFC 6455 §4.2 on the server's side: which requests ask for a WebSocket, and the
/// <c>101 Switching Protocols</c> that accepts one (or the 400/426 that says what is wrong with it). The accepted
/// connection is handed over through <see cref="ProxyResponse.Upgrade"/>.
/// </summary>
public static class WebSocketHandshake
{
    private static readonly byte[] Guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8.ToArray();

    /// <summary>Whether the request asks to upgrade to a WebSocket (<c>Upgrade: websocket</c>; the rest is checked by <see cref="Accept"/>).</summary>
    public static bool IsUpgradeRequest(ProxyRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.GetHeader("Upgrade") is { } upgrade && HasToken(upgrade, "websocket");
    }

    /// <summary>
    /// The response to an upgrade request: a 101 whose <see cref="ProxyResponse.Upgrade"/> runs <paramref name="session"/>
    /// on the connection, or an error (400 for a malformed handshake, 426 with the version this server speaks).
    /// </summary>
    public static ProxyResponse Accept(ProxyRequest request, Func<IUpgradedConnection, Task> session, string? subProtocol = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.KnownMethod != HttpMethod.Get || request.Version != HttpVersion.Http11)
        {
            return ProxyResponse.Text(400, "Bad Request: a WebSocket handshake is a GET over HTTP/1.1.");
        }

        if (request.GetHeader("Connection") is not { } connection || !HasToken(connection, "upgrade"))
        {
            return ProxyResponse.Text(400, "Bad Request: a WebSocket handshake needs Connection: Upgrade.");
        }

        if (request.GetHeader("Sec-WebSocket-Version") is not { } version || version.Trim() != "13")
        {
            var refused = ProxyResponse.Text(426, "Upgrade Required: this server speaks WebSocket version 13.");
            refused.Headers.Add(new("Sec-WebSocket-Version", "13"));
            return refused;
        }

        var key = request.GetHeader("Sec-WebSocket-Key")?.Trim();
        if (key is null || !IsNonce(key))
        {
            return ProxyResponse.Text(400, "Bad Request: Sec-WebSocket-Key must be the base64 of 16 bytes.");
        }

        var response = new ProxyResponse(101) { Upgrade = session };
        response.Headers.Add(new("Sec-WebSocket-Accept", AcceptKey(key)));
        if (subProtocol is not null)
        {
            response.Headers.Add(new("Sec-WebSocket-Protocol", subProtocol));
        }

        return response;
    }

    /// <summary>base64(SHA-1(key + the RFC's GUID)).</summary>
    public static string AcceptKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var bytes = new byte[Encoding.ASCII.GetByteCount(key) + Guid.Length];
        var written = Encoding.ASCII.GetBytes(key, bytes);
        Guid.CopyTo(bytes, written);
        return Convert.ToBase64String(Sha1.Hash(bytes));
    }

    private static bool IsNonce(string key)
    {
        Span<byte> decoded = stackalloc byte[18];
        return key.Length == 24 && Convert.TryFromBase64String(key, decoded, out var length) && length == 16;
    }

    /// <summary>Whether a comma-separated header value holds the token (ASCII case-insensitive).</summary>
    private static bool HasToken(string value, string token)
    {
        foreach (var part in value.Split(','))
        {
            if (part.Trim().Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
