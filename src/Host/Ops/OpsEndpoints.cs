using System.Text;
using LeanProxy.Engine.Metrics;
using LeanProxy.Listener;
using Prometheus;

namespace LeanProxy.Host.Ops;

/// <summary>
/// What every admin listener serves for operators (a node's and <c>serve APP --admin</c>'s): <c>/metrics</c> in
/// Prometheus' text format and the status page at <c>/</c>, both behind the listener's token (Bearer, or Basic with the
/// token as password).
/// </summary>
internal sealed class OpsEndpoints(INodeStatus node, AdminAuth auth)
{
    static OpsEndpoints()
    {
        // The engine's and the host's own series plus prometheus-net's process_* ones; no EventCounter or Meter
        // listeners (they would cost the request path and wake the process periodically).
        Prometheus.Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressProcessMetrics = false,
            SuppressDebugMetrics = true,
            SuppressEventCounters = true,
            SuppressMeters = true,
        });
        EngineMetrics.Touch();
    }

    /// <summary>Measures this node's browser from now on (the metrics are per process).</summary>
    public OpsEndpoints Start()
    {
        ChromiumMetrics.Measure(node);
        return this;
    }

    /// <summary>The response for <paramref name="path"/>, or null when it is not one of these endpoints.</summary>
    public async ValueTask<ProxyResponse?> TryHandleAsync(ProxyRequest request, string path, CancellationToken cancellationToken)
    {
        if (path is not ("/" or "/metrics") || request.KnownMethod is not (Listener.HttpMethod.Get or Listener.HttpMethod.Head))
        {
            return null;
        }

        if (!auth.HostAllowed(request))
        {
            return Text(421, "Misdirected: without a token the admin listener answers only to a loopback address or localhost in Host.");
        }

        if (!auth.Authorized(request))
        {
            var refused = Text(401, "Unauthorized: this needs the node's admin token (Authorization: Bearer TOKEN, or Basic with the token as password).");
            refused.Headers.Add(new("WWW-Authenticate", "Basic realm=\"leanproxy\", charset=\"UTF-8\""));
            return refused;
        }

        if (path == "/metrics")
        {
            using var buffer = new MemoryStream();
            await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(buffer, cancellationToken).ConfigureAwait(false);
            var metrics = new ProxyResponse(200) { Body = buffer.ToArray() };
            metrics.Headers.Add(new("Content-Type", "text/plain; version=0.0.4; charset=utf-8"));
            metrics.Headers.Add(new("Cache-Control", "no-store"));
            return metrics;
        }

        var page = new ProxyResponse(200) { Body = Encoding.UTF8.GetBytes(StatusPage.Render(node)) };
        page.Headers.Add(new("Content-Type", "text/html; charset=utf-8"));
        page.Headers.Add(new("Cache-Control", "no-store"));
        page.Headers.Add(new("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"));
        page.Headers.Add(new("X-Content-Type-Options", "nosniff"));
        return page;
    }

    private static ProxyResponse Text(int status, string text)
    {
        var response = ProxyResponse.Text(status, text);
        response.Headers.Add(new("Cache-Control", "no-store"));
        return response;
    }
}
