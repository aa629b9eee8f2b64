using LeanProxy.Store;

namespace LeanProxy.Engine.Kv;

/// <summary>
/// The store behind an app's KV bindings, migrated on first use (an embedded SQLite file is created by the first KV
/// call, not before).
/// </summary>
public sealed class KvStoreHandle(SqlAppStore store)
{
    private readonly Lazy<Task> _ready = new(() => store.MigrateAsync(CancellationToken.None));

    public IKvStore Store => store;

    /// <summary>Where the values are, for the log and messages.</summary>
    public string Description => store.Description;

    public Task EnsureReadyAsync() => _ready.Value;
}
