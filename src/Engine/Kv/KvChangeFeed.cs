using System.Diagnostics;
using LeanProxy.Store;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Kv;

/// <summary>What holds cached KV values of one app (its tabs, through the app's KV binding) and must drop changed ones.</summary>
internal interface IKvCacheHolder
{
    /// <summary>Drop <paramref name="key"/> of <paramref name="binding"/>; a null key: the whole binding; a null binding: everything.</summary>
    void Invalidate(string? binding, byte[]? key);
}

/// <summary>
/// Tells the tabs of this node which KV values changed: at once for writes made here (<see cref="Publish"/>), within
/// <see cref="Interval"/> for writes of other nodes (the store's log of changes, polled). Sequence numbers may commit
/// out of order (PostgreSQL allocates them before commit): a hole is read again for <see cref="HolePatience"/>. A node
/// that could not read the log for longer than it is kept drops everything cached; <c>cacheTtl</c> bounds the rest.
/// </summary>
/// <param name="follow">False for a test that calls <see cref="PollAsync"/> itself.</param>
internal sealed class KvChangeFeed(IKvStore store, ILogger logger, bool follow = true) : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan HolePatience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan OutageLimit = SqlAppStore.ChangeRetention - TimeSpan.FromMinutes(1);
    private const int PageSize = 1000;
    private const int MaxPages = 20;
    private const int MaxHoles = 10_000;

    /// <summary>More changes than this for one binding in one poll drop the whole binding instead.</summary>
    private const int MaxKeysPerBinding = 64;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<IKvCacheHolder>> _holders = new(StringComparer.Ordinal);
    private readonly SortedDictionary<long, long> _holes = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _started;
    private Task? _loop;
    private long _cursor;
    private long _lastRead;
    private bool _failing;

    /// <summary>Learns where the log is now (once); then follows it in the background.</summary>
    public Task StartAsync()
    {
        lock (_lock)
        {
            if (_started is null || _started.IsFaulted)
            {
                _started = StartCoreAsync();
            }

            return _started;
        }
    }

    private async Task StartCoreAsync()
    {
        _cursor = await store.GetLastChangeAsync(CancellationToken.None).ConfigureAwait(false);
        _lastRead = Stopwatch.GetTimestamp();
        if (follow)
        {
            _loop = FollowAsync();
        }
    }

    public IDisposable Subscribe(string app, IKvCacheHolder holder)
    {
        lock (_lock)
        {
            if (!_holders.TryGetValue(app, out var list))
            {
                _holders[app] = list = [];
            }

            list.Add(holder);
        }

        return new Subscription(this, app, holder);
    }

    /// <summary>A write made on this node (already committed): the app's tabs learn of it before the writer's call returns.</summary>
    public void Publish(string app, string? binding, byte[]? key)
    {
        foreach (var holder in HoldersOf(app))
        {
            holder.Invalidate(binding, key);
        }
    }

    private IKvCacheHolder[] HoldersOf(string app)
    {
        lock (_lock)
        {
            return _holders.TryGetValue(app, out var list) ? [.. list] : [];
        }
    }

    private async Task FollowAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await PollAsync(_stop.Token).ConfigureAwait(false);
                    if (_failing)
                    {
                        _failing = false;
                        EngineLog.KvFeedBack(logger);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    if (!_failing)
                    {
                        _failing = true;
                        EngineLog.KvFeedFailed(logger, ex.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One read of the log: what other nodes changed since the last one, told to the holders of each app.</summary>
    internal async Task PollAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_holders.Count == 0)
            {
                return;
            }
        }

        var now = Stopwatch.GetTimestamp();
        if (Stopwatch.GetElapsedTime(_lastRead, now) > OutageLimit)
        {
            // The log may have lost what was written meanwhile: start again from now, with nothing cached.
            _cursor = await store.GetLastChangeAsync(cancellationToken).ConfigureAwait(false);
            _holes.Clear();
            _lastRead = now;
            InvalidateAll();
            return;
        }

        var changed = new Dictionary<(string App, string? Binding), HashSet<byte[]>?>();
        var from = _holes.Count > 0 ? Math.Min(_holes.Keys.First() - 1, _cursor) : _cursor;
        for (var page = 0; ; page++)
        {
            var changes = await store.ReadChangesAsync(from, PageSize, cancellationToken).ConfigureAwait(false);
            foreach (var change in changes)
            {
                if (change.Seq <= _cursor && !_holes.Remove(change.Seq))
                {
                    continue; // had it
                }

                for (var missing = _cursor + 1; missing < change.Seq && _holes.Count <= MaxHoles; missing++)
                {
                    _holes[missing] = now;
                }

                _cursor = Math.Max(_cursor, change.Seq);
                if (change.Origin != store.Origin)
                {
                    Note(changed, change);
                }
            }

            if (changes.Count < PageSize)
            {
                break;
            }

            if (page == MaxPages || _holes.Count > MaxHoles)
            {
                // Far behind: everything cached goes, and the log is followed from its end.
                _cursor = await store.GetLastChangeAsync(cancellationToken).ConfigureAwait(false);
                _holes.Clear();
                _lastRead = now;
                InvalidateAll();
                return;
            }

            from = changes[^1].Seq;
        }

        foreach (var (seq, noticed) in _holes.ToList())
        {
            if (Stopwatch.GetElapsedTime(noticed, now) > HolePatience)
            {
                _holes.Remove(seq);
            }
        }

        _lastRead = now;
        foreach (var ((app, binding), keys) in changed)
        {
            foreach (var holder in HoldersOf(app))
            {
                if (keys is null)
                {
                    holder.Invalidate(binding, null);
                    continue;
                }

                foreach (var key in keys)
                {
                    holder.Invalidate(binding, key);
                }
            }
        }
    }

    private static void Note(Dictionary<(string App, string? Binding), HashSet<byte[]>?> changed, KvChange change)
    {
        if (change.Binding is null)
        {
            changed.Remove((change.App, null));
            changed[(change.App, null)] = null;
            return;
        }

        var slot = (change.App, change.Binding);
        if (change.Key is null)
        {
            changed[slot] = null;
            return;
        }

        if (!changed.TryGetValue(slot, out var keys))
        {
            changed[slot] = keys = new HashSet<byte[]>(ByteArrayComparer.Instance);
        }

        if (keys is not null)
        {
            keys.Add(change.Key);
            if (keys.Count > MaxKeysPerBinding)
            {
                changed[slot] = null;
            }
        }
    }

    private void InvalidateAll()
    {
        List<IKvCacheHolder> all;
        lock (_lock)
        {
            all = [.. _holders.Values.SelectMany(h => h)];
        }

        foreach (var holder in all)
        {
            holder.Invalidate(null, null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private sealed class Subscription(KvChangeFeed feed, string app, IKvCacheHolder holder) : IDisposable
    {
        public void Dispose()
        {
            lock (feed._lock)
            {
                if (feed._holders.TryGetValue(app, out var list) && list.Remove(holder) && list.Count == 0)
                {
                    feed._holders.Remove(app);
                }
            }
        }
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj);
            return hash.ToHashCode();
        }
    }
}
