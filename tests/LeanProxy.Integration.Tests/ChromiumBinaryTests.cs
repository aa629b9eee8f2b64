using System.Text.Json;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// Which Chromium serves: by default the headless shell (Chromium's build for servers, a third less memory), and the
/// full browser when given with --chrome. Either runs an app that uses the browser's storage and is held to the
/// egress rules, and one that uses Canvas, WebGL, WebCrypto, WebAssembly, Web Audio and compression streams.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ChromiumBinaryTests
{
    private static readonly string[] FullBrowsers = ["/usr/lib/chromium/chromium", "/usr/bin/chromium-browser", "/opt/google/chrome/chrome"];

    [Test]
    [CancelAfter(60_000)]
    public async Task ByDefaultTheHeadlessShellRunsTheApp(CancellationToken cancellationToken)
    {
        const string Shell = "/usr/lib/chromium/chromium-headless-shell";
        if (!File.Exists(Shell))
        {
            Assert.Ignore($"{Shell} is not installed here (./build.sh test installs Debian's chromium-headless-shell as root)");
        }

        // No CHROME_PATH: what a user gets who installed the packages and passes nothing.
        await AssertBothAppsRunOnAsync(Shell, new Dictionary<string, string> { ["CHROME_PATH"] = "" }, cancellationToken);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TheFullBrowserRunsTheAppToo(CancellationToken cancellationToken)
    {
        var full = FullBrowsers.FirstOrDefault(File.Exists);
        if (full is null)
        {
            Assert.Ignore("no full Chromium is installed here (./build.sh test installs Debian's chromium as root)");
        }

        await AssertBothAppsRunOnAsync(full, null, cancellationToken, "--chrome", full);
    }

    /// <summary>Serves the storage-and-egress app, then the platform app, with <paramref name="extra"/>; each on <paramref name="binary"/>.</summary>
    private static async Task AssertBothAppsRunOnAsync(string binary, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken, params string[] extra)
    {
        await using (var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("tenant"), environment, cancellationToken, extra))
        {
            await AssertTheAppRunsOnAsync(host, binary, cancellationToken);
        }

        await using (var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("platform"), environment, cancellationToken, extra))
        {
            await AssertThePlatformIsThereAsync(host, cancellationToken);
        }
    }

    private static async Task AssertThePlatformIsThereAsync(LeanProxyProcess host, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = host.BaseUri };
        using var checks = JsonDocument.Parse(await client.GetStringAsync("/", cancellationToken));
        var results = checks.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString());
        Assert.That(results, Has.Count.EqualTo(6));
        Assert.That(results.Where(r => r.Value != "True"), Is.Empty, "every check answers true");
    }

    private static async Task AssertTheAppRunsOnAsync(LeanProxyProcess host, string binary, CancellationToken cancellationToken)
    {
        var browser = host.Descendants()[0];
        Assert.That(new FileInfo($"/proc/{browser}/exe").LinkTarget, Is.EqualTo(binary), "the browser process runs that binary, with no shell script between");
        Assert.That(host.Stderr, Does.Contain($", {binary}) in "), "the log names the binary");

        using var client = new HttpClient { BaseAddress = host.BaseUri };
        Assert.That(await client.GetStringAsync("/write?v=kept", cancellationToken), Is.EqualTo("written"));
        using var read = JsonDocument.Parse(await client.GetStringAsync("/read", cancellationToken));
        Assert.That(read.RootElement.GetProperty("local").GetString(), Is.EqualTo("kept"));
        Assert.That(read.RootElement.GetProperty("idb").GetString(), Is.EqualTo("kept"));
        Assert.That(read.RootElement.GetProperty("cache").GetString(), Is.EqualTo("kept"));
        Assert.That(read.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetString()), Has.One.EndsWith("/tenant/"));

        var loopback = await client.GetStringAsync("/fetch?url=" + Uri.EscapeDataString(host.BaseUri.ToString()), cancellationToken);
        Assert.That(loopback, Does.StartWith("TypeError"), "egress to loopback is refused in either browser");
    }
}
