namespace LeanProxy.Engine.Apps;

/// <summary>How one app is served: its tabs, limits and variables. Each default is written here and nowhere else.</summary>
public sealed record AppOptions
{
    /// <summary>Tabs in the pool (default: one per core).</summary>
    public int Tabs { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Tabs at most: while every tab has a queue, the pool opens one more (taken from <see cref="Budget"/> when there is
    /// one), and closes a tab past <see cref="Tabs"/> again once it had nothing to do for <see cref="ExtraTabIdle"/>.
    /// 0 (the default): <see cref="Tabs"/>, a fixed pool.
    /// </summary>
    public int MaxTabs { get; init; }

    /// <summary>How long a tab past <see cref="Tabs"/> may have nothing to do before it is closed.</summary>
    public TimeSpan ExtraTabIdle { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where tabs past <see cref="Tabs"/> come from (a node's <c>--max-tabs</c>); null: no limit but <see cref="MaxTabs"/>.</summary>
    public ITabBudget? Budget { get; init; }

    /// <summary>Per-request deadline; on expiry the client gets 504.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Values handed to the handler as <c>env</c>.</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>Requests queued or in the page at most; beyond this new ones get 503.</summary>
    public int QueueLimit { get; init; } = 4096;

    /// <summary>How long loading the app in a tab may take.</summary>
    public TimeSpan LoadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Exports the app must have (e.g. "fetch" when an HTTP listener is configured).</summary>
    public IReadOnlyList<string> RequiredExports { get; init; } = ["fetch"];

    /// <summary>Keep one extra tab loaded, ready to replace a tab that crashes.</summary>
    public bool WarmSpare { get; init; } = true;

    /// <summary>KV namespaces handed to the handler as <c>env.NAME</c> (Workers KV's API).</summary>
    public IReadOnlyList<string> KvBindings { get; init; } = [];

    /// <summary>Destinations handlers may reach although they are loopback, private or link-local (<c>--allow-net</c>).</summary>
    public IReadOnlyList<Egress.AllowedDestination> AllowNet { get; init; } = [];

    /// <summary>Subrequests (the handler's fetch to other servers) one request may make (Workers' paid plan: 1000).</summary>
    public int MaxSubrequests { get; init; } = 1000;

    /// <summary>Bodies of this many bytes or more travel on the tab's data plane, smaller ones inline in their CDP message
    /// (<c>--inline-body</c>; <see cref="int.MaxValue"/> keeps every body on CDP).</summary>
    public int InlineBodyMax { get; init; } = DataPlane.TabDataPlane.DefaultInlineMax;

    /// <summary>A PEM file of extra root certificates the handler's fetch trusts besides the system's (a private CA).</summary>
    public string? CaFile { get; init; }

    /// <summary>A candidate loaded to check a deploy, not served: not counted as a cold start nor shown as running.</summary>
    public bool Candidate { get; init; }

    /// <summary>The version's name in logs (a deployed app's number; by default the bundle's hash, 12 digits).</summary>
    public string? Version { get; init; }
}
