using System.Collections.Concurrent;
using LeanProxy.Listener;
using LeanProxy.Listener.WebSockets;

namespace LeanProxy.Engine.DataPlane;

/// <summary>
/// Where a page server takes its tabs' data-plane sockets: <c>/__leanproxy/data/TOKEN</c>, a WebSocket handshake from
/// the server's own origin for a token a tab of this app version was given. Each token is taken once; anything else
/// (another tab's token used twice, a guessed one, another origin, a request that is no handshake) is a 404.
/// </summary>
internal sealed class DataPlaneEndpoint
{
    public const string Prefix = Pages.PageServer.Prefix + "data/";

    private readonly ConcurrentDictionary<string, TabDataPlane> _expected = new(StringComparer.Ordinal);

    /// <summary>The tab's page may now connect with its plane's token.</summary>
    public void Expect(TabDataPlane plane) => _expected[plane.Token] = plane;

    /// <summary>The tab ended before its page connected.</summary>
    public void Forget(TabDataPlane plane) => _expected.TryRemove(new KeyValuePair<string, TabDataPlane>(plane.Token, plane));

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000", Justification = "The plane is its tab's: the tab disposes it when it ends.")]
    public ProxyResponse Handle(ProxyRequest request, string path, Uri origin)
    {
        var token = path[Prefix.Length..];
        if (!WebSocketHandshake.IsUpgradeRequest(request)
            || !string.Equals(request.GetHeader("Origin"), origin.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal)
            || !_expected.TryRemove(token, out var plane))
        {
            return ProxyResponse.Text(404, "Not Found");
        }

        return WebSocketHandshake.Accept(request, async connection =>
        {
            var socket = new WebSocketConnection(connection.Transport, TabDataPlane.MaxMessageBytes);
            await using (socket.ConfigureAwait(false))
            {
                await plane.RunAsync(socket, connection.Stopping).ConfigureAwait(false);
            }
        });
    }
}
