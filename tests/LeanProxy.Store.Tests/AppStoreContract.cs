using System.Text;

namespace LeanProxy.Store.Tests;

/// <summary>The store contract, run against every implementation (a real SQLite file, a real PostgreSQL).</summary>
public abstract class AppStoreContract
{
    private readonly List<IAppStore> _opened = [];

    /// <summary>A store over fresh, empty storage; every call in one test returns a store over the same storage.</summary>
    protected abstract Task<IAppStore> OpenStoreAsync();

    /// <summary>Prepares fresh storage for the next test.</summary>
    protected abstract Task NewStorageAsync();

    private static readonly Dictionary<string, string> NoVars = [];

    [SetUp]
    public Task SetUpStorage() => NewStorageAsync();

    [TearDown]
    public async Task CloseStores()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }

        _opened.Clear();
    }

    private async Task<IAppStore> StoreAsync()
    {
        var store = await OpenStoreAsync();
        _opened.Add(store);
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    private static byte[] Archive(string text) => Encoding.UTF8.GetBytes(text);

    [Test]
    public async Task ADeployMakesVersionsAndTheSameContentAgainMakesNone()
    {
        var store = await StoreAsync();
        var first = await store.DeployAsync("hello", "aaa", Archive("one"), NoVars, false, default);
        var again = await store.DeployAsync("hello", "aaa", Archive("one"), NoVars, false, default);
        var withVars = await store.DeployAsync("hello", "aaa", Archive("one"), new Dictionary<string, string> { ["A"] = "1" }, false, default);
        var changed = await store.DeployAsync("hello", "bbb", Archive("two"), new Dictionary<string, string> { ["A"] = "1" }, false, default);

        Assert.That((first.Version, first.Created), Is.EqualTo((1, true)));
        Assert.That((again.Version, again.Created), Is.EqualTo((1, false)), "identical content and variables: no new version");
        Assert.That((withVars.Version, withVars.Created), Is.EqualTo((2, true)), "a version is its bundle and its variables");
        Assert.That((changed.Version, changed.Created), Is.EqualTo((3, true)));

        var app = await store.GetAppAsync("hello", default);
        Assert.That(app!.ActiveVersion, Is.EqualTo(3));
        Assert.That(app.Sha256, Is.EqualTo("bbb"));
        Assert.That(app.Variables, Is.EquivalentTo(new Dictionary<string, string> { ["A"] = "1" }));
        var versions = await store.ListVersionsAsync("hello", default);
        Assert.That(versions.Select(v => (v.Version, v.Sha256, v.Size)), Is.EqualTo(new[] { (1, "aaa", 3L), (2, "aaa", 3L), (3, "bbb", 3L) }));
        Assert.That(await store.GetArchiveAsync("bbb", default), Is.EqualTo(Archive("two")));
        Assert.That(await store.GetArchiveAsync("zzz", default), Is.Null);
    }

    [Test]
    public async Task RollbackMakesAnOldVersionActiveAndRefusesWhatDoesNotExist()
    {
        var store = await StoreAsync();
        await store.DeployAsync("app", "aaa", Archive("one"), NoVars, false, default);
        await store.DeployAsync("app", "bbb", Archive("two"), NoVars, false, default);

        Assert.That(await store.RollbackAsync("app", 1, default), Is.EqualTo(RollbackOutcome.Done));
        Assert.That((await store.GetAppAsync("app", default))!.Sha256, Is.EqualTo("aaa"));
        Assert.That(await store.RollbackAsync("app", 9, default), Is.EqualTo(RollbackOutcome.NoSuchVersion));
        Assert.That(await store.RollbackAsync("nope", 1, default), Is.EqualTo(RollbackOutcome.NoSuchApp));
        Assert.That((await store.GetAppAsync("app", default))!.ActiveVersion, Is.EqualTo(1), "a refused rollback changes nothing");
    }

    [Test]
    public async Task ADeleteRemovesTheAppAndLeavesATombstoneInTheChanges()
    {
        var store = await StoreAsync();
        await store.DeployAsync("gone", "aaa", Archive("one"), NoVars, false, default);
        await store.DeployAsync("kept", "bbb", Archive("two"), NoVars, false, default);
        var before = await store.GetRevisionAsync(default);

        Assert.That(await store.DeleteAsync("gone", default), Is.True);
        Assert.That(await store.DeleteAsync("gone", default), Is.False);
        Assert.That(await store.GetAppAsync("gone", default), Is.Null);
        Assert.That((await store.ListAppsAsync(default)).Select(a => a.Name), Is.EqualTo(new[] { "kept" }));
        Assert.That(await store.ListVersionsAsync("gone", default), Is.Empty);

        var changes = await store.GetChangesAsync(before, default);
        Assert.That(changes.Apps.Select(a => (a.Name, a.Deleted)), Is.EqualTo(new[] { ("gone", true) }));

        var again = await store.DeployAsync("gone", "ccc", Archive("three"), NoVars, false, default);
        Assert.That((again.Version, again.Created), Is.EqualTo((1, true)), "deployed again after a delete, it starts over");
    }

    [Test]
    public async Task EveryChangeBumpsTheRevisionAndTheChangesFollowIt()
    {
        var store = await StoreAsync();
        var start = await store.GetRevisionAsync(default);
        await store.DeployAsync("a", "aaa", Archive("1"), NoVars, false, default);
        var afterA = await store.GetRevisionAsync(default);
        await store.DeployAsync("a", "aaa", Archive("1"), NoVars, false, default);
        Assert.That(await store.GetRevisionAsync(default), Is.EqualTo(afterA), "an unchanged deploy is not a change");
        await store.DeployAsync("b", "bbb", Archive("2"), NoVars, false, default);
        await store.RollbackAsync("a", 1, default);

        Assert.That(afterA, Is.GreaterThan(start));
        var all = await store.GetChangesAsync(start, default);
        Assert.That(all.Apps.Select(a => a.Name), Is.EqualTo(new[] { "b", "a" }), "in revision order, each app once with its latest state");
        Assert.That(all.Revision, Is.EqualTo(await store.GetRevisionAsync(default)));
        var later = await store.GetChangesAsync(all.Revision, default);
        Assert.That(later.Apps, Is.Empty);
        Assert.That(later.Revision, Is.EqualTo(all.Revision));
    }

    [Test]
    public async Task TwoNodesMigratingAndDeployingAtOnceGetDistinctVersions()
    {
        var one = await OpenStoreAsync();
        var two = await OpenStoreAsync();
        _opened.Add(one);
        _opened.Add(two);
        await Task.WhenAll(one.MigrateAsync(default), two.MigrateAsync(default), one.MigrateAsync(default));

        var deploys = Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? one : two).DeployAsync("busy", "sha" + i, Archive("v" + i), NoVars, false, default));
        var outcomes = await Task.WhenAll(deploys);

        Assert.That(outcomes.Select(o => o.Version).Order(), Is.EqualTo(Enumerable.Range(1, 10)));
        Assert.That(outcomes.Select(o => o.Revision).Distinct().Count(), Is.EqualTo(10), "each change has its own revision");
        Assert.That((await two.GetAppAsync("busy", default))!.ActiveVersion, Is.EqualTo(outcomes.MaxBy(o => o.Revision)!.Version), "the last to commit is active");
    }

    [Test]
    public async Task AnAppKeptWarmIsSoUntilADeploySaysOtherwise()
    {
        var store = await StoreAsync();
        await store.DeployAsync("w", "aaa", Archive("1"), NoVars, true, default);
        Assert.That((await store.GetAppAsync("w", default))!.Warm, Is.True);
        var before = await store.GetRevisionAsync(default);

        var same = await store.DeployAsync("w", "aaa", Archive("1"), NoVars, false, default);
        Assert.That((same.Version, same.Created), Is.EqualTo((1, false)), "the same version");
        Assert.That((await store.GetAppAsync("w", default))!.Warm, Is.False);
        Assert.That((await store.GetChangesAsync(before, default)).Apps.Single().Warm, Is.False, "the nodes learn of it");
    }

    private static byte[] Key(string key) => Encoding.UTF8.GetBytes(key);

    [Test]
    public async Task KvValuesAreReadBackWithTheirMetadataAndNamespacesAreApart()
    {
        var store = await StoreAsync();
        var kv = (IKvStore)store;
        await kv.PutAsync("a", "KV", Key("k"), [1, 2, 3], """{"m":1}""", null, 100, default);
        await kv.PutAsync("a", "OTHER", Key("k"), [9], null, null, 100, default);
        await kv.PutAsync("b", "KV", Key("k"), [8], null, null, 100, default);

        var found = await kv.GetAsync("a", "KV", [Key("k"), Key("missing")], 100, default);
        Assert.That(found.Single().Value, Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(found.Single().Metadata, Is.EqualTo("""{"m":1}"""));
        Assert.That((await kv.GetAsync("a", "OTHER", [Key("k")], 100, default)).Single().Value, Is.EqualTo(new byte[] { 9 }));

        await kv.PutAsync("a", "KV", Key("k"), [4], null, null, 100, default);
        Assert.That((await kv.GetAsync("a", "KV", [Key("k")], 100, default)).Single().Value, Is.EqualTo(new byte[] { 4 }), "overwritten");
        await kv.DeleteAsync("a", "KV", Key("k"), default);
        Assert.That(await kv.GetAsync("a", "KV", [Key("k")], 100, default), Is.Empty);
        Assert.That(await kv.GetAsync("b", "KV", [Key("k")], 100, default), Has.Count.EqualTo(1), "another app's namespace is untouched");
    }

    [Test]
    public async Task ExpiredKvEntriesAreNeverReturned()
    {
        var kv = (IKvStore)await StoreAsync();
        await kv.PutAsync("a", "KV", Key("short"), [1], null, 150, 100, default);
        Assert.That(await kv.GetAsync("a", "KV", [Key("short")], 149, default), Has.Count.EqualTo(1));
        Assert.That(await kv.GetAsync("a", "KV", [Key("short")], 150, default), Is.Empty);
        Assert.That((await kv.ListAsync("a", "KV", [], null, 10, 150, default)).Keys, Is.Empty);
    }

    [Test]
    public async Task KvListingsAreInByteOrderByPrefixAndPage()
    {
        var kv = (IKvStore)await StoreAsync();
        foreach (var key in new[] { "user:b", "user:a", "user:\u00e9", "user:Z", "other", "user:" })
        {
            await kv.PutAsync("a", "KV", Key(key), [0], key == "user:a" ? """{"x":1}""" : null, key == "user:b" ? 500 : null, 100, default);
        }

        var all = await kv.ListAsync("a", "KV", Key("user:"), null, 10, 100, default);
        Assert.That(all.Keys.Select(k => Encoding.UTF8.GetString(k.Key)), Is.EqualTo(new[] { "user:", "user:Z", "user:a", "user:b", "user:\u00e9" }), "UTF-8 byte order");
        Assert.That(all.Complete, Is.True);
        Assert.That(all.Keys[2].Metadata, Is.EqualTo("""{"x":1}"""));
        Assert.That(all.Keys[3].Expiration, Is.EqualTo(500));

        var first = await kv.ListAsync("a", "KV", Key("user:"), null, 2, 100, default);
        Assert.That((first.Keys.Count, first.Complete), Is.EqualTo((2, false)));
        var next = await kv.ListAsync("a", "KV", Key("user:"), first.Keys[^1].Key, 2, 100, default);
        Assert.That(next.Keys.Select(k => Encoding.UTF8.GetString(k.Key)), Is.EqualTo(new[] { "user:a", "user:b" }));
        Assert.That((await kv.ListAsync("a", "KV", [], null, 100, 100, default)).Keys, Has.Count.EqualTo(6));
    }

    [Test]
    public async Task DeletingAnAppDeletesItsKvNamespaces()
    {
        var store = await StoreAsync();
        var kv = (IKvStore)store;
        await store.DeployAsync("gone", "aaa", Archive("1"), NoVars, false, default);
        await kv.PutAsync("gone", "KV", Key("k"), [1], null, null, 100, default);
        await kv.PutAsync("kept", "KV", Key("k"), [1], null, null, 100, default);
        await store.DeleteAsync("gone", default);
        Assert.That(await kv.GetAsync("gone", "KV", [Key("k")], 100, default), Is.Empty);
        Assert.That(await kv.GetAsync("kept", "KV", [Key("k")], 100, default), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task EveryKvWriteIsLoggedInOrderForTheNodesThatCache()
    {
        var store = await StoreAsync();
        var kv = (IKvStore)store;
        var start = await kv.GetLastChangeAsync(default);
        await kv.PutAsync("a", "KV", Key("k"), [1], null, null, 100, default);
        await kv.DeleteAsync("a", "KV", Key("k"), default);
        await kv.DeleteAppAsync("a", default);
        await store.DeployAsync("b", "bbb", Archive("1"), NoVars, false, default);
        await store.DeleteAsync("b", default);

        var changes = await kv.ReadChangesAsync(start, 10, default);
        Assert.That(changes.Select(c => (c.App, c.Binding, c.Key is null ? null : Encoding.UTF8.GetString(c.Key))),
            Is.EqualTo(new (string, string?, string?)[] { ("a", "KV", "k"), ("a", "KV", "k"), ("a", null, null), ("b", null, null) }));
        Assert.That(changes.Select(c => c.Seq), Is.Ordered.Ascending.And.Unique);
        Assert.That(changes.Select(c => c.Origin).Distinct(), Is.EqualTo(new[] { kv.Origin }));
        Assert.That(await kv.GetLastChangeAsync(default), Is.EqualTo(changes[^1].Seq));
        Assert.That((await kv.ReadChangesAsync(changes[1].Seq, 1, default)).Single(), Is.EqualTo(changes[2]).Using<KvChange>((x, y) => x.Seq == y.Seq));
    }

    [Test]
    public async Task MigratingAgainIsHarmless()
    {
        var store = await StoreAsync();
        await store.DeployAsync("a", "aaa", Archive("1"), NoVars, false, default);
        await store.MigrateAsync(default);
        Assert.That((await store.GetAppAsync("a", default))!.ActiveVersion, Is.EqualTo(1));
    }
}

[TestFixture]
public sealed class SqliteAppStoreTests : AppStoreContract
{
    private string _directory = null!;
    private string _path = null!;

    [OneTimeSetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), "lp-store-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_directory);
    }

    [OneTimeTearDown]
    public void DeleteDirectory()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override Task NewStorageAsync()
    {
        _path = Path.Combine(_directory, Guid.NewGuid().ToString("N")[..8], "store.db");
        return Task.CompletedTask;
    }

    protected override Task<IAppStore> OpenStoreAsync() => Task.FromResult(AppStores.Open("sqlite:" + _path));

    [Test]
    public async Task TheFileIsCreatedOnFirstUseInWalMode()
    {
        await using var store = AppStores.Open("sqlite:" + _path);
        Assert.That(File.Exists(_path), Is.False);
        await store.MigrateAsync(default);
        Assert.That(File.Exists(_path), Is.True);
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + _path);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo("wal"));
    }
}

[TestFixture]
[NonParallelizable]
public sealed class PostgresAppStoreTests : AppStoreContract
{
    private LeanProxy.Tests.Shared.PostgresCluster _cluster = null!;
    private string _database = "postgres";
    private int _next;

    [OneTimeSetUp]
    public async Task StartPostgres() => _cluster = await LeanProxy.Tests.Shared.PostgresCluster.StartAsync();

    [OneTimeTearDown]
    public async Task StopPostgres() => await _cluster.DisposeAsync();

    protected override async Task NewStorageAsync()
    {
        _database = "t" + Interlocked.Increment(ref _next);
        await using var admin = Npgsql.NpgsqlDataSource.Create(AppStores.ParsePostgres(_cluster.Uri()).ConnectionString);
        await using var command = admin.CreateCommand($"CREATE DATABASE {_database}");
        await command.ExecuteNonQueryAsync();
    }

    protected override Task<IAppStore> OpenStoreAsync() => Task.FromResult(AppStores.Open(_cluster.Uri(_database)));

    [Test]
    public void TheDescriptionNeverShowsThePassword()
    {
        var store = AppStores.Open(_cluster.Uri(_database));
        Assert.That(store.Description, Does.Not.Contain("secret-pw").And.StartWith("postgres://postgres@127.0.0.1:"));
        Assert.That(AppStores.Redact(_cluster.Uri()), Does.Not.Contain("secret-pw"));
    }

    [Test]
    public void AnUnknownParameterOrSchemeIsRefusedNamingIt()
    {
        Assert.That(() => AppStores.Open("postgres://u:p@h/db?colour=blue"), Throws.ArgumentException.With.Message.Contains("colour").And.Message.Not.Contains(":p@"));
        Assert.That(() => AppStores.Open("mysql://h/db"), Throws.ArgumentException.With.Message.Contains("sqlite:PATH"));
        Assert.That(() => AppStores.Open("sqlite:"), Throws.ArgumentException.With.Message.Contains("file path"));
    }
}
