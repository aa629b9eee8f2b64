using System.Text.Json;
using LeanProxy.Tests.Shared;

namespace LeanProxy.Integration.Tests;

/// <summary><c>leanproxy tail</c> through the real binaries: an app's requests, console output and errors, live, from every node.</summary>
[TestFixture]
[NonParallelizable]
public sealed class TailTests
{
    private string _root = null!;

    [SetUp]
    public void CopyApp()
    {
        _root = Path.Combine(Path.GetTempPath(), "lp-tail-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(_root, "shop"));
        File.Copy(Path.Combine(LeanProxyProcess.AppPath("kv-api"), "index.js"), Path.Combine(_root, "shop", "index.js"));
    }

    [TearDown]
    public void Delete() => Directory.Delete(_root, recursive: true);

    [Test]
    [CancelAfter(180_000)]
    public async Task TailFollowsAnAppOnEveryNodeOfTheStore(CancellationToken cancellationToken)
    {
        await using var postgres = await PostgresCluster.StartAsync(cancellationToken);
        await using var first = await NodeHarness.StartAsync(postgres.Uri(), admin: true, new Dictionary<string, string> { ["LEANPROXY_NODE_NAME"] = "node-a" }, cancellationToken);
        await using var second = await NodeHarness.StartAsync(postgres.Uri(), admin: false, new Dictionary<string, string> { ["LEANPROXY_NODE_NAME"] = "node-b" }, cancellationToken);
        var (code, _, stderr) = await first.CliAsync(cancellationToken, "deploy", Path.Combine(_root, "shop"), "--name", "shop", "--kv", "KV");
        Assert.That(code, Is.Zero, stderr);
        while ((await second.GetAsync("shop", "/get?k=x", cancellationToken)).Status != 200)
        {
            await Task.Delay(50, cancellationToken);
        }

        // The node's metrics count the deploy and one start of the app (the deploy's check in a scratch tab is not one).
        await first.GetAsync("shop", "/get?k=x", cancellationToken);
        var (status, metrics) = await first.AdminAsync(HttpMethod.Get, "/metrics", cancellationToken);
        Assert.That(status, Is.EqualTo(200));
        Assert.That(metrics, Does.Contain("leanproxy_deploys_total{result=\"created\"} 1\n").And.Contain("leanproxy_cold_starts_total{app=\"shop\"} 1\n"));
        Assert.That(metrics, Does.Contain("leanproxy_requests_total{app=\"shop\",driver=\"http\",status=\"2xx\"} 1\n"));

        await using var tail = LeanProxyProcess.Start(["tail", "shop", "--format", "json", "--admin", first.AdminUrl, "--token", NodeHarness.Token]);
        var lines = new List<JsonElement>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !(Has(lines, "node-a", "request") && Has(lines, "node-b", "request") && Has(lines, "node-b", "console.log") && Has(lines, "node-a", "error")))
        {
            // The nodes learn within a second that the app is tailed; until then their lines are not relayed.
            await first.GetAsync("shop", "/get?k=a", cancellationToken);
            await second.GetAsync("shop", "/log?k=b", cancellationToken);
            await first.GetAsync("shop", "/boom", cancellationToken);
            await Task.Delay(200, cancellationToken);
            lines = [.. tail.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
        }

        Assert.That(Has(lines, "node-a", "request"), Is.True, tail.Stdout + tail.Stderr);
        var request = lines.First(l => l.GetProperty("node").GetString() == "node-a" && l.GetProperty("kind").GetString() == "request" && l.GetProperty("path").GetString() == "/get");
        Assert.That((request.GetProperty("app").GetString(), request.GetProperty("method").GetString(), request.GetProperty("status").GetInt32()), Is.EqualTo(("shop", "GET", 200)));
        Assert.That(request.GetProperty("tab").GetInt32(), Is.GreaterThanOrEqualTo(0));
        Assert.That(request.GetProperty("milliseconds").GetDouble(), Is.GreaterThan(0));
        Assert.That(Has(lines, "node-b", "request"), Is.True, "lines of a node without an admin listener come through the store");
        Assert.That(lines.Any(l => l.GetProperty("kind").GetString() == "console.log" && l.GetProperty("text").GetString() == "hello from the handler b"), Is.True);
        Assert.That(lines.Any(l => l.GetProperty("kind").GetString() == "error" && l.GetProperty("text").GetString()!.Contains("boom for the log")), Is.True);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TailOfASingleAppServerInText(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(Path.Combine(_root, "shop"), cancellationToken, "--admin", "127.0.0.1:0");
        var admin = await host.AdminUri.WaitAsync(cancellationToken);
        await using var tail = LeanProxyProcess.Start(["tail", "shop", "--admin", admin.ToString()]);
        using var client = new HttpClient { BaseAddress = host.BaseUri };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !tail.Stdout.Contains("GET /log 200"))
        {
            await client.GetStringAsync("/log?k=c", cancellationToken);
            await Task.Delay(100, cancellationToken);
        }

        Assert.That(tail.Stdout, Does.Match(@"\d\d:\d\d:\d\d\.\d{3} \S+ shop tab 0  GET /log 200 \d+\.\d ms"));
        Assert.That(tail.Stdout, Does.Contain("shop tab 0  console.log: hello from the handler c"));

        await using var wrong = LeanProxyProcess.Start(["tail", "other", "--admin", admin.ToString()]);
        Assert.That(await wrong.WaitForExitAsync(cancellationToken), Is.EqualTo(1));
        Assert.That(wrong.Stderr, Does.Contain("404").And.Contain("not other"));
    }

    private static bool Has(List<JsonElement> lines, string node, string kind) =>
        lines.Any(l => l.GetProperty("node").GetString() == node && l.GetProperty("kind").GetString() == kind);
}
