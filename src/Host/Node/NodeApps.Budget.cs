using LeanProxy.Engine.Apps;
using LeanProxy.Listener;

namespace LeanProxy.Host.Node;

/// <summary>The node's tab budget: who gives tabs back when it is spent, and apps nobody uses.</summary>
internal sealed partial class NodeApps
{
    /// <summary>
    /// Takes back a tab an app added while its queue grew; else stops the running app (not <paramref name="except"/>,
    /// not one kept warm) that is idle and least recently used —
    /// or, when every one is busy, the least recently used — so that its tabs go to an app that has none: an app with a
    /// request waiting is never starved by busy ones. Its requests in flight finish on it. False when there is none.
    /// </summary>
    private async Task<bool> EvictLeastRecentlyUsedAsync(string except)
    {
        // First a tab an app added while its queue grew (any app, the least recently used first): every app keeps its first.
        foreach (var grown in _apps.Values.Select(a => a.Running).OfType<AppHost>().Where(h => h.LiveTabs > h.Options.Tabs).OrderBy(h => h.LastActivity))
        {
            if (grown.GiveOneTabBack())
            {
                return true;
            }
        }

        var candidates = _apps.Values
            .Where(a => a.Running is not null && a.Desired.Name != except && !a.Desired.Warm)
            .OrderBy(a => a.Running!.Outstanding > 0 ? 1 : 0)
            .ThenBy(a => a.Running!.LastActivity)
            .ToList();
        foreach (var candidate in candidates)
        {
            if (await StopHereAsync(candidate, "its tabs went to another app (--max-tabs " + _options.MaxTabs + ")").ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Apps (not kept warm) with no request for <see cref="NodeOptions.IdleTimeout"/> give their tabs back.</summary>
    private async Task StopIdleAsync()
    {
        var now = Environment.TickCount64;
        foreach (var app in _apps.Values.Where(a => a.Running is { Outstanding: 0 } host && !a.Desired.Warm
            && now - host.LastActivity > _options.IdleTimeout.TotalMilliseconds))
        {
            await StopHereAsync(app, $"idle for {_options.IdleTimeout.TotalSeconds:0} s").ConfigureAwait(false);
        }
    }

    /// <summary>Stops serving an app on this node (its next request starts it again); false when its gate is busy.</summary>
    private async Task<bool> StopHereAsync(NodeApp app, string why)
    {
        if (!await app.Gate.WaitAsync(0).ConfigureAwait(false))
        {
            return false; // starting or switching right now: not a candidate
        }

        try
        {
            if (app.Running is not { } host)
            {
                return false;
            }

            Router.Remove(app.Desired.Name);
            app.Running = null;
            app.RunningIdentity = null;
            NodeLog.StoppedHere(_logger, app.Desired.Name, app.RunningVersion, why);
            LeanProxy.Engine.Metrics.NodeEvents.Add("stop", app.Desired.Name, "stopped: " + why);
            FireAndForget.Run(RetireAsync(host), _logger, "stopping the least recently used app");
            return true;
        }
        finally
        {
            app.Gate.Release();
        }
    }
}
