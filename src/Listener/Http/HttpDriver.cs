using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Listener.Http;

/// <summary>The HTTP/1.1 stream driver: one <see cref="HttpConnection"/> per accepted connection.</summary>
public sealed class HttpDriver(IProxyRequestHandler handler, HttpListenerOptions options, ILogger? logger = null) : IStreamDriver
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public string Name => "http";

    public Task RunAsync(StreamConnection connection, CancellationToken cancellationToken) =>
        new HttpConnection(connection, handler, options, _logger).RunAsync(cancellationToken);
}
