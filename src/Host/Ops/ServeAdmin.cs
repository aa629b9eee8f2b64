using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using LeanProxy.Host.Admin;
using LeanProxy.Listener;

namespace LeanProxy.Host.Ops;

/// <summary>
/// The admin listener of <c>serve APP --admin HOST:PORT</c>: the probes (<c>/healthz</c>, <c>/readyz</c>) and what
/// operators read (<see cref="OpsEndpoints"/>); a node's admin API adds deploys and the rest.
/// </summary>
internal sealed class ServeAdmin(INodeStatus status, OpsEndpoints ops, AdminAuth auth, CancellationToken stopping) : IProxyRequestHandler
{
    public async ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken)
    {
        var target = request.TargetString;
        var query = target.IndexOf('?');
        var path = query >= 0 ? target[..query] : target;
        var read = request.KnownMethod is Listener.HttpMethod.Get or Listener.HttpMethod.Head;
        switch (path)
        {
            case "/healthz" when read:
                return Json(200, new Health("ok"), AdminJsonContext.Default.Health);
            case "/readyz" when read:
                var reasons = status.NotReady();
                return Json(reasons.Count == 0 ? 200 : 503, new Readiness(reasons.Count == 0, reasons, 0), AdminJsonContext.Default.Readiness);
        }

        if (await ops.TryHandleAsync(request, path, cancellationToken).ConfigureAwait(false) is { } response)
        {
            return response;
        }

        var parts = path.Split('/');
        if (parts is ["", "v1", "apps", var name, "logs"] && read)
        {
            if (!auth.HostAllowed(request))
            {
                return Json(421, new ApiError("misdirected", "Without a token the admin listener answers only to a loopback address or localhost in Host."), AdminJsonContext.Default.ApiError);
            }

            if (!auth.Authorized(request))
            {
                return Json(401, new ApiError("unauthorized", "This call needs Authorization: Bearer TOKEN (the --admin-token-file's)."), AdminJsonContext.Default.ApiError);
            }

            return status.Apps().Any(a => a.Name == name)
                ? LogStreams.Local(name, stopping)
                : Json(404, new ApiError("no_such_app", $"This server serves {string.Join(", ", status.Apps().Select(a => a.Name))}, not {name}."), AdminJsonContext.Default.ApiError);
        }

        return Json(404, new ApiError("not_found", $"No such endpoint: {path} (serve APP's admin listener has /healthz, /readyz, /metrics, / and /v1/apps/NAME/logs)."), AdminJsonContext.Default.ApiError);
    }

    private static ProxyResponse Json<T>(int status, T value, JsonTypeInfo<T> type)
    {
        var response = new ProxyResponse(status) { Body = JsonSerializer.SerializeToUtf8Bytes(value, type) };
        response.Headers.Add(new("Content-Type", "application/json"));
        response.Headers.Add(new("Cache-Control", "no-store"));
        return response;
    }
}
