namespace LeanProxy.Listener;

/// <summary>
/// The one seam between the drivers (which frame bytes) and the engine (which runs handlers).
/// Implemented by the engine; called by the HTTP driver once per request.
/// </summary>
public interface IProxyRequestHandler
{
    /// <summary>
    /// Handles one request. The request (head and body) is only valid until the returned task completes.
    /// Implementations never throw for handler-level failures: they return a 5xx response instead.
    /// </summary>
    ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken);
}
