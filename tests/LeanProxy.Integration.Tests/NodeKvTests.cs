using LeanProxy.Tests.Shared;

namespace LeanProxy.Integration.Tests;

/// <summary>KV of deployed apps: bound with the deploy, shared by the nodes of one store, reached by operators, gone with the app.</summary>
[TestFixture]
[NonParallelizable]
public sealed class NodeKvTests
{
    private string? _app;

    [TearDown]
    public void DeleteApp()
    {
        if (_app is not null && Directory.Exists(_app))
        {
            Directory.Delete(_app, recursive: true);
        }
    }

    /// <summary>What app shop answers for <paramref name="path"/> on <paramref name="node"/>, read until it is <paramref name="expected"/> (10 s at most).</summary>
    private static Task<string> EventuallyAsync(NodeHarness node, string path, string expected, CancellationToken cancellationToken) =>
        Eventually.ReadAsync(async () => (await node.GetAsync("shop", path, cancellationToken)).Body, expected, TimeSpan.FromSeconds(10), cancellationToken);

    [Test]
    [CancelAfter(180_000)]
    public async Task KvWritesOnOneNodeAreReadOnTheOtherAndGoWithTheApp(CancellationToken cancellationToken)
    {
        await using var postgres = await PostgresCluster.StartAsync(cancellationToken);
        await using var first = await NodeHarness.StartAsync(postgres.Uri(), admin: true, cancellationToken);
        await using var second = await NodeHarness.StartAsync(postgres.Uri(), admin: false, cancellationToken);
        var app = _app = Path.Combine(Path.GetTempPath(), "lp-kvapp-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(app);
        File.Copy(Path.Combine(LeanProxyProcess.AppPath("kv-api"), "index.js"), Path.Combine(app, "index.js"));

        var (code, _, stderr) = await first.CliAsync(cancellationToken, "deploy", app, "--name", "shop", "--kv", "KV");
        Assert.That(code, Is.Zero, stderr);
        while ((await second.GetAsync("shop", "/get?k=none", cancellationToken)).Status == 404)
        {
            await Task.Delay(50, cancellationToken); // the second node learns of the deploy on its next poll
        }

        // The second node reads (and caches) the key first; a write on the first reaches it through the store's log of
        // changes within about a second (10 s is this test's bound on a loaded machine).
        Assert.That(await second.GetAsync("shop", "/get?k=cart", cancellationToken), Is.EqualTo((200, "null")));
        Assert.That(await first.GetAsync("shop", "/set?k=cart&v=3", cancellationToken), Is.EqualTo((200, "ok")));
        Assert.That(await EventuallyAsync(second, "/get?k=cart", "3", cancellationToken), Is.EqualTo("3"), "a write on one node is read on the other");
        Assert.That(await first.GetAsync("shop", "/get?k=cart", cancellationToken), Is.EqualTo((200, "3")), "and on its own node at once");
        Assert.That(await second.GetAsync("shop", "/set?k=cart&v=4", cancellationToken), Is.EqualTo((200, "ok")));
        Assert.That(await EventuallyAsync(first, "/get?k=cart", "4", cancellationToken), Is.EqualTo("4"));

        // Operators' access: the CLI over the admin API.
        var (kvCode, kvOut, kvErr) = await first.CliAsync(cancellationToken, "kv", "get", "cart", "--app", "shop", "--binding", "KV");
        Assert.That((kvCode, kvOut.Trim()), Is.EqualTo((0, "4")), kvErr);
        (kvCode, _, kvErr) = await first.CliAsync(cancellationToken, "kv", "put", "promo", "caf\u00e9", "--app", "shop", "--binding", "KV");
        Assert.That(kvCode, Is.Zero, kvErr);
        Assert.That(await EventuallyAsync(second, "/get?k=promo", "caf\u00e9", cancellationToken), Is.EqualTo("caf\u00e9"), "a value an operator put is the handler's");
        (_, kvOut, _) = await first.CliAsync(cancellationToken, "kv", "list", "--app", "shop", "--binding", "KV");
        Assert.That(kvOut.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "cart", "promo" }));
        Assert.That((await first.CliAsync(cancellationToken, "kv", "delete", "promo", "--app", "shop", "--binding", "KV")).Code, Is.Zero);
        Assert.That(await EventuallyAsync(second, "/get?k=promo", "null", cancellationToken), Is.EqualTo("null"), "an operator's delete reaches the other node's cache");
        (kvCode, _, kvErr) = await first.CliAsync(cancellationToken, "kv", "get", "cart", "--app", "shop", "--binding", "OTHER");
        Assert.That(kvCode, Is.EqualTo(1));
        Assert.That(kvErr, Does.Contain("404").And.Contain("no KV binding OTHER"));

        var (_, shown, _) = await first.CliAsync(cancellationToken, "apps", "show", "shop");
        Assert.That(shown, Does.Contain("kv KV"));
        Assert.That((await first.CliAsync(cancellationToken, "apps", "delete", "shop")).Code, Is.Zero);
        Assert.That((await first.CliAsync(cancellationToken, "deploy", app, "--name", "shop", "--kv", "KV")).Code, Is.Zero);
        Assert.That(await first.GetAsync("shop", "/get?k=cart", cancellationToken), Is.EqualTo((200, "null")), "deleting an app deleted its namespace");
    }
}
