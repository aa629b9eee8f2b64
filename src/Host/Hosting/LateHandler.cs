using LeanProxy.Listener;

namespace LeanProxy.Host.Hosting;

/// <summary>
/// The handler of a listener bound before what it serves exists (ports are bound first, so that a port in use fails
/// at once): forwards to it once it is there, and answers 503 until then.
/// </summary>
internal sealed class LateHandler(Func<IProxyRequestHandler?> current, string starting) : IProxyRequestHandler
{
    public ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken) =>
        current() is { } handler
            ? handler.HandleAsync(request, cancellationToken)
            : ValueTask.FromResult(ProxyResponse.Text(503, "Service Unavailable: " + starting));
}
