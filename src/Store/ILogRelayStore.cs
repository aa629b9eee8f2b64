namespace LeanProxy.Store;

/// <summary>A line of an app's live log as the nodes relay it: its number in the store, and the line (JSON).</summary>
public sealed record RelayedLine(long Seq, string Line);

/// <summary>
/// How the nodes of one store relay an app's live log (<c>leanproxy tail</c>) to the node an operator is connected to:
/// that node marks the app as tailed (for a while, renewed while someone reads); every node then appends the app's
/// lines, and the reading node reads them back in order. Lines are kept for <see cref="SqlAppStore.LogRetention"/>.
/// </summary>
public interface ILogRelayStore
{
    /// <summary>Marks <paramref name="app"/> as tailed until <paramref name="until"/> (seconds since the epoch).</summary>
    Task KeepTailAsync(string app, long until, CancellationToken cancellationToken);

    /// <summary>The apps someone is tailing at <paramref name="now"/>.</summary>
    Task<IReadOnlyList<string>> TailedAppsAsync(long now, CancellationToken cancellationToken);

    Task AppendLogsAsync(IReadOnlyList<(string App, string Node, long At, string Line)> lines, CancellationToken cancellationToken);

    /// <summary>The number of the newest line (0 when none): where a new reader starts.</summary>
    Task<long> LastLogAsync(CancellationToken cancellationToken);

    /// <summary>The lines of <paramref name="app"/> after <paramref name="after"/>, in order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<RelayedLine>> ReadLogsAsync(string app, long after, int limit, CancellationToken cancellationToken);
}
