using LeanProxy.Host.Admin;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Ops;

/// <summary>The <c>/v1/*</c> calls of <c>serve APP --admin</c>: the app's live log (<c>GET /v1/apps/NAME/logs</c>).</summary>
internal sealed class AppLogCalls(INodeStatus status, ILogger logger, CancellationToken stopping) : IAdminCalls
{
    public ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, string path, string query, CancellationToken cancellationToken)
    {
        var apps = status.Apps();
        return ValueTask.FromResult(path.Split('/') switch
        {
            ["", "v1", "apps", var name, "logs"] when request.KnownMethod is Listener.HttpMethod.Get && apps.Any(a => a.Name == name) =>
                LogStreams.Local(name, logger, stopping),
            ["", "v1", "apps", var name, "logs"] when request.KnownMethod is Listener.HttpMethod.Get =>
                AdminResponses.Error(404, "no_such_app", $"This server serves {string.Join(", ", apps.Select(a => a.Name))}, not {name}."),
            _ => AdminResponses.Error(404, "not_found",
                $"No such endpoint: {path} (serve APP's admin listener has /healthz, /readyz, /metrics, / and /v1/apps/NAME/logs)."),
        });
    }
}
