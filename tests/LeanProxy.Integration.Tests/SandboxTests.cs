namespace LeanProxy.Integration.Tests;

/// <summary>
/// Chromium's sandbox (PLATFORM.md, "Isolation between tenants"): off only as root (and said in the log); as an
/// ordinary user it is on — every renderer runs under a seccomp-BPF filter in its own namespaces — and the app serves.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SandboxTests
{
    [Test]
    [CancelAfter(90_000)]
    public async Task AsAnOrdinaryUserChromiumsSandboxIsOnAndTheAppServes(CancellationToken cancellationToken)
    {
        if (Environment.UserName != "root")
        {
            Assert.Ignore("Needs root to start the binary as the user nobody; as a user already, every test runs sandboxed.");
        }

        if (new[] { LeanProxyProcess.Binary, LeanProxyProcess.AppPath("echo"), System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory() }.FirstOrDefault(p => !ReachableByOthers(p)) is { } hidden)
        {
            Assert.Ignore($"{hidden} is in a folder other users cannot enter (clone the repository where they can to run this test).");
        }

        await using var host = LeanProxyProcess.StartAsNobody("serve", LeanProxyProcess.AppPath("echo"), "--http", "127.0.0.1:0", "--tabs", "1");
        var baseUri = await host.Listening.WaitAsync(cancellationToken);
        using var client = new HttpClient { BaseAddress = baseUri };
        Assert.That(await client.GetStringAsync("/url/sandboxed", cancellationToken), Does.EndWith("/url/sandboxed"), host.Stderr);

        Assert.That(host.Stderr, Does.Not.Contain("sandbox is off"));
        var chromium = ProcessTree.Descendants(host.Pid).Select(pid => (Pid: pid, CommandLine: ProcessTree.CommandLine(pid))).Where(p => p.CommandLine.Contains("chromium", StringComparison.Ordinal)).ToList();
        Assert.That(chromium, Is.Not.Empty);
        Assert.That(chromium.Select(p => p.CommandLine), Has.None.Contain("--no-sandbox"));
        var renderers = chromium.Where(p => p.CommandLine.Contains("--type=renderer", StringComparison.Ordinal)).ToList();
        Assert.That(renderers, Is.Not.Empty);
        foreach (var (pid, _) in renderers)
        {
            var status = File.ReadAllLines($"/proc/{pid}/status");
            Assert.That(status, Has.Some.Match(@"^Seccomp:\s+2$"), $"renderer {pid} runs under a seccomp-BPF filter");
            Assert.That(status.Single(l => l.StartsWith("NSpid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries), Has.Length.GreaterThan(2), $"renderer {pid} is in its own PID namespace");
        }
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task AsRootTheSandboxIsOffAndTheLogSaysSo(CancellationToken cancellationToken)
    {
        if (Environment.UserName != "root")
        {
            Assert.Ignore("Only as root.");
        }

        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("echo"), cancellationToken);
        Assert.That(host.Stderr, Does.Contain("Running as root: Chromium's sandbox is off (--no-sandbox)"));
    }

    /// <summary>Every folder above <paramref name="path"/> lets other users through.</summary>
    private static bool ReachableByOthers(string path)
    {
        for (var folder = Path.GetDirectoryName(Path.GetFullPath(path)); !string.IsNullOrEmpty(folder); folder = Path.GetDirectoryName(folder))
        {
            if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(folder).HasFlag(UnixFileMode.OtherExecute))
            {
                return false;
            }
        }

        return true;
    }
}
