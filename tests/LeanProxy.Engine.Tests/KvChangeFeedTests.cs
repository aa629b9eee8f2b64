using System.Text;
using LeanProxy.Engine.Kv;
using LeanProxy.Store;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Engine.Tests;

/// <summary>The follower of the store's log of KV changes: what it tells the caches, and the holes it reads again.</summary>
public sealed class KvChangeFeedTests
{
    [Test]
    public async Task OtherWritersChangesReachTheAppsHoldersAndOwnWritesAreNotRepeated()
    {
        var store = new ScriptedLog();
        await using var feed = new KvChangeFeed(store, NullLogger.Instance, follow: false);
        await feed.StartAsync();
        var shop = new Holder();
        var other = new Holder();
        using var _ = feed.Subscribe("shop", shop);
        using var __ = feed.Subscribe("other", other);

        store.Add("shop", "KV", "a", "another node");
        store.Add("shop", "KV", "b", store.Origin);
        store.Add("shop", null, null, "another node");
        await feed.PollAsync(default);

        Assert.That(shop.Seen, Is.EqualTo(new[] { "KV/a", "*" }), "another node's changes, not this node's own (told at once by Publish)");
        Assert.That(other.Seen, Is.Empty);

        feed.Publish("other", "KV", Encoding.UTF8.GetBytes("x"));
        Assert.That(other.Seen, Is.EqualTo(new[] { "KV/x" }));
    }

    [Test]
    public async Task AHoleIsReadAgainUntilItsChangeCommits()
    {
        var store = new ScriptedLog();
        await using var feed = new KvChangeFeed(store, NullLogger.Instance, follow: false);
        await feed.StartAsync();
        var holder = new Holder();
        using var _ = feed.Subscribe("shop", holder);

        var late = store.Reserve(); // a number taken by a transaction that commits later
        store.Add("shop", "KV", "first", "another node");
        await feed.PollAsync(default);
        Assert.That(holder.Seen, Is.EqualTo(new[] { "KV/first" }));

        store.Commit(late, "shop", "KV", "late", "another node");
        store.Add("shop", "KV", "next", "another node");
        await feed.PollAsync(default);
        Assert.That(holder.Seen, Is.EqualTo(new[] { "KV/first", "KV/late", "KV/next" }), "the late change is told once, the others not again");
    }

    [Test]
    public async Task ManyChangesToOneBindingDropTheWholeBinding()
    {
        var store = new ScriptedLog();
        await using var feed = new KvChangeFeed(store, NullLogger.Instance, follow: false);
        await feed.StartAsync();
        var holder = new Holder();
        using var _ = feed.Subscribe("shop", holder);
        for (var i = 0; i < 100; i++)
        {
            store.Add("shop", "KV", "k" + i, "another node");
        }

        await feed.PollAsync(default);
        Assert.That(holder.Seen, Is.EqualTo(new[] { "KV/*" }));
    }

    private sealed class Holder : IKvCacheHolder
    {
        public List<string> Seen { get; } = [];

        public void Invalidate(string? binding, byte[]? key) =>
            Seen.Add(binding is null ? "*" : binding + "/" + (key is null ? "*" : Encoding.UTF8.GetString(key)));
    }

    /// <summary>A log whose numbers can be taken before their change commits, as PostgreSQL's are.</summary>
    private sealed class ScriptedLog : IKvStore
    {
        private readonly SortedDictionary<long, KvChange> _committed = [];
        private long _next = 41;

        public string Origin => "this node";

        public long Reserve() => ++_next;

        public void Commit(long seq, string app, string? binding, string? key, string origin) =>
            _committed[seq] = new KvChange(seq, app, binding, key is null ? null : Encoding.UTF8.GetBytes(key), origin);

        public void Add(string app, string? binding, string? key, string origin) => Commit(Reserve(), app, binding, key, origin);

        public Task<long> GetLastChangeAsync(CancellationToken cancellationToken) => Task.FromResult(_committed.Count == 0 ? _next : _committed.Keys.Max());

        public Task<IReadOnlyList<KvChange>> ReadChangesAsync(long after, int limit, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<KvChange>>([.. _committed.Values.Where(c => c.Seq > after).Take(limit)]);

        public Task<IReadOnlyList<KvEntry>> GetAsync(string app, string binding, IReadOnlyList<byte[]> keys, long now, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task PutAsync(string app, string binding, byte[] key, byte[] value, string? metadata, long? expiration, long now, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task DeleteAsync(string app, string binding, byte[] key, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<KvPage> ListAsync(string app, string binding, byte[] prefix, byte[]? after, int limit, long now, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task DeleteAppAsync(string app, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
