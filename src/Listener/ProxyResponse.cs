using System.Threading.Channels;

namespace LeanProxy.Listener;

/// <summary>
/// A response for the HTTP driver to write: status, header fields in order (repeated names kept) and either a
/// whole body or a stream of chunks (sent with Transfer-Encoding: chunked as they are produced).
/// Framing headers (Content-Length, Transfer-Encoding, Connection, Keep-Alive) are the driver's: any the
/// handler set are ignored.
/// </summary>
public sealed class ProxyResponse
{
    public ProxyResponse(int statusCode)
    {
        StatusCode = statusCode;
    }

    public int StatusCode { get; set; }

    /// <summary>The reason phrase; null for the standard one.</summary>
    public string? ReasonPhrase { get; set; }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1002",
        Justification = "A List on purpose: the hot path adds and enumerates with no interface dispatch and no enumerator allocation.")]
    public List<KeyValuePair<string, string>> Headers { get; } = [];

    /// <summary>The whole body. Ignored when <see cref="StreamingBody"/> is set.</summary>
    public ReadOnlyMemory<byte> Body { get; set; }

    /// <summary>
    /// A body produced over time: each chunk is written and flushed as it arrives; completion ends it. A reader that is
    /// <see cref="IDisposable"/> is disposed once the connection is done with it — read to the end, or abandoned
    /// because the client went away or the response has no body (HEAD, 204, 304) — so its producer can stop.
    /// </summary>
    public ChannelReader<ReadOnlyMemory<byte>>? StreamingBody { get; set; }

    /// <summary>
    /// With status 101: the session the connection is handed over to once the head is written (the upgrade seam; see
    /// <see cref="WebSockets.WebSocketHandshake"/>). The connection closes when its task completes.
    /// </summary>
    public Func<IUpgradedConnection, Task>? Upgrade { get; set; }

    /// <summary>The protocol a 101 switches to (its <c>Upgrade</c> header).</summary>
    public string UpgradeProtocol { get; set; } = "websocket";

    /// <summary>Ask the driver to close the connection after this response.</summary>
    public bool CloseConnection { get; set; }

    /// <summary>A plain-text response (used for errors the server itself produces).</summary>
    public static ProxyResponse Text(int statusCode, string text)
    {
        var response = new ProxyResponse(statusCode)
        {
            Body = System.Text.Encoding.UTF8.GetBytes(text),
        };
        response.Headers.Add(new("content-type", "text/plain; charset=utf-8"));
        return response;
    }
}
