using LeanProxy.Engine.Apps;

namespace LeanProxy.Host.Node;

/// <summary>How a node serves the apps of its store. Each default is written here and nowhere else.</summary>
internal sealed record NodeOptions
{
    /// <summary>Apps are reached as NAME.DOMAIN (<c>*.localhost</c> resolves to loopback with no DNS set-up).</summary>
    public string Domain { get; init; } = "localhost";

    /// <summary>
    /// The options every app host starts with (its variables come from the store): one tab, growing to one per core
    /// (at least 2) while its queue grows; no warm spare per app (the node keeps one prepared context for all).
    /// </summary>
    public AppOptions App { get; init; } = new() { Tabs = 1, MaxTabs = Math.Max(2, Environment.ProcessorCount), WarmSpare = false };

    /// <summary>
    /// Tabs of all apps together at most. An app that needs tabs past it takes them from the least recently used app
    /// (not one kept warm); only when every tab is a warm app's does it get 503.
    /// </summary>
    public int MaxTabs { get; init; } = 4 * Environment.ProcessorCount;

    /// <summary>Keep one browser context prepared, the page runtime loaded in its tab, for the next app that starts (a faster cold start).</summary>
    public bool PrepareContext { get; init; } = true;

    /// <summary>An app (not kept warm) that had no request for this long gives its tabs back.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the store's revision is read.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a node that starts with an unreachable store keeps trying before it exits.</summary>
    public TimeSpan StartRetryWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After a version switch, how long the old version waits before draining (requests that already picked it arrive).</summary>
    public TimeSpan SwitchGrace { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The largest bundle a deploy may upload.</summary>
    public long MaxBundleBytes { get; init; } = 25L * 1024 * 1024;
}
