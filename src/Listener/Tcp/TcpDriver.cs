using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Listener.Tcp;

/// <summary>
/// The raw TCP stream driver: no framing, the connection's bytes go to the handler as they are. The connection counts
/// as idle for the server's stop signal (a raw stream has no request boundary to finish first), so stopping the
/// server cancels its pending read and the handler closes it.
/// </summary>
public sealed class TcpDriver(IProxyConnectionHandler handler, ILogger? logger = null) : IStreamDriver
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public string Name => "tcp";

    public async Task RunAsync(StreamConnection connection, CancellationToken cancellationToken)
    {
        connection.Context.Idle = true;
        try
        {
            await handler.HandleConnectionAsync(connection, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            ListenerLog.ConnectionIoError(_logger, connection.Id, ex);
        }
    }
}
