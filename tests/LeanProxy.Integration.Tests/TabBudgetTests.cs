namespace LeanProxy.Integration.Tests;

/// <summary>A node's tab budget (--max-tabs) and idle timeout: tabs go where requests are, warm apps keep theirs.</summary>
[TestFixture]
[NonParallelizable]
public sealed class TabBudgetTests
{
    private string _root = null!;

    [SetUp]
    public void MakeRoot() => _root = Directory.CreateTempSubdirectory("lp-budget-").FullName;

    [TearDown]
    public void Delete() => Directory.Delete(_root, recursive: true);

    [Test]
    [CancelAfter(120_000)]
    public async Task PastTheBudgetTheLeastRecentlyUsedAppGivesItsTabsBackButAWarmAppKeepsThem(CancellationToken cancellationToken)
    {
        await using var node = await NodeHarness.StartAsync("sqlite:" + Path.Combine(_root, "store.db"), admin: true, cancellationToken, "--max-tabs", "1");
        foreach (var name in new[] { "alpha", "beta" })
        {
            Assert.That((await node.CliAsync(cancellationToken, "deploy", LeanProxyProcess.AppPath("tenant"), "--name", name)).Code, Is.Zero);
        }

        foreach (var name in new[] { "alpha", "beta", "alpha", "beta" })
        {
            Assert.That((await node.GetAsync(name, "/origin", cancellationToken)).Status, Is.EqualTo(200), name);
        }

        Assert.That(node.Process.Stderr, Does.Contain("App alpha version 1 stopped on this node: its tabs went to another app (--max-tabs 1)"));
        Assert.That(node.Process.Stderr, Does.Contain("App beta version 1 stopped on this node: its tabs went to another app (--max-tabs 1)"));
        Assert.That((await node.CliAsync(cancellationToken, "apps", "show", "beta")).Stdout, Does.Contain(": running version 1"));
        Assert.That((await node.CliAsync(cancellationToken, "apps", "show", "alpha")).Stdout, Does.Contain(": not started"), "the least recently used gave its tab back");

        // An app kept warm takes the one tab and keeps it: the others get 503 saying why.
        Assert.That((await node.CliAsync(cancellationToken, "deploy", LeanProxyProcess.AppPath("tenant"), "--name", "gamma", "--warm")).Code, Is.Zero);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        (int Status, string Body) refused;
        do
        {
            refused = await node.GetAsync("alpha", "/origin", cancellationToken);
            await Task.Delay(100, cancellationToken);
        }
        while (refused.Status == 200 && DateTime.UtcNow < deadline);

        Assert.That(refused.Status, Is.EqualTo(503));
        Assert.That(refused.Body, Does.Contain("tab budget (--max-tabs 1) is spent on apps kept warm"));
        Assert.That((await node.GetAsync("gamma", "/origin", cancellationToken)).Status, Is.EqualTo(200));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AnAppWhoseQueueGrowsGetsATabAndGivesItBackToAnAppThatHasNone(CancellationToken cancellationToken)
    {
        await using var node = await NodeHarness.StartAsync("sqlite:" + Path.Combine(_root, "store.db"), admin: true, cancellationToken, "--max-tabs", "2", "--max-app-tabs", "2");
        foreach (var name in new[] { "alpha", "beta" })
        {
            Assert.That((await node.CliAsync(cancellationToken, "deploy", LeanProxyProcess.AppPath("hostile"), "--name", name)).Code, Is.Zero);
        }

        // Twelve requests at once that each wait 300 ms in the page: the queue grows, a second tab opens.
        var load = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => node.GetAsync("alpha", "/sleep?ms=300", cancellationToken)));
        Assert.That(load, Is.All.EqualTo((200, "slept")));
        await node.Process.WaitForLogAsync("App alpha: tab 1 added in", cancellationToken);
        Assert.That(node.Process.Stderr, Does.Contain("its queue was growing (2 tab(s) now)"));

        // The budget (2) is spent: beta, with no tab, takes alpha's second one; alpha keeps its first and serves.
        Assert.That(await node.GetAsync("beta", "/count", cancellationToken), Is.EqualTo((200, "1")));
        Assert.That(node.Process.Stderr, Does.Contain("App alpha: tab 1 closed: another app needed a tab (1 tab(s) now)"));
        Assert.That(node.Process.Stderr, Does.Not.Contain("App alpha version 1 stopped on this node"), "a grown tab goes first, not the whole app");
        Assert.That(await node.GetAsync("alpha", "/count", cancellationToken), Is.EqualTo((200, "1")));
    }

    [Test]
    public async Task MaxAppTabsBelowTabsIsAUsageError()
    {
        await using var host = LeanProxyProcess.Start("serve", "--store", "sqlite:" + Path.Combine(_root, "store.db"), "--tabs", "3", "--max-app-tabs", "2");
        Assert.That(await host.WaitForExitAsync(CancellationToken.None), Is.EqualTo(2));
        Assert.That(host.Stderr, Does.Contain("--max-app-tabs 2: must be from --tabs (3) to 256."));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AnIdleAppGivesItsTabsBackAndStartsAgainOnItsNextRequest(CancellationToken cancellationToken)
    {
        await using var node = await NodeHarness.StartAsync("sqlite:" + Path.Combine(_root, "store.db"), admin: true, cancellationToken, "--idle-timeout", "1");
        Assert.That((await node.CliAsync(cancellationToken, "deploy", LeanProxyProcess.AppPath("tenant"), "--name", "alpha")).Code, Is.Zero);
        Assert.That((await node.GetAsync("alpha", "/origin", cancellationToken)).Status, Is.EqualTo(200));

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!node.Process.Stderr.Contains("App alpha version 1 stopped on this node: idle for 1 s", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, cancellationToken);
        }

        Assert.That(node.Process.Stderr, Does.Contain("App alpha version 1 stopped on this node: idle for 1 s"));
        Assert.That((await node.GetAsync("alpha", "/origin", cancellationToken)).Status, Is.EqualTo(200), "it starts again");
    }

    [Test]
    public async Task IdleTimeoutIsANodeFlag()
    {
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("tenant"), "--idle-timeout", "5");
        Assert.That(await host.WaitForExitAsync(CancellationToken.None), Is.EqualTo(2));
        Assert.That(host.Stderr, Does.Contain("--idle-timeout is for a node (serve --store URI), not for serve APP."));
    }
}
