using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// The handler's fetch to other servers, made by the host (Workers' semantics), through the real binary and Chromium,
/// against real local origins that send no CORS headers.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SubrequestTests
{
    private const int MaxSubrequests = 25;

    private OriginServer _origin = null!;
    private OriginServer _other = null!;
    private OriginServer _forbidden = null!;
    private LeanProxyProcess _host = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _origin = OriginServer.Start();
        _other = OriginServer.Start();
        _forbidden = OriginServer.Start(); // running, but not allowed: it must never be reached
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("fetcher"), timeout.Token, "--tabs", "1", "--admin", "127.0.0.1:0",
            "--allow-net", $"127.0.0.1:{_origin.Port}", "--allow-net", $"127.0.0.1:{_other.Port}",
            "--max-subrequests", MaxSubrequests.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _client = new HttpClient(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = 16 }) { BaseAddress = _host.BaseUri, Timeout = TimeSpan.FromSeconds(60) };
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
        _origin.Dispose();
        _other.Dispose();
        _forbidden.Dispose();
    }

    /// <summary>The answer's text whatever its status (a handler that caught a subrequest's error answers 599 with it).</summary>
    private async Task<string> TextAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _client.GetAsync(path, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    private string At(string path, OriginServer? origin = null) => path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "origin=" + Uri.EscapeDataString((origin ?? _origin).Url);

    [Test]
    [CancelAfter(30_000)]
    public async Task ACustomHeaderAndAJsonPostArriveAsSetWithNoPreflightAndSetCookieIsRead(CancellationToken cancellationToken)
    {
        using var result = JsonDocument.Parse(await _client.GetStringAsync(At("/custom"), cancellationToken));
        var r = result.RootElement;
        Assert.That(r.GetProperty("status").GetInt32(), Is.EqualTo(200));
        var echo = r.GetProperty("echo");
        Assert.That(echo.GetProperty("method").GetString(), Is.EqualTo("POST"));
        Assert.That(echo.GetProperty("url").GetString(), Is.EqualTo("/echo?q=1"));
        Assert.That(echo.GetProperty("body").GetString(), Is.EqualTo("""{"a":1,"text":"é"}"""));
        var headers = echo.GetProperty("headers");
        Assert.That(headers.GetProperty("x-custom").GetString(), Is.EqualTo("yes"));
        Assert.That(headers.GetProperty("content-type").GetString(), Is.EqualTo("application/json"));
        Assert.That(headers.GetProperty("cookie").GetString(), Is.EqualTo("sid=42"), "Cookie is an ordinary header, as in Workers");
        Assert.That(headers.GetProperty("user-agent").GetString(), Is.EqualTo("worker/1"));
        Assert.That(headers.GetProperty("origin").GetString(), Is.EqualTo("https://example.org"), "the Origin the handler set, not the page's");
        Assert.That(headers.GetProperty("referer").GetString(), Is.EqualTo("https://example.org/page"));
        Assert.That(headers.GetProperty("host").GetString(), Is.EqualTo($"127.0.0.1:{_origin.Port}"), "the URL decides Host");
        Assert.That(_origin.Requests, Has.None.StartsWith("OPTIONS"), "no preflight");

        Assert.That(r.GetProperty("cookies").EnumerateArray().Select(c => c.GetString()), Is.EqualTo(new[] { "a=1; Path=/", "b=2; HttpOnly" }));
        Assert.That(r.GetProperty("joined").GetString(), Is.EqualTo("a=1; Path=/, b=2; HttpOnly"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ABodySendsItsOwnContentType(CancellationToken cancellationToken)
    {
        using var result = JsonDocument.Parse(await _client.GetStringAsync(At("/form"), cancellationToken));
        var multipart = result.RootElement.GetProperty("multipart").GetString()!;
        Assert.That(multipart, Does.StartWith("multipart/form-data; boundary="));
        Assert.That(result.RootElement.GetProperty("body").GetString(), Does.Contain(multipart["multipart/form-data; boundary=".Length..])
            .And.Contain("name=\"field\"").And.Contain("value"));
        Assert.That(result.RootElement.GetProperty("text").GetString(), Is.EqualTo("text/plain;charset=UTF-8"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ARequestTheHandlerMadeKeepsTheHeadersABrowserDrops(CancellationToken cancellationToken)
    {
        using var echo = JsonDocument.Parse(await _client.GetStringAsync(At("/request-object"), cancellationToken));
        var headers = echo.RootElement.GetProperty("headers");
        Assert.That(headers.GetProperty("cookie").GetString(), Is.EqualTo("made=1"));
        Assert.That(headers.GetProperty("x-made").GetString(), Is.EqualTo("yes"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task FetchOfTheIncomingRequestForwardsItsMethodHeadersAndBody(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, At("/proxy?x=1")) { Content = new StringContent("hello é", Encoding.UTF8, "text/plain") };
        request.Headers.Add("X-Client", "c1");
        request.Headers.Add("Cookie", "k=v");
        using var response = await _client.SendAsync(request, cancellationToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.GetValues("Set-Cookie"), Is.EqualTo(new[] { "a=1; Path=/", "b=2; HttpOnly" }), "the origin's answer goes back as it came");
        using var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var r = echo.RootElement;
        Assert.That(r.GetProperty("method").GetString(), Is.EqualTo("PUT"));
        Assert.That(r.GetProperty("url").GetString(), Does.StartWith("/echo?x=1&origin="));
        Assert.That(r.GetProperty("body").GetString(), Is.EqualTo("hello é"));
        var headers = r.GetProperty("headers");
        Assert.That(headers.GetProperty("x-client").GetString(), Is.EqualTo("c1"));
        Assert.That(headers.GetProperty("cookie").GetString(), Is.EqualTo("k=v"));
        Assert.That(headers.GetProperty("content-type").GetString(), Is.EqualTo("text/plain; charset=utf-8"));
        Assert.That(headers.GetProperty("host").GetString(), Is.EqualTo($"127.0.0.1:{_origin.Port}"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task LargeBodiesGoThroughWholeBothWays(CancellationToken cancellationToken)
    {
        var download = await _client.GetByteArrayAsync(At("/pass?n=3000000"), cancellationToken);
        Assert.That(download, Is.EqualTo(OriginServer.Pattern(3_000_000)), "3 MB returned as they came: the host sends the body to the client itself");
        using (var changed = await _client.GetAsync(At("/pass-header?n=500000"), cancellationToken))
        {
            Assert.That(changed.Headers.GetValues("x-added"), Is.EqualTo(new[] { "by the handler" }));
            Assert.That(await changed.Content.ReadAsByteArrayAsync(cancellationToken), Is.EqualTo(OriginServer.Pattern(500_000)));
        }

        var pattern = OriginServer.Pattern(2_000_000);
        Assert.That(await _client.GetStringAsync(At("/read-big?n=2000000"), cancellationToken),
            Is.EqualTo($"2000000 {pattern.Aggregate(0L, (sum, b) => (sum + b) % 1000003)}"), "2 MB read by the handler itself, through the page");

        var upload = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        using var posted = await _client.PostAsync(At("/proxy"), new ByteArrayContent(upload), cancellationToken);
        var text = await posted.Content.ReadAsStringAsync(cancellationToken);
        Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        using var echo = JsonDocument.Parse(text);
        Assert.That(echo.RootElement.GetProperty("length").GetInt64(), Is.EqualTo(upload.Length));
        Assert.That(echo.RootElement.GetProperty("sha256").GetString(), Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(upload))));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ABodyTheHandlerStreamsIsUploadedAsItIsProducedAndASlowOriginHoldsItBack(CancellationToken cancellationToken)
    {
        using (var whole = JsonDocument.Parse(await _client.GetStringAsync(At("/upload?mb=10"), cancellationToken)))
        {
            Assert.That(whole.RootElement.GetProperty("length").GetInt64(), Is.EqualTo(10 * 1024 * 1024));
            Assert.That(whole.RootElement.GetProperty("sha256").GetString(), Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(OriginServer.Pattern(10 * 1024 * 1024)))));
            Assert.That(whole.RootElement.GetProperty("chunked").GetString(), Is.EqualTo("chunked"), "sent as it comes, its length unknown");
        }

        // The origin reads nothing for 3 s: the stream is pulled for the window (1 MiB) and what the sockets buffer, no more.
        // What loopback sockets may buffer grows with the traffic they saw (Linux autotunes a receive buffer up to
        // net.ipv4.tcp_rmem's maximum, 32 MiB here, plus 4 MiB sent), so the stream is larger than all of that together.
        using var held = JsonDocument.Parse(await _client.GetStringAsync(At("/upload?mb=64&stallMs=3000&checkMs=2500"), cancellationToken));
        Assert.That(held.RootElement.GetProperty("length").GetInt64(), Is.EqualTo(64L * 1024 * 1024), "all of it once the origin reads");
        var produced = held.RootElement.GetProperty("producedAtCheck").GetInt64();
        TestContext.Out.WriteLine($"produced while the origin read nothing: {produced} bytes");
        Assert.That(produced, Is.LessThan(48L * 1024 * 1024), "held back by the origin's pace, not produced whole (64 MiB)");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RedirectsAreFollowedManualOrAnErrorAsAsked(CancellationToken cancellationToken)
    {
        using (var manual = JsonDocument.Parse(await _client.GetStringAsync(At("/manual"), cancellationToken)))
        {
            Assert.That(manual.RootElement.GetProperty("status").GetInt32(), Is.EqualTo(302), "the real 3xx, not an opaque redirect");
            Assert.That(manual.RootElement.GetProperty("location").GetString(), Is.EqualTo("/echo"));
        }

        using (var same = JsonDocument.Parse(await _client.GetStringAsync(At("/follow?to=/echo"), cancellationToken)))
        {
            Assert.That(same.RootElement.GetProperty("redirected").GetBoolean(), Is.True);
            Assert.That(same.RootElement.GetProperty("url").GetString(), Is.EqualTo(_origin.Url + "/echo"));
            var headers = same.RootElement.GetProperty("echo").GetProperty("headers");
            Assert.That(headers.GetProperty("authorization").GetString(), Is.EqualTo("Bearer secret"), "the same origin keeps its credentials");
            Assert.That(headers.GetProperty("cookie").GetString(), Is.EqualTo("c=1"));
        }

        using (var cross = JsonDocument.Parse(await _client.GetStringAsync(At("/follow?to=" + Uri.EscapeDataString(_other.Url + "/echo")), cancellationToken)))
        {
            var headers = cross.RootElement.GetProperty("echo").GetProperty("headers");
            Assert.That(headers.TryGetProperty("authorization", out _), Is.False, "Authorization is dropped when a redirect leaves the origin");
            Assert.That(headers.TryGetProperty("cookie", out _), Is.False, "Cookie too");
            Assert.That(headers.GetProperty("x-keep").GetString(), Is.EqualTo("kept"));
        }

        using var error = await _client.GetAsync(At("/error-mode"), cancellationToken);
        Assert.That(await error.Content.ReadAsStringAsync(cancellationToken), Does.StartWith("TypeError: Fetch to").And.Contain("redirect mode is \"error\""));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ARedirectOrANameToALoopbackDestinationNotAllowedIsRefused(CancellationToken cancellationToken)
    {
        var toLoopback = await TextAsync(At("/follow?to=" + Uri.EscapeDataString(_forbidden.Url + "/echo")), cancellationToken);
        Assert.That(toLoopback, Does.StartWith($"TypeError: Fetch to {_origin.Url}/redirect was refused: 127.0.0.1:{_forbidden.Port} is a loopback address"),
            "each hop goes through the egress policy");

        var byName = await TextAsync("/get?url=" + Uri.EscapeDataString($"http://localhost:{_forbidden.Port}/echo?token=secret"), cancellationToken);
        Assert.That(byName, Does.StartWith($"TypeError: Fetch to http://localhost:{_forbidden.Port}/echo was refused: localhost:{_forbidden.Port} is a loopback address")
            .And.Not.Contain("secret"), "a name that resolves to loopback; the query stays out of messages");
        Assert.That(_forbidden.Requests, Is.Empty, "never reached");
        await _host.WaitForLogAsync($"App fetcher: refused a connection: localhost:{_forbidden.Port} is a loopback address", cancellationToken);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ContentEncodingIsDecodedAndAnAbortedSubrequestRejectsWithAbortError(CancellationToken cancellationToken)
    {
        Assert.That(await _client.GetStringAsync(At("/gzip"), cancellationToken), Is.EqualTo("hello gzip"));
        using var aborted = await _client.GetAsync(At("/abort"), cancellationToken);
        Assert.That(await aborted.Content.ReadAsStringAsync(cancellationToken), Does.StartWith("AbortError:"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AtMostSixAreOpenAtOnceForARequestAndMoreThanTheLimitAreRefusedByName(CancellationToken cancellationToken)
    {
        using (var many = JsonDocument.Parse(await _client.GetStringAsync(At("/many?n=20&ms=200", _other), cancellationToken)))
        {
            Assert.That(many.RootElement.EnumerateArray().Select(e => e.GetString()), Is.EqualTo(Enumerable.Range(0, 20).Select(i => "slow " + i)),
                "the ones past six wait, none fails");
        }

        Assert.That(_other.MostOpen, Is.InRange(2, 6));

        using var sequential = JsonDocument.Parse(await _client.GetStringAsync(At($"/sequential?n={MaxSubrequests + 2}"), cancellationToken));
        var results = sequential.RootElement.EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.That(results.Take(MaxSubrequests), Is.EqualTo(Enumerable.Range(0, MaxSubrequests).Select(i => "slow " + i)));
        Assert.That(results.Skip(MaxSubrequests), Is.All.EqualTo($"Error: Too many subrequests: more than {MaxSubrequests} for one request (--max-subrequests)."));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TheProxyExampleOfTheReadmeForwardsToItsOrigin(CancellationToken cancellationToken)
    {
        await using var proxy = await LeanProxyProcess.ServeAsync(LeanProxyProcess.ExamplePath("proxy"), cancellationToken, "--tabs", "1",
            "--var", "ORIGIN=" + _origin.Url, "--allow-net", $"127.0.0.1:{_origin.Port}");
        using var client = new HttpClient { BaseAddress = proxy.BaseUri };
        using var forwarded = await client.PostAsync("/echo?from=readme", new StringContent("through the proxy"), cancellationToken);
        using var echo = JsonDocument.Parse(await forwarded.Content.ReadAsStringAsync(cancellationToken));
        Assert.That(echo.RootElement.GetProperty("method").GetString(), Is.EqualTo("POST"));
        Assert.That(echo.RootElement.GetProperty("url").GetString(), Is.EqualTo("/echo?from=readme"));
        Assert.That(echo.RootElement.GetProperty("body").GetString(), Is.EqualTo("through the proxy"));

        using var headers = JsonDocument.Parse(await client.GetStringAsync("/headers", cancellationToken));
        Assert.That(headers.RootElement.GetProperty("status").GetInt32(), Is.EqualTo(404), "the origin has no page at /");
        Assert.That(_origin.Requests, Has.Some.EqualTo("GET /"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AProxyHandlerUnderLoadAnswersEveryRequestAndOperatorsSeeTheSubrequests(CancellationToken cancellationToken)
    {
        var expected = OriginServer.Pattern(1024);
        var failures = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 400), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (_, token) =>
            {
                using var response = await _client.GetAsync(At("/pass?n=1024"), token);
                if (response.StatusCode != HttpStatusCode.OK || !(await response.Content.ReadAsByteArrayAsync(token)).SequenceEqual(expected))
                {
                    Interlocked.Increment(ref failures);
                }
            });
        Assert.That(failures, Is.Zero);

        Assert.That(await _host.MetricAsync("""leanproxy_subrequests_total{app="fetcher",status="2xx"}""", cancellationToken), Is.GreaterThanOrEqualTo(400));
        Assert.That(await _host.MetricAsync("""leanproxy_subrequest_duration_seconds_count{app="fetcher"}""", cancellationToken), Is.GreaterThanOrEqualTo(400));
    }
}
