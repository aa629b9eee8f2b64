using LeanProxy.Host.Admin;
using LeanProxy.Host.Node;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Ops;

/// <summary>
/// An admin listener (<c>--admin HOST:PORT</c>), a node's or a single app's: the probes (<c>/healthz</c>,
/// <c>/readyz</c>, no token), what operators read (<see cref="OpsEndpoints"/>), and the <c>/v1/*</c> calls — a node's
/// admin API (<see cref="AdminApi"/>), or a single app's live log (<see cref="AppLogCalls"/>) — each behind the token
/// (<c>Authorization: Bearer TOKEN</c>, compared in constant time) or, without one, only for an IP-literal or
/// localhost Host (so that a page a DNS name rebinds to loopback is not taken for the operator).
/// </summary>
internal sealed class AdminListener(INodeStatus status, OpsEndpoints ops, AdminAuth auth, IAdminCalls calls, ILogger logger) : IProxyRequestHandler
{
    public async ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken)
    {
        var target = request.TargetString;
        var mark = target.IndexOf('?');
        var path = mark >= 0 ? target[..mark] : target;
        var query = mark >= 0 ? target[(mark + 1)..] : string.Empty;
        switch (path)
        {
            case "/healthz" when request.KnownMethod is Listener.HttpMethod.Get or Listener.HttpMethod.Head:
                return AdminResponses.Json(200, new Health("ok"), AdminJsonContext.Default.Health);
            case "/readyz" when request.KnownMethod is Listener.HttpMethod.Get or Listener.HttpMethod.Head:
                var reasons = status.NotReady();
                return AdminResponses.Json(reasons.Count == 0 ? 200 : 503, new Readiness(reasons.Count == 0, reasons, status.Revision),
                    AdminJsonContext.Default.Readiness);
        }

        if (await ops.TryHandleAsync(request, path, cancellationToken).ConfigureAwait(false) is { } operations)
        {
            return operations;
        }

        if (!path.StartsWith("/v1/", StringComparison.Ordinal))
        {
            return AdminResponses.Error(404, "not_found", $"No such endpoint: {path}.");
        }

        if (!auth.HostAllowed(request))
        {
            return AdminResponses.Error(421, "misdirected", "Without a token the admin API answers only to a loopback address or localhost in Host.");
        }

        if (!auth.Authorized(request))
        {
            NodeLog.Unauthorized(logger, path, 401);
            var unauthorized = AdminResponses.Error(401, "unauthorized", "This call needs Authorization: Bearer TOKEN (the --admin-token-file's).");
            unauthorized.Headers.Add(new("WWW-Authenticate", "Bearer"));
            return unauthorized;
        }

        return await calls.HandleAsync(request, path, query, cancellationToken).ConfigureAwait(false);
    }
}
