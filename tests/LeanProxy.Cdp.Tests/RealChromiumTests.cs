using System.Diagnostics;
using System.Text.Json;
using LeanProxy.Cdp.Launch;
using LeanProxy.Cdp.Protocol;

namespace LeanProxy.Cdp.Tests;

/// <summary>The client against a real Chromium, over the pipe (launched) and over the WebSocket (attached).</summary>
[TestFixture]
[NonParallelizable]
public sealed class RealChromiumTests
{
    private static async Task<CdpSession> OpenPageAsync(CdpConnection connection, CancellationToken cancellationToken)
    {
        var target = await connection.SendAsync(
            CdpMethods.TargetCreateTarget,
            new CreateTargetParams("about:blank"),
            CdpJsonContext.Default.CreateTargetParams,
            CdpJsonContext.Default.CreateTargetResult,
            cancellationToken: cancellationToken);
        return await connection.AttachAsync(target.TargetId, cancellationToken);
    }

    private static Task<JsonElement> EvaluateAsync(CdpSession session, string expression, CancellationToken cancellationToken) =>
        session.SendAsync(
            CdpMethods.RuntimeEvaluate,
            expression,
            static (writer, text) =>
            {
                writer.WriteString("expression", text);
                writer.WriteBoolean("returnByValue", true);
                writer.WriteBoolean("awaitPromise", true);
            },
            static json => JsonDocument.Parse(json.ToArray()).RootElement.GetProperty("result").Clone(),
            cancellationToken).AsTask();

    private static async Task ExerciseAsync(CdpConnection connection, CancellationToken cancellationToken)
    {
        var session = await OpenPageAsync(connection, cancellationToken);
        Assert.That((await EvaluateAsync(session, "1 + 1", cancellationToken)).GetProperty("value").GetInt32(), Is.EqualTo(2));

        var called = new TaskCompletionSource<BindingCalledEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = session.Subscribe(CdpEvents.RuntimeBindingCalled, CdpJsonContext.Default.BindingCalledEvent, (e, _) => called.TrySetResult(e));
        await session.SendAsync(CdpMethods.RuntimeEnable, cancellationToken);
        await session.SendAsync(CdpMethods.RuntimeAddBinding, new AddBindingParams("notifyHost"), CdpJsonContext.Default.AddBindingParams, cancellationToken);
        await EvaluateAsync(session, "notifyHost('hello from the page')", cancellationToken);
        var binding = await called.Task.WaitAsync(cancellationToken);
        Assert.That(binding.Name, Is.EqualTo("notifyHost"));
        Assert.That(binding.Payload, Is.EqualTo("hello from the page"));

        // A crash fails the session's pending commands at once and ends the session.
        await session.SendAsync(CdpMethods.InspectorEnable, cancellationToken);
        var hanging = EvaluateAsync(session, "new Promise(() => {})", cancellationToken);
        _ = session.SendAsync(CdpMethods.PageCrash, cancellationToken);
        Assert.That(await session.Ended.WaitAsync(cancellationToken), Is.EqualTo(CdpCloseReason.TargetCrashed));
        var error = Assert.ThrowsAsync<CdpClosedException>(async () => await hanging);
        Assert.That(error!.Reason, Is.EqualTo(CdpCloseReason.TargetCrashed));

        var version = await connection.SendAsync(CdpMethods.BrowserGetVersion, CdpJsonContext.Default.BrowserVersion, cancellationToken: cancellationToken);
        Assert.That(version.Product, Does.Contain("Chrome"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task OverThePipeALaunchedBrowserEvaluatesCallsBindingsAndReportsCrashes(CancellationToken cancellationToken)
    {
        var browser = await ChromeLauncher.LaunchAsync(new ChromeLaunchOptions(), cancellationToken: cancellationToken);
        var pid = browser.ProcessId!.Value;
        var directory = browser.TempDirectory!;
        try
        {
            var commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            Assert.That(commandLine, Does.Contain("--remote-debugging-pipe").And.Not.Contain("--remote-debugging-port"));
            await ExerciseAsync(browser.Connection, cancellationToken);
        }
        finally
        {
            await browser.DisposeAsync();
        }

        Assert.That(Directory.Exists(directory), Is.False, "the temporary profile is deleted");
        Assert.That(Directory.Exists($"/proc/{pid}"), Is.False, "the browser process is gone");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task OverTheWebSocketABrowserStartedElsewhereIsAttachedWithItsHttpUrl(CancellationToken cancellationToken)
    {
        var profile = Path.Combine(Path.GetTempPath(), "lp-cdp-ws-" + Guid.NewGuid().ToString("N")[..8]);
        var chrome = ChromeLocator.Locate(null);
        var startInfo = new ProcessStartInfo(chrome) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank" })
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        try
        {
            var portFile = Path.Combine(profile, "DevToolsActivePort");
            while (!File.Exists(portFile) || File.ReadAllText(portFile).Length == 0)
            {
                await Task.Delay(20, cancellationToken);
            }

            var port = File.ReadAllLines(portFile)[0];
            await using var browser = await ChromeBrowser.AttachAsync(new Uri($"http://127.0.0.1:{port}"), cancellationToken: cancellationToken);
            Assert.That(browser.IsOwned, Is.False);
            await ExerciseAsync(browser.Connection, cancellationToken);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(profile, recursive: true);
        }
    }

    [Test]
    public void ABadExplicitChromePathIsNamed()
    {
        Assert.That(() => ChromeLocator.Locate("/nonexistent/chrome"), Throws.InstanceOf<ChromeNotFoundException>().With.Message.Contains("/nonexistent/chrome"));
    }

    [Test]
    [CancelAfter(30_000)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void AChromiumThatExitsAtOnceFailsTheLaunchWithItsOutput(CancellationToken cancellationToken)
    {
        var fake = Path.Combine(Path.GetTempPath(), "lp-fake-chrome-" + Guid.NewGuid().ToString("N")[..8]);
        File.WriteAllText(fake, "#!/bin/sh\necho 'fake chrome: cannot start' >&2\nexit 3\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var error = Assert.ThrowsAsync<ChromeLaunchException>(async () =>
                await ChromeLauncher.LaunchAsync(new ChromeLaunchOptions { ExecutablePath = fake, StartTimeout = TimeSpan.FromSeconds(10) }, cancellationToken: cancellationToken));
            Assert.That(error!.Message, Does.Contain("fake chrome: cannot start"));
        }
        finally
        {
            File.Delete(fake);
        }
    }
}
