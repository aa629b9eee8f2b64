using System.Formats.Tar;
using LeanProxy.Tests.Shared;

namespace LeanProxy.Integration.Tests;

/// <summary>Node mode through the real binary: deploys with the CLI, routing by Host, live changes, bad deploys, many nodes on one store.</summary>
[TestFixture]
[NonParallelizable]
public sealed class NodeTests
{
    private readonly List<string> _cleanup = [];

    [TearDown]
    public void Clean()
    {
        foreach (var path in _cleanup)
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }

        _cleanup.Clear();
    }

    private string App(string answer, string? source = null)
    {
        var folder = NodeHarness.MakeApp(answer, source);
        _cleanup.Add(folder);
        return folder;
    }

    private string SqliteStore()
    {
        var folder = Path.Combine(Path.GetTempPath(), "lp-node-" + Guid.NewGuid().ToString("N")[..8]);
        _cleanup.Add(folder);
        return "sqlite:" + Path.Combine(folder, "store.db");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ADeployWithTheCliIsServedByHostAndManagedThroughTheApi(CancellationToken cancellationToken)
    {
        await using var node = await NodeHarness.StartAsync(SqliteStore(), admin: true, cancellationToken);

        var (code, stdout, stderr) = await node.CliAsync(cancellationToken, "deploy", App("one"), "--name", "hello", "--var", "GREETING=hi");
        Assert.That(code, Is.Zero, stderr);
        Assert.That(stdout.Trim(), Is.EqualTo($"deployed hello version 1: http://hello.localhost:{node.HttpPort}/"));
        Assert.That(await node.GetAsync("hello", "/", cancellationToken), Is.EqualTo((200, "one hi")));

        var unknown = await node.GetAsync("nope", "/", cancellationToken);
        Assert.That(unknown.Status, Is.EqualTo(404));
        Assert.That(unknown.Body, Does.Contain("no app named nope"));

        (code, stdout, _) = await node.CliAsync(cancellationToken, "deploy", App("one"), "--name", "hello", "--var", "GREETING=hi");
        Assert.That((code, stdout), Is.EqualTo((0, $"unchanged hello version 1 (the same content and variables): http://hello.localhost:{node.HttpPort}/\n")));

        (code, _, stderr) = await node.CliAsync(cancellationToken, "deploy", App("two"), "--name", "hello");
        Assert.That(code, Is.Zero, stderr);
        Assert.That(await node.GetAsync("hello", "/", cancellationToken), Is.EqualTo((200, "two")), "the node that took the deploy serves it when it answers");

        (code, stdout, _) = await node.CliAsync(cancellationToken, "apps", "list");
        Assert.That(stdout, Does.StartWith("hello\tversion 2\t"));
        (code, stdout, _) = await node.CliAsync(cancellationToken, "apps", "show", "hello");
        Assert.That(stdout, Does.Contain("running version 2").And.Contain("version 1").And.Contain("vars GREETING").And.Not.Contain("hi"), "variables by name only");

        (code, stdout, _) = await node.CliAsync(cancellationToken, "apps", "rollback", "hello", "--version", "1");
        Assert.That((code, stdout.Trim()), Is.EqualTo((0, "rolled back hello to version 1")));
        Assert.That(await node.GetAsync("hello", "/", cancellationToken), Is.EqualTo((200, "one hi")));

        (code, _, stderr) = await node.CliAsync(cancellationToken, "apps", "rollback", "hello", "--version", "9");
        Assert.That((code, stderr), Is.EqualTo((1, "error: 404 NotFound: The app hello has no version 9. (no_such_version)\n")));

        (code, _, _) = await node.CliAsync(cancellationToken, "apps", "delete", "hello");
        Assert.That(code, Is.Zero);
        Assert.That((await node.GetAsync("hello", "/", cancellationToken)).Status, Is.EqualTo(404), "a deleted app answers 404, never another app");
        (code, _, stderr) = await node.CliAsync(cancellationToken, "apps", "show", "hello");
        Assert.That((code, stderr), Is.EqualTo((1, "error: 404 NotFound: There is no app named hello. (no_such_app)\n")));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task BadDeploysAreRefusedWithAReasonAndChangeNothing(CancellationToken cancellationToken)
    {
        await using var node = await NodeHarness.StartAsync(SqliteStore(), admin: true, cancellationToken, "--max-bundle", "200000");
        Assert.That((await node.CliAsync(cancellationToken, "deploy", App("good"), "--name", "app")).Code, Is.Zero);

        var (code, _, stderr) = await node.CliAsync(cancellationToken, "deploy", App("x", "export default { fetch() { return new Response('bad'); } };\nlet broken = ;\n"), "--name", "app");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("422").And.Contain("/index.js:2:").And.Contain("SyntaxError"));

        (code, _, stderr) = await node.CliAsync(cancellationToken, "deploy", App("x", "export default { connect() {} };\n"), "--name", "app");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("no export default { fetch() }"));

        var link = new MemoryStream();
        using (var writer = new TarWriter(link, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "index.js") { DataStream = new MemoryStream("export default {}"u8.ToArray()) });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "secrets.js") { LinkName = "/etc/shadow" });
        }

        var (status, body) = await node.AdminAsync(HttpMethod.Put, "/v1/apps/app", cancellationToken, new ByteArrayContent(link.ToArray()));
        Assert.That(status, Is.EqualTo(400));
        Assert.That(body, Does.Contain("\"error\":\"bad_bundle\"").And.Contain("secrets.js").And.Contain("symbolic link"));

        (status, body) = await node.AdminAsync(HttpMethod.Put, "/v1/apps/app?vars=API_KEY=hunter2-secret", cancellationToken, new ByteArrayContent(link.ToArray()));
        Assert.That(status, Is.EqualTo(400));
        Assert.That(body, Does.Contain("vars").And.Not.Contain("hunter2"), "a mistyped parameter is named, its value never shown");

        (status, body) = await node.AdminAsync(HttpMethod.Put, "/v1/apps/Not_A_Name", cancellationToken, new ByteArrayContent(link.ToArray()));
        Assert.That(status, Is.EqualTo(400));
        Assert.That(body, Does.Contain("bad_name"));

        (status, _) = await node.AdminAsync(HttpMethod.Put, "/v1/apps/app", cancellationToken, new ByteArrayContent(new byte[300_000]));
        Assert.That(status, Is.EqualTo(413), "over --max-bundle");

        (status, body) = await node.AdminAsync(HttpMethod.Get, "/v1/apps", cancellationToken, token: "wrong-token-0123456789");
        Assert.That(status, Is.EqualTo(401));
        Assert.That(body, Does.Contain("unauthorized"));
        (status, _) = await node.AdminAsync(HttpMethod.Get, "/v1/apps", cancellationToken, token: null);
        Assert.That(status, Is.EqualTo(401));
        (status, _) = await node.AdminAsync(HttpMethod.Get, "/healthz", cancellationToken, token: null);
        Assert.That(status, Is.EqualTo(200), "health needs no token");

        // What a page could send cross-origin without a preflight: a text/plain POST. Refused, even with a token.
        (status, body) = await node.AdminAsync(HttpMethod.Post, "/v1/apps/app/rollback", cancellationToken, new StringContent("{\"version\":1}", System.Text.Encoding.UTF8, "text/plain"));
        Assert.That(status, Is.EqualTo(415));
        Assert.That(body, Does.Contain("application/json"));

        Assert.That(await node.GetAsync("app", "/", cancellationToken), Is.EqualTo((200, "good")), "every refused deploy left version 1 serving");
        (status, body) = await node.AdminAsync(HttpMethod.Get, "/v1/apps/app", cancellationToken);
        Assert.That(body, Does.Contain("\"version\":1,"));
        Assert.That(node.Process.Stderr, Does.Not.Contain(NodeHarness.Token), "the token is never logged");
        Assert.That(node.Process.Stderr, Does.Not.Contain("hunter2"), "nor a value of a refused parameter");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task RedeployingUnderLoadFailsNoRequest(CancellationToken cancellationToken)
    {
        await using var node = await NodeHarness.StartAsync(SqliteStore(), admin: true, cancellationToken);
        Assert.That((await node.CliAsync(cancellationToken, "deploy", App("v1"), "--name", "busy")).Code, Is.Zero);
        await node.WaitForAsync("busy", "v1", cancellationToken);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var failures = new List<string>();
        var answers = new HashSet<string>();
        long count = 0;
        var load = Enumerable.Range(0, 8).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var (status, body) = await node.GetAsync("busy", "/", stop.Token);
                    Interlocked.Increment(ref count);
                    lock (answers)
                    {
                        if (status == 200)
                        {
                            answers.Add(body);
                        }
                        else
                        {
                            failures.Add($"{status} {body}");
                        }
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
            }
        }).ToList();

        foreach (var version in new[] { "v2", "v3" })
        {
            var (code, _, stderr) = await node.CliAsync(cancellationToken, "deploy", App(version), "--name", "busy");
            Assert.That(code, Is.Zero, stderr);
            await node.WaitForAsync("busy", version, cancellationToken);
        }

        await node.Process.WaitForLogAsync("App busy: a version it no longer routes to was retired", cancellationToken, times: 2); // v1 and v2, under load
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.That(failures, Is.Empty, $"{failures.Count} of {count} requests failed");
        Assert.That(answers, Is.SupersetOf(new[] { "v1", "v3" }));
        Assert.That(count, Is.GreaterThan(100));
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task TwoNodesOnOnePostgresServeWhatIsDeployedThroughEither(CancellationToken cancellationToken)
    {
        await using var postgres = await PostgresCluster.StartAsync(cancellationToken);
        await using var first = await NodeHarness.StartAsync(postgres.Uri(), admin: true, cancellationToken);
        await using var second = await NodeHarness.StartAsync(postgres.Uri(), admin: false, cancellationToken);

        Assert.That((await first.CliAsync(cancellationToken, "deploy", App("pg-1"), "--name", "shared")).Code, Is.Zero);
        await second.WaitForAsync("shared", "pg-1", cancellationToken);

        Assert.That((await first.CliAsync(cancellationToken, "deploy", App("pg-2"), "--name", "shared")).Code, Is.Zero);
        await second.WaitForAsync("shared", "pg-2", cancellationToken);
        Assert.That(await first.GetAsync("shared", "/", cancellationToken), Is.EqualTo((200, "pg-2")));

        Assert.That((await first.CliAsync(cancellationToken, "apps", "delete", "shared")).Code, Is.Zero);
        while ((await second.GetAsync("shared", "/", cancellationToken)).Status != 404)
        {
            await Task.Delay(50, cancellationToken);
        }

        Assert.That(postgres.IsRunning, Is.True);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ADeleteAndARedeploySeenInOnePollReplaceTheRunningVersion(CancellationToken cancellationToken)
    {
        var store = SqliteStore();
        await using var first = await NodeHarness.StartAsync(store, admin: true, cancellationToken);
        await using var second = await NodeHarness.StartAsync(store, admin: false, cancellationToken);
        Assert.That((await first.CliAsync(cancellationToken, "deploy", App("old"), "--name", "again")).Code, Is.Zero);
        await second.WaitForAsync("again", "old", cancellationToken);

        // Both within one of the second node's polls: it sees the app at version 1 again, with other content.
        var archive = LeanProxy.Engine.Apps.BundleArchive.Pack(App("new"));
        Assert.That((await first.AdminAsync(HttpMethod.Delete, "/v1/apps/again", cancellationToken)).Status, Is.EqualTo(200));
        var (status, body) = await first.AdminAsync(HttpMethod.Put, "/v1/apps/again", cancellationToken, new ByteArrayContent(archive));
        Assert.That(status, Is.EqualTo(201));
        Assert.That(body, Does.Contain("\"version\":1"));
        await second.WaitForAsync("again", "new", cancellationToken);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ATokenlessLoopbackAdminApiAnswersOnlyToLiteralHosts(CancellationToken cancellationToken)
    {
        await using var node = LeanProxyProcess.Start("serve", "--store", SqliteStore(), "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0");
        string? admin = null;
        while (admin is null)
        {
            Assert.That(node.HasExited, Is.False, node.Stderr);
            admin = node.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith("listening admin ", StringComparison.Ordinal))?["listening admin ".Length..].Trim();
            await Task.Delay(20, cancellationToken);
        }

        using var client = new HttpClient();
        using var literal = await client.GetAsync(admin + "/v1/apps", cancellationToken);
        Assert.That((int)literal.StatusCode, Is.EqualTo(200));
        using var rebound = new HttpRequestMessage(HttpMethod.Get, admin + "/v1/apps");
        rebound.Headers.Host = "attacker.example:80";
        using var refused = await client.SendAsync(rebound, cancellationToken);
        Assert.That((int)refused.StatusCode, Is.EqualTo(421), "a page rebound to loopback by DNS is not the operator");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task TwoNodesOnOneSqliteFileServeTheSameApps(CancellationToken cancellationToken)
    {
        var store = SqliteStore();
        await using var first = await NodeHarness.StartAsync(store, admin: true, cancellationToken);
        await using var second = await NodeHarness.StartAsync(store, admin: false, cancellationToken);
        Assert.That((await first.CliAsync(cancellationToken, "deploy", App("file-1"), "--name", "local")).Code, Is.Zero);
        await second.WaitForAsync("local", "file-1", cancellationToken);
        Assert.That((await first.CliAsync(cancellationToken, "deploy", App("file-2"), "--name", "local")).Code, Is.Zero);
        await second.WaitForAsync("local", "file-2", cancellationToken);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AnAppKeptWarmIsStartedByEveryNodeBeforeItsFirstRequest(CancellationToken cancellationToken)
    {
        var store = SqliteStore();
        await using var first = await NodeHarness.StartAsync(store, admin: true, cancellationToken);
        Assert.That((await first.CliAsync(cancellationToken, "deploy", App("warm"), "--name", "ready", "--warm")).Code, Is.Zero);
        Assert.That((await first.CliAsync(cancellationToken, "deploy", App("cold"), "--name", "lazy")).Code, Is.Zero);

        await using var second = await NodeHarness.StartAsync(store, admin: false, cancellationToken);
        while (!second.Process.Stderr.Contains("App ready: version 1 serving on this node", StringComparison.Ordinal))
        {
            await Task.Delay(20, cancellationToken);
        }

        Assert.That(second.Process.Stderr, Does.Not.Contain("App lazy: version"), "an app not kept warm waits for its first request");
        Assert.That(await second.GetAsync("lazy", "/", cancellationToken), Is.EqualTo((200, "cold")));
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task ANodeThatLosesItsStoreKeepsServingAndCatchesUp(CancellationToken cancellationToken)
    {
        await using var postgres = await PostgresCluster.StartAsync(cancellationToken);
        await using var node = await NodeHarness.StartAsync(postgres.Uri(), admin: true, cancellationToken);
        Assert.That((await node.CliAsync(cancellationToken, "deploy", App("before"), "--name", "steady")).Code, Is.Zero);
        await node.WaitForAsync("steady", "before", cancellationToken);

        await postgres.StopServerAsync(cancellationToken);
        while ((await node.AdminAsync(HttpMethod.Get, "/readyz", cancellationToken)).Status != 503)
        {
            await Task.Delay(100, cancellationToken);
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.That(await node.GetAsync("steady", "/", cancellationToken), Is.EqualTo((200, "before")), "served from what the node has");
        }

        var (code, _, stderr) = await node.CliAsync(cancellationToken, "deploy", App("during"), "--name", "steady");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("503").And.Contain("store"));

        // Several failed polls after the first.
        var failedPolls = PrometheusText.Read((await node.AdminAsync(HttpMethod.Get, "/metrics", cancellationToken)).Body, "leanproxy_store_poll_failures_total") ?? 0;
        while ((PrometheusText.Read((await node.AdminAsync(HttpMethod.Get, "/metrics", cancellationToken)).Body, "leanproxy_store_poll_failures_total") ?? 0) < failedPolls + 2)
        {
            await Task.Delay(100, cancellationToken);
        }

        Assert.That(CountOf(node.Process.Stderr, "is unreachable"), Is.EqualTo(1), "logged once, not once per poll");

        await postgres.StartServerAsync(cancellationToken);
        while ((await node.AdminAsync(HttpMethod.Get, "/readyz", cancellationToken)).Status != 200)
        {
            await Task.Delay(100, cancellationToken);
        }

        Assert.That((await node.CliAsync(cancellationToken, "deploy", App("after"), "--name", "steady")).Code, Is.Zero);
        await node.WaitForAsync("steady", "after", cancellationToken);
        Assert.That(node.Process.Stderr, Does.Contain("reachable again"));
        Assert.That(node.Process.Stderr, Does.Not.Contain("secret-pw"), "the store's password is never logged");
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ANodeWhoseStoreIsUnreachableAtStartExits1SayingSo(CancellationToken cancellationToken)
    {
        await using var node = LeanProxyProcess.Start("serve", "--store", "postgres://nobody:pw@127.0.0.1:1/none", "--http", "127.0.0.1:0");
        Assert.That(await node.WaitForExitAsync(cancellationToken), Is.EqualTo(1));
        Assert.That(node.Stderr, Does.Contain("error: the store postgres://nobody@127.0.0.1:1/none is unreachable").And.Contain("gave up after 10 s").And.Not.Contain(":pw@"));
    }

    [TestCase("--admin", "0.0.0.0:0", "needs a token")]
    [TestCase("--domain", "bad_domain", "--domain")]
    [TestCase("--store", "mysql://x/y", "sqlite:PATH")]
    public async Task BadNodeOptionsExit2NamingTheFlag(string flag, string value, string message)
    {
        var args = flag == "--store" ? new[] { "serve", flag, value } : ["serve", "--store", SqliteStore(), flag, value];
        await using var node = LeanProxyProcess.Start(args);
        Assert.That(await node.WaitForExitAsync(CancellationToken.None), Is.EqualTo(2));
        Assert.That(node.Stderr, Does.Contain(message));
    }
}
