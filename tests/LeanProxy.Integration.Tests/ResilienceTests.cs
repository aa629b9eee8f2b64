using System.Net;

namespace LeanProxy.Integration.Tests;

/// <summary>Deadlines, crashed renderers and a full queue, through the real binary and a real Chromium.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ResilienceTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task ASpinningHandlerGets504WhileOtherRequestsKeepBeingAnswered(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("echo"), cancellationToken, "--timeout", "1", "--tabs", "2",
            "--admin", "127.0.0.1:0");
        using var client = new HttpClient { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(30) };

        // The server listens once its first tab is ready. Until the second one is, every request goes to the first,
        // where it would wait behind the spin and share its fate: start once both serve.
        while (!host.Stderr.Contains("tab 0 ready", StringComparison.Ordinal) || !host.Stderr.Contains("tab 1 ready", StringComparison.Ordinal))
        {
            await Task.Delay(20, cancellationToken);
        }

        // The spin is given to its tab first (the pool counts it there): a request racing it could share its tab.
        var spin = client.GetAsync("/spin", cancellationToken);
        var others = new List<string>();
        await host.WaitForMetricAsync("""leanproxy_queue_depth{app="echo"}""", 1, cancellationToken);
        while (!spin.IsCompleted)
        {
            others.Add(await client.GetStringAsync("/describe", cancellationToken));
        }

        using var spun = await spin;
        Assert.That((int)spun.StatusCode, Is.EqualTo(504));
        Assert.That(others, Is.Not.Empty.And.All.EqualTo("GET /describe"));

        // The spinning tab was stopped with Runtime.terminateExecution and kept its state: both tabs answer again.
        // (While it was stuck, new work went to the other tab; once terminated, it takes its share again.)
        var answers = new List<string>();
        while (!answers.Contains("1"))
        {
            answers.AddRange(await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetStringAsync("/spins", cancellationToken))));
        }

        Assert.That(answers, Is.All.EqualTo("0").Or.EqualTo("1"), "the tab that spun answers, with its module state intact");
        Assert.That(host.Stderr, Does.Contain("timed out").And.Contain("terminating"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ATabThatNoLongerAnswersIsReplaced(CancellationToken cancellationToken)
    {
        // A server that accepts and never answers: the handler's synchronous XMLHttpRequest to it blocks the page's
        // thread outside JavaScript, where Runtime.terminateExecution cannot reach.
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new System.Collections.Concurrent.ConcurrentBag<System.Net.Sockets.Socket>();
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Add(await silent.AcceptSocketAsync(cancellationToken));
            }
        }, cancellationToken);
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;

        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("echo"), cancellationToken, "--timeout", "1", "--tabs", "1", "--allow-net", $"127.0.0.1:{port}");
        using var client = new HttpClient { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        Assert.That(await client.GetStringAsync("/describe", cancellationToken), Is.EqualTo("GET /describe"));

        using var hung = await client.GetAsync($"/hang?port={port}", cancellationToken);
        Assert.That((int)hung.StatusCode, Is.EqualTo(504));
        while (!host.Stderr.Contains("still does not answer after its script was terminated; replacing it", StringComparison.Ordinal))
        {
            await Task.Delay(50, cancellationToken);
        }

        Assert.That(await client.GetStringAsync("/describe", cancellationToken), Is.EqualTo("GET /describe"), "a new tab serves the app");

        silent.Stop();
        foreach (var socket in accepted)
        {
            socket.Dispose();
        }

        try
        {
            await accepting;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The listener was stopped: the accept loop ends.
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WhenTheRendererIsKilledIdempotentRequestsAreRetriedAndOthersGet502(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("echo"), cancellationToken);
        using var client = new HttpClient { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        Assert.That(await client.GetStringAsync("/describe", cancellationToken), Is.EqualTo("GET /describe"));

        var get = client.GetAsync("/slow?ms=2000&id=g", cancellationToken);
        var post = client.PostAsync("/slow?ms=2000&id=p", new StringContent("x"), cancellationToken);
        // Both are in the page, waiting on their timers (taken into a batch: the POST is no longer one that never ran).
        await host.WaitForLogAsync("console.log: slow started g", cancellationToken);
        await host.WaitForLogAsync("console.log: slow started p", cancellationToken);

        var renderers = host.Descendants().Where(pid => File.ReadAllText($"/proc/{pid}/cmdline").Contains("--type=renderer", StringComparison.Ordinal)).ToList();
        Assert.That(renderers, Is.Not.Empty);
        foreach (var pid in renderers)
        {
            using var kill = System.Diagnostics.Process.Start("kill", ["-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync(cancellationToken);
        }

        using var retried = await get;
        using var failed = await post;
        Assert.That(retried.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await retried.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("slow g"));
        Assert.That((int)failed.StatusCode, Is.EqualTo(502));

        // The tab was replaced: the app serves again.
        Assert.That(await client.GetStringAsync("/describe", cancellationToken), Is.EqualTo("GET /describe"));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task WhenTheBrowserDiesItIsRelaunchedAndRequestsWaitForIt(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("echo"), cancellationToken);
        using var client = new HttpClient { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(60) };
        Assert.That(await client.GetStringAsync("/describe", cancellationToken), Is.EqualTo("GET /describe"));
        var browser = host.Descendants().First(pid => !File.ReadAllText($"/proc/{pid}/cmdline").Contains("--type=", StringComparison.Ordinal));

        var inFlight = client.GetAsync("/slow?ms=1000&id=before", cancellationToken);
        await host.WaitForLogAsync("console.log: slow started before", cancellationToken);
        using (var kill = System.Diagnostics.Process.Start("kill", ["-KILL", browser.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(cancellationToken);
        }

        var during = client.GetStringAsync("/describe", cancellationToken);
        using var retried = await inFlight;
        Assert.That(await retried.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("slow before"), "an idempotent request in flight is retried on the new browser");
        Assert.That(await during, Is.EqualTo("GET /describe"), "a request arriving while the browser is relaunched waits for it");
        Assert.That(host.HasExited, Is.False);
        Assert.That(host.Stderr, Does.Contain("relaunched"));
        Assert.That(host.Descendants(), Does.Not.Contain(browser));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AFullQueueAnswers503WithRetryAfterAndEveryRequestGetsOneResponse(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("echo"), cancellationToken, "--queue", "4");
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 32 };
        using var client = new HttpClient(handler) { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(30) };

        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => client.GetAsync($"/slow?ms=500&id={i}", cancellationToken)));
        var statuses = responses.Select(r => (int)r.StatusCode).ToList();
        Assert.That(statuses, Has.Count.EqualTo(24));
        Assert.That(statuses, Is.All.AnyOf(200, 503));
        Assert.That(statuses, Does.Contain(200).And.Contain(503));
        foreach (var busy in responses.Where(r => (int)r.StatusCode == 503))
        {
            Assert.That(busy.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
        }

        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}
