using LeanProxy.Store;

namespace LeanProxy.Engine.Kv;

/// <summary>
/// The store behind an app's KV bindings, migrated on first use (an embedded SQLite file is created by the first KV
/// call, not before).
/// </summary>
public sealed class KvStoreHandle(SqlAppStore store)
{
    private readonly Lock _lock = new();
    private Task? _ready;

    public IKvStore Store => store;

    /// <summary>Where the values are, for the log and messages.</summary>
    public string Description => store.Description;

    /// <summary>Migrates once; a migration that failed (the store was away) is tried again by the next call.</summary>
    public Task EnsureReadyAsync()
    {
        lock (_lock)
        {
            if (_ready is null || _ready.IsFaulted || _ready.IsCanceled)
            {
                _ready = store.MigrateAsync(CancellationToken.None);
            }

            return _ready;
        }
    }

    /// <summary>A handle whose namespaces are apart from every app's: for loading a candidate version before it is accepted.</summary>
    public KvStoreHandle Scratch() => new(store) { AppPrefix = "~scratch~" };

    /// <summary>Put before the app's name in every namespace (empty for real apps).</summary>
    public string AppPrefix { get; private init; } = string.Empty;
}
