using System.Globalization;
using LeanProxy.Engine.Browser;
using LeanProxy.Host.Ops;

namespace LeanProxy.Host.Node;

/// <summary>A node (<c>serve --store</c>) as its status page and readiness probe see it.</summary>
internal sealed class NodeStatus(NodeApps apps, BrowserHost browser) : INodeStatus
{
    public string Mode => "node";

    public string? Store => apps.Store.Description;

    public int? BrowserProcessId => browser.Browser.ProcessId;

    public long Revision => apps.Revision;

    public IReadOnlyList<string> NotReady()
    {
        var reasons = new List<string>();
        if (!apps.StoreReachable)
        {
            reasons.Add($"the store {apps.Store.Description} is unreachable");
        }

        if (!browser.IsRunning)
        {
            reasons.Add("the browser is not running");
        }

        return reasons;
    }

    public IReadOnlyList<StatusApp> Apps() =>
        [.. apps.Known().Select(a => new StatusApp(a.Name, a.Version.ToString(CultureInfo.InvariantCulture)))];
}
