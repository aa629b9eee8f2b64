namespace LeanProxy.Listener;

/// <summary>
/// The seam for raw stream traffic (the TCP driver): implemented by the engine, called once per accepted connection.
/// </summary>
public interface IProxyConnectionHandler
{
    /// <summary>
    /// Runs one connection until it is done (either side closed it, or it failed); the listener then closes the
    /// socket. Implementations never throw for handler-level failures: they close the connection instead.
    /// </summary>
    ValueTask HandleConnectionAsync(StreamConnection connection, CancellationToken cancellationToken);
}
