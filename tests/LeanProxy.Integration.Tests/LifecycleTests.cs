using System.Net;

namespace LeanProxy.Integration.Tests;

/// <summary>Start-up failures, signals and clean-up of the real binary.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LifecycleTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task TheHelloExampleServesAndSigtermLeavesNoChromiumAndNoProfile(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.ExamplePath("hello"), cancellationToken);
        using var client = new HttpClient { BaseAddress = host.BaseUri };
        var text = await client.GetStringAsync("/hello?name=test", cancellationToken);
        Assert.That(text, Does.Contain("\"hello\":\"test\""));

        var chromium = host.Descendants();
        Assert.That(chromium, Is.Not.Empty, "Chromium runs as a child of the host");
        Assert.That(File.ReadAllText($"/proc/{chromium[0]}/cmdline"), Does.Contain("--remote-debugging-pipe").And.Not.Contain("--remote-debugging-port"));
        Assert.That(Directory.GetDirectories(host.TempDirectory, "leanproxy-*"), Has.Length.EqualTo(1), "a temporary profile exists while running");
        Assert.That(File.ReadAllText($"/proc/{host.Pid}/maps"), Does.Not.Contain("libcrypto").And.Not.Contain("libssl"), "serve APP does not load OpenSSL (3.6 MB of the host's memory)");

        host.Signal("TERM");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(0));
        Assert.That(chromium.Where(ProcessTree.IsAlive), Is.Empty, "no Chromium process outlives the host");
        Assert.That(Directory.GetDirectories(host.TempDirectory, "leanproxy-*"), Is.Empty, "the profile is deleted");
        Assert.That(host.Stderr, Does.Contain("Stopped"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SigtermFinishesRequestsInFlightBeforeExiting(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("echo"), cancellationToken);
        using var client = new HttpClient { BaseAddress = host.BaseUri };
        var slow = client.GetStringAsync("/slow?ms=1500&id=drain", cancellationToken);
        await host.WaitForLogAsync("console.log: slow started drain", cancellationToken); // in the page, waiting on its timer

        host.Signal("TERM");
        Assert.That(await slow, Is.EqualTo("slow drain"));
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(0));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SigintStopsCleanlyToo(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.ExamplePath("hello"), cancellationToken);
        var chromium = host.Descendants();
        host.Signal("INT");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(0));
        Assert.That(chromium.Where(ProcessTree.IsAlive), Is.Empty);
        Assert.That(Directory.GetDirectories(host.TempDirectory, "leanproxy-*"), Is.Empty);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ChromiumRunsInASessionOfItsOwnSoThatATerminalsCtrlCReachesTheHostAlone(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.ExamplePath("hello"), cancellationToken);
        var browser = host.Descendants()[0];
        Assert.That(ProcessTree.CommandLine(browser), Does.Contain("--remote-debugging-pipe"), "the browser process");
        var (hostGroup, hostSession) = GroupAndSession(host.Pid);
        var (browserGroup, browserSession) = GroupAndSession(browser);
        Assert.That(browserGroup, Is.Not.EqualTo(hostGroup), "another process group: a signal to the host's group misses it");
        Assert.That(browserSession, Is.Not.EqualTo(hostSession), "another session: no controlling terminal");

        // Stopped in order by the host, not by the signal: no tab "ended" as a failure.
        host.Signal("INT");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(0));
        Assert.That(host.Stderr, Does.Not.Contain("fail:"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ListSwitchesGivenWithChromeArgAddToLeanProxysInsteadOfReplacingThem(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(
            LeanProxyProcess.ExamplePath("hello"), cancellationToken, "--chrome-arg=--js-flags=--max-old-space-size=300", "--chrome-arg=--disable-features=Badging");
        var arguments = File.ReadAllText($"/proc/{host.Descendants()[0]}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(arguments.Where(a => a.StartsWith("--js-flags=", StringComparison.Ordinal)), Is.EqualTo(new[] { "--js-flags=--expose-gc --no-compilation-cache --max-old-space-size=300" }));
        var disabled = arguments.Where(a => a.StartsWith("--disable-features=", StringComparison.Ordinal)).ToList();
        Assert.That(disabled, Has.Count.EqualTo(1), "one --disable-features: Chromium reads only the last");
        Assert.That(disabled[0]["--disable-features=".Length..].Split(','), Does.Contain("Translate").And.Contain("Badging"));
    }

    /// <summary>The process group and session of a process (fields 5 and 6 of /proc/PID/stat, after the command's parentheses).</summary>
    private static (int Group, int Session) GroupAndSession(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ChromiumDiesWithTheHostEvenOnSigkill(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.ExamplePath("hello"), cancellationToken);
        var chromium = host.Descendants();
        Assert.That(chromium, Is.Not.Empty);

        host.Signal("KILL");
        await host.WaitForExitAsync(cancellationToken);
        while (chromium.Any(ProcessTree.IsAlive))
        {
            await Task.Delay(50, cancellationToken);
        }

        Assert.That(chromium.Where(ProcessTree.IsAlive), Is.Empty);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AStaleProfileOfAKilledHostIsRemovedByTheNextStart(CancellationToken cancellationToken)
    {
        var stale = Path.Combine(Path.GetTempPath(), "lp-stale-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(stale, "leanproxy-999999-dead", "profile"));
        await File.WriteAllTextAsync(Path.Combine(stale, "leanproxy-999999-dead", "owner.pid"), "999999", cancellationToken);
        try
        {
            var launch = new LeanProxy.Cdp.Launch.ChromeLaunchOptions { TempDirectory = stale };
            await using var browser = await LeanProxy.Cdp.Launch.ChromeLauncher.LaunchAsync(launch, cancellationToken: cancellationToken);
            Assert.That(Directory.Exists(Path.Combine(stale, "leanproxy-999999-dead")), Is.False);
        }
        finally
        {
            Directory.Delete(stale, recursive: true);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AnAppWithASyntaxErrorExits1WithTheErrorAndItsFileAndLine(CancellationToken cancellationToken)
    {
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("syntax-error"), "--http", "127.0.0.1:0", "--tabs", "1");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(1));
        var file = Path.Combine(LeanProxyProcess.AppPath("syntax-error"), "index.js");
        Assert.That(host.Stderr, Does.Contain("SyntaxError").And.Contain(file + ":3"));
        Assert.That(host.Stdout, Does.Not.Contain("listening"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AnAppThatThrowsAtLoadExits1WithTheMessageAndLine(CancellationToken cancellationToken)
    {
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("throws-at-load"), "--http", "127.0.0.1:0", "--tabs", "1");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(1));
        var file = Path.Combine(LeanProxyProcess.AppPath("throws-at-load"), "index.js");
        Assert.That(host.Stderr, Does.Contain("configuration missing at load").And.Contain(file + ":4"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AMissingImportExits1NamingTheFile(CancellationToken cancellationToken)
    {
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("missing-import"), "--http", "127.0.0.1:0", "--tabs", "1");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(1));
        Assert.That(host.Stderr, Does.Contain("does-not-exist.js"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AnAppWithoutFetchExits2NamingTheExport(CancellationToken cancellationToken)
    {
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("no-fetch"), "--http", "127.0.0.1:0", "--tabs", "1");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(2));
        Assert.That(host.Stderr, Does.Contain("fetch"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task APortInUseExits1NamingIt(CancellationToken cancellationToken)
    {
        using var blocker = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.ExamplePath("hello"), "--http", $"127.0.0.1:{port}", "--tabs", "1");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(1));
        Assert.That(host.Stderr, Does.Contain($"--http 127.0.0.1:{port}").And.Contain("in use"));
        Assert.That(host.Stderr, Does.Not.Contain("Chromium"), "the ports are bound before Chromium is launched");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SeveralListenersAndTabsServeTheSameApp(CancellationToken cancellationToken)
    {
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.ExamplePath("hello"), "--http", "127.0.0.1:0", "--http", "127.0.0.1:0", "--tabs", "2");
        while (host.Stdout.Split('\n').Count(l => l.StartsWith("listening ", StringComparison.Ordinal)) < 2)
        {
            Assert.That(host.HasExited, Is.False, host.Stderr);
            await Task.Delay(20, cancellationToken);
        }

        foreach (var line in host.Stdout.Split('\n').Where(l => l.StartsWith("listening ", StringComparison.Ordinal)))
        {
            using var client = new HttpClient { BaseAddress = new Uri(line["listening ".Length..].Trim()) };
            Assert.That(await client.GetStringAsync("/", cancellationToken), Does.Contain("\"hello\":\"world\""));
        }
    }
}
