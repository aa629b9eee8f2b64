namespace LeanProxy.Host.Ops;

/// <summary>An app as the status page lists it: its name and the version this node serves (text: "3", or a bundle hash).</summary>
internal sealed record StatusApp(string Name, string Version);

/// <summary>What the status page and the readiness probe show of a node (a <c>serve --store</c> node or a single-app <c>serve APP</c>).</summary>
internal interface INodeStatus
{
    /// <summary>"node" or "app".</summary>
    string Mode { get; }

    /// <summary>The store, with any password left out; null when there is none.</summary>
    string? Store { get; }

    /// <summary>Why the node is not ready (empty when it is).</summary>
    IReadOnlyList<string> NotReady();

    IReadOnlyList<StatusApp> Apps();

    /// <summary>The store's revision this node has applied (0 without a store of apps).</summary>
    long Revision { get; }

    /// <summary>The browser's process id when this node launched it (for its CPU and memory).</summary>
    int? BrowserProcessId { get; }
}
