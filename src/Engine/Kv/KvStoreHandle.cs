using LeanProxy.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Engine.Kv;

/// <summary>
/// The store behind the KV bindings of a node's apps, as the engine and the admin API use it: migrated on first use (an
/// embedded SQLite file is created by the first KV call, not before), and every write told at once to this node's
/// tabs that may have cached the value, and to the other nodes through the store's log of changes (followed by
/// <see cref="KvChangeFeed"/>).
/// </summary>
public sealed class KvStoreHandle : IKvStore, IAsyncDisposable
{
    private readonly SqlAppStore _store;
    private readonly KvChangeFeed _feed;
    private readonly bool _owner;
    private readonly Lock _lock = new();
    private Task? _ready;

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000",
        Justification = "The handle owns the feed it creates (owner: true) and disposes it.")]
    public KvStoreHandle(SqlAppStore store, ILogger? logger = null)
        : this(store, new KvChangeFeed(store, logger ?? NullLogger.Instance), owner: true)
    {
    }

    private KvStoreHandle(SqlAppStore store, KvChangeFeed feed, bool owner)
    {
        _store = store;
        _feed = feed;
        _owner = owner;
    }

    /// <summary>Where the values are, for the log and messages.</summary>
    public string Description => _store.Description;

    /// <summary>Put before the app's name in every namespace (empty for real apps).</summary>
    public string AppPrefix { get; private init; } = string.Empty;

    internal KvChangeFeed Feed => _feed;

    public string Origin => _store.Origin;

    /// <summary>
    /// Migrates, then learns where the log of changes is, once; a start that failed (the store was away) is tried again
    /// by the next call. A value is read (and may be cached) only after this, so no change made meanwhile is missed.
    /// </summary>
    public Task EnsureReadyAsync()
    {
        lock (_lock)
        {
            if (_ready is null || _ready.IsFaulted || _ready.IsCanceled)
            {
                _ready = StartAsync();
            }

            return _ready;
        }
    }

    private async Task StartAsync()
    {
        await _store.MigrateAsync(CancellationToken.None).ConfigureAwait(false);
        await _feed.StartAsync().ConfigureAwait(false);
    }

    /// <summary>A handle whose namespaces are apart from every app's: for loading a candidate version before it is accepted.</summary>
    public KvStoreHandle Scratch() => new(_store, _feed, owner: false) { AppPrefix = "~scratch~" };

    public Task<IReadOnlyList<KvEntry>> GetAsync(string app, string binding, IReadOnlyList<byte[]> keys, long now, CancellationToken cancellationToken) =>
        _store.GetAsync(app, binding, keys, now, cancellationToken);

    public async Task PutAsync(string app, string binding, byte[] key, byte[] value, string? metadata, long? expiration, long now,
        CancellationToken cancellationToken)
    {
        await _store.PutAsync(app, binding, key, value, metadata, expiration, now, cancellationToken).ConfigureAwait(false);
        _feed.Publish(app, binding, key);
    }

    public async Task DeleteAsync(string app, string binding, byte[] key, CancellationToken cancellationToken)
    {
        await _store.DeleteAsync(app, binding, key, cancellationToken).ConfigureAwait(false);
        _feed.Publish(app, binding, key);
    }

    public Task<KvPage> ListAsync(string app, string binding, byte[] prefix, byte[]? after, int limit, long now, CancellationToken cancellationToken) =>
        _store.ListAsync(app, binding, prefix, after, limit, now, cancellationToken);

    public async Task DeleteAppAsync(string app, CancellationToken cancellationToken)
    {
        await _store.DeleteAppAsync(app, cancellationToken).ConfigureAwait(false);
        _feed.Publish(app, null, null);
    }

    public Task<long> GetLastChangeAsync(CancellationToken cancellationToken) => _store.GetLastChangeAsync(cancellationToken);

    public Task<IReadOnlyList<KvChange>> ReadChangesAsync(long after, int limit, CancellationToken cancellationToken) =>
        _store.ReadChangesAsync(after, limit, cancellationToken);

    /// <summary>Stops following the log (the store itself is its owner's to dispose).</summary>
    public ValueTask DisposeAsync() => _owner ? _feed.DisposeAsync() : ValueTask.CompletedTask;
}
