namespace LeanProxy.Integration.Tests;

/// <summary>
/// Two hostile apps on one node (PLATFORM.md, "Isolation between tenants"): each has its own renderer process, and a
/// crash or an out-of-memory in one app's renderer leaves the other app serving — its page, with what it holds in
/// memory, lives on. Which renderer is whose is found in /proc: the one whose resident set grows by what the app holds.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class RendererIsolationTests
{
    private const int HoldMegabytes = 300;

    [Test]
    [CancelAfter(180_000)]
    public async Task EachAppHasItsOwnRendererAndACrashOrOutOfMemoryInOneLeavesTheOtherServing(CancellationToken cancellationToken)
    {
        // A heap limit of 256 MB per renderer (V8's; the default is a few GB) makes the out-of-memory come in a second.
        await using var node = await NodeHarness.StartOnSqliteAsync(admin: true, cancellationToken, "--chrome-arg=--js-flags=--expose-gc --max-old-space-size=256");
        foreach (var name in new[] { "alpha", "beta" })
        {
            Assert.That((await node.CliAsync(cancellationToken, "deploy", LeanProxyProcess.AppPath("hostile"), "--name", name)).Code, Is.Zero);
            Assert.That(await node.GetAsync(name, "/count", cancellationToken), Is.EqualTo((200, "1")));
        }

        var alpha = await RendererThatHoldsAsync(node, "alpha", cancellationToken);
        var beta = await RendererThatHoldsAsync(node, "beta", cancellationToken);
        Assert.That(beta, Is.Not.EqualTo(alpha), "each app in its own renderer process");

        // A crash: alpha's renderer is killed. beta's page lives on (its count goes on); alpha gets a new tab.
        System.Diagnostics.Process.GetProcessById(alpha).Kill();
        await node.Process.WaitForLogAsync("App alpha: tab 0 ended", cancellationToken);
        Assert.That(ProcessTree.IsAlive(beta), Is.True);
        Assert.That(await node.GetAsync("beta", "/count", cancellationToken), Is.EqualTo((200, "2")));
        Assert.That(await node.GetAsync("alpha", "/count", cancellationToken), Is.EqualTo((200, "1")), "alpha serves again, from a new page");

        // Out of memory: alpha allocates until V8 gives up; the request gets 502 (a POST is never run twice).
        var (status, body) = await node.SendAsync(HttpMethod.Post, "alpha", "/oom", cancellationToken);
        Assert.That(status, Is.EqualTo(502), body);
        Assert.That(body, Does.Contain("crashed"));
        Assert.That(ProcessTree.IsAlive(beta), Is.True);
        Assert.That(await node.GetAsync("beta", "/count", cancellationToken), Is.EqualTo((200, "3")), "beta's page lived through it");
        Assert.That(await node.GetAsync("alpha", "/count", cancellationToken), Is.EqualTo((200, "1")));
        Assert.That(node.Process.Stderr, Does.Not.Match("App beta: tab [0-9]+ ended"), "nothing happened to beta's tab");
    }

    /// <summary>Has the app hold memory; the one renderer of the node whose resident set grew by about that much.</summary>
    private static async Task<int> RendererThatHoldsAsync(NodeHarness node, string app, CancellationToken cancellationToken)
    {
        var before = Renderers(node.Process.Pid);
        Assert.That(await node.GetAsync(app, $"/hold?mb={HoldMegabytes}", cancellationToken), Is.EqualTo((200, "held")));
        var after = Renderers(node.Process.Pid);
        var grown = after.Where(r => r.Value - before.GetValueOrDefault(r.Key) > HoldMegabytes * 3 / 4 * 1024L).Select(r => r.Key).ToList();
        Assert.That(grown, Has.Count.EqualTo(1), $"one renderer holds {app}'s memory (renderers before: {Show(before)}; after: {Show(after)})");
        return grown[0];
    }

    /// <summary>The node's renderer processes and their resident set in KiB.</summary>
    private static Dictionary<int, long> Renderers(int root)
    {
        var renderers = new Dictionary<int, long>();
        foreach (var pid in ProcessTree.Descendants(root))
        {
            try
            {
                if (!File.ReadAllText($"/proc/{pid}/cmdline").Contains("--type=renderer", StringComparison.Ordinal))
                {
                    continue;
                }

                var rss = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                renderers[pid] = long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
        }

        return renderers;
    }

    private static string Show(Dictionary<int, long> renderers) => string.Join(", ", renderers.Select(r => $"{r.Key}: {r.Value / 1024} MiB"));
}
