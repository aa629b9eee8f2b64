using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using LeanProxy.Cdp.Launch;

namespace LeanProxy.Integration.Tests;

/// <summary>What operators read from the admin listener of the real binary: /metrics with real values, the status page in a real Chromium, the token.</summary>
[TestFixture]
[NonParallelizable]
public sealed class OperationsTests
{
    private string _root = null!;

    [SetUp]
    public void CopyApp()
    {
        _root = Path.Combine(Path.GetTempPath(), "lp-ops-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(_root, "shop"));
        File.Copy(Path.Combine(LeanProxyProcess.AppPath("kv-api"), "index.js"), Path.Combine(_root, "shop", "index.js"));
    }

    [TearDown]
    public void Delete() => Directory.Delete(_root, recursive: true);

    [Test]
    [CancelAfter(90_000)]
    public async Task MetricsCountWhatHappenedAndTheStatusPageShowsItInChromium(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(Path.Combine(_root, "shop"), cancellationToken, "--kv", "KV", "--admin", "127.0.0.1:0");
        var admin = await host.AdminUri.WaitAsync(cancellationToken);
        using var client = new HttpClient { BaseAddress = host.BaseUri };
        for (var i = 0; i < 7; i++)
        {
            Assert.That(await client.GetStringAsync($"/set?k=k{i}&v={i}", cancellationToken), Is.EqualTo("ok"));
        }

        Assert.That(await client.GetStringAsync("/get?k=k3", cancellationToken), Is.EqualTo("3"));
        Assert.That((await client.GetAsync("/nowhere", cancellationToken)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));

        using var adminClient = new HttpClient { BaseAddress = admin };
        var metrics = await adminClient.GetStringAsync("/metrics", cancellationToken);
        Assert.That(Value(metrics, """leanproxy_requests_total{app="shop",driver="http",status="2xx"}"""), Is.EqualTo(8));
        Assert.That(Value(metrics, """leanproxy_requests_total{app="shop",driver="http",status="4xx"}"""), Is.EqualTo(1));
        Assert.That(Value(metrics, """leanproxy_request_duration_seconds_count{app="shop"}"""), Is.EqualTo(9));
        Assert.That(Value(metrics, """leanproxy_kv_operations_total{app="shop",op="put",result="ok"}"""), Is.EqualTo(7));
        Assert.That(Value(metrics, """leanproxy_kv_operations_total{app="shop",op="get",result="ok"}"""), Is.EqualTo(1));
        Assert.That(Value(metrics, """leanproxy_tabs{app="shop",state="serving"}"""), Is.EqualTo(1));
        Assert.That(Value(metrics, """leanproxy_cold_starts_total{app="shop"}"""), Is.EqualTo(1));
        Assert.That(Value(metrics, """leanproxy_tab_crashes_total{app="shop"}"""), Is.Zero);
        Assert.That(Value(metrics, """leanproxy_cdp_messages_total{direction="sent"}"""), Is.GreaterThan(9));
        Assert.That(Value(metrics, "leanproxy_chromium_processes"), Is.GreaterThan(1));
        Assert.That(Value(metrics, "leanproxy_chromium_pss_bytes"), Is.GreaterThan(10e6));
        Assert.That(Value(metrics, "process_cpu_seconds_total"), Is.GreaterThan(0));
        Assert.That(Value(metrics, "leanproxy_batch_items_count"), Is.GreaterThanOrEqualTo(9));

        // The status page, in a real headless Chromium: its DOM, and a screenshot kept with the test's results.
        var chromium = ChromeLocator.Locate(null);
        var dom = await RunAsync(chromium, cancellationToken, "--dump-dom", admin.ToString());
        Assert.That(dom, Does.Contain("id=\"ready\">ready<"));
        Assert.That(Regex.IsMatch(dom, "<tr><td>shop</td><td>[0-9a-f]{12}</td><td>1 / 0 / [01]</td>"), Is.True, dom);
        Assert.That(dom, Does.Contain("<td>start</td><td>shop</td>"), "the app's start is a recent event");
        var screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "status-page.png");
        await RunAsync(chromium, cancellationToken, "--window-size=1100,700", "--screenshot=" + screenshot, admin.ToString());
        Assert.That(new FileInfo(screenshot).Length, Is.GreaterThan(5_000));
        TestContext.AddTestAttachment(screenshot, "the status page");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WithATokenMetricsAndTheStatusPageNeedIt(CancellationToken cancellationToken)
    {
        const string Token = "a-token-of-twenty-chars";
        var tokenFile = Path.Combine(_root, "token");
        await File.WriteAllTextAsync(tokenFile, Token, cancellationToken);
        await using var host = await LeanProxyProcess.ServeAsync(Path.Combine(_root, "shop"), cancellationToken, "--admin", "127.0.0.1:0", "--admin-token-file", tokenFile);
        using var client = new HttpClient { BaseAddress = await host.AdminUri.WaitAsync(cancellationToken) };

        Assert.That((await client.GetAsync("/healthz", cancellationToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "probes need no token");
        var refused = await client.GetAsync("/metrics", cancellationToken);
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(refused.Headers.WwwAuthenticate.ToString(), Does.StartWith("Basic"), "a browser asks for it");
        Assert.That((await Get(client, "/", new AuthenticationHeaderValue("Bearer", "wrong-token-of-twenty"), cancellationToken)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await Get(client, "/metrics", new AuthenticationHeaderValue("Bearer", Token), cancellationToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("anyone:" + Token));
        Assert.That((await Get(client, "/", new AuthenticationHeaderValue("Basic", basic), cancellationToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task JsonLogsCarryTheAppTabRequestAndVersionAsFields(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(Path.Combine(_root, "shop"), cancellationToken, "--log-format", "json");
        using var client = new HttpClient { BaseAddress = host.BaseUri };
        Assert.That((await client.GetAsync("/boom", cancellationToken)).StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));

        var deadline = DateTime.UtcNow.AddSeconds(10);
        System.Text.Json.JsonElement? failure = null;
        while (failure is null && DateTime.UtcNow < deadline)
        {
            foreach (var line in host.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var entry = System.Text.Json.JsonDocument.Parse(line); // every line is one JSON object
                if (entry.RootElement.GetProperty("EventId").GetInt32() == 202)
                {
                    failure = entry.RootElement.Clone();
                }
            }

            await Task.Delay(50, cancellationToken);
        }

        Assert.That(failure, Is.Not.Null, host.Stderr);
        var state = failure!.Value.GetProperty("State");
        Assert.That(state.GetProperty("App").GetString(), Is.EqualTo("shop"));
        Assert.That(state.GetProperty("RequestId").GetInt32(), Is.GreaterThan(0));
        Assert.That(state.GetProperty("Message").GetString(), Does.Contain("boom for the log"));
        Assert.That(failure.Value.GetProperty("Scopes")[0].GetProperty("Version").GetString(), Does.Match("^[0-9a-f]{12}$"));
    }

    private static async Task<HttpResponseMessage> Get(HttpClient client, string path, AuthenticationHeaderValue authorization, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = authorization;
        return await client.SendAsync(request, cancellationToken);
    }

    /// <summary>The value of one series line of the Prometheus text.</summary>
    private static double Value(string metrics, string series)
    {
        if (PrometheusText.Read(metrics, series) is { } value)
        {
            return value;
        }

        Assert.Fail($"no series {series} in:\n{metrics}");
        return 0;
    }

    /// <summary>Runs headless Chromium once (its own profile, removed after), returns its stdout.</summary>
    private async Task<string> RunAsync(string chromium, CancellationToken cancellationToken, params string[] arguments)
    {
        var profile = Path.Combine(_root, "profile-" + Guid.NewGuid().ToString("N")[..6]);
        var start = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        _ = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return await stdout;
    }
}
