using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace LeanProxy.Integration.Tests;

/// <summary>Requests through the real binary, a real listener and a real Chromium tab running apps/echo.</summary>
[TestFixture]
[NonParallelizable]
public sealed class EchoAppTests
{
    private LeanProxyProcess _host = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // --allow-net: /hop fetches this server itself, which the egress policy refuses unless the operator allows it.
        _host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("echo"), timeout.Token, "--var", "GREETING=hi there", "--var", "EMPTY=", "--allow-net", "127.0.0.1");
        // No cookie container: a Cookie header a test sends is the one the page must see.
        _client = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = _host.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task GetRoundTripCarriesMethodUrlAndHeaders(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/echo?id=abc&x=%20y");
        request.Headers.Add("X-Custom", "value-1");
        request.Headers.Add("Cookie", "session=s1");
        using var response = await _client.SendAsync(request, cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var root = json.RootElement;
        Assert.That(root.GetProperty("method").GetString(), Is.EqualTo("GET"));
        Assert.That(root.GetProperty("url").GetString(), Is.EqualTo($"http://{_host.BaseUri.Authority}/echo?id=abc&x=%20y"));
        Assert.That(root.GetProperty("id").GetString(), Is.EqualTo("abc"));
        var headers = root.GetProperty("headers").EnumerateArray().Select(h => (h[0].GetString(), h[1].GetString())).ToList();
        Assert.That(headers, Does.Contain(("x-custom", "value-1")));
        Assert.That(headers, Does.Contain(("cookie", "session=s1")), "forbidden request header names reach the handler");
        Assert.That(headers, Does.Contain(("host", _host.BaseUri.Authority)));
        Assert.That(root.GetProperty("remoteAddress").GetString(), Is.EqualTo("127.0.0.1"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PostRoundTripDeliversTheBody(CancellationToken cancellationToken)
    {
        using var content = new StringContent("{\"hello\":\"wörld\"}", Encoding.UTF8, "application/json");
        using var response = await _client.PostAsync("/echo", content, cancellationToken);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        Assert.That(json.RootElement.GetProperty("method").GetString(), Is.EqualTo("POST"));
        Assert.That(json.RootElement.GetProperty("body").GetString(), Is.EqualTo("{\"hello\":\"wörld\"}"));
        Assert.That(json.RootElement.GetProperty("length").GetInt32(), Is.EqualTo(Encoding.UTF8.GetByteCount("{\"hello\":\"wörld\"}")));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task BinaryBodiesRoundTripEveryByteValue(CancellationToken cancellationToken)
    {
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).Concat(Enumerable.Range(0, 256).Select(i => (byte)(255 - i))).ToArray();
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _client.PostAsync("/bytes", content, cancellationToken);
        Assert.That(await response.Content.ReadAsByteArrayAsync(cancellationToken), Is.EqualTo(bytes));

        using var all = await _client.GetAsync("/all-bytes", cancellationToken);
        Assert.That(await all.Content.ReadAsByteArrayAsync(cancellationToken), Is.EqualTo(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray()));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task StatusReasonAndRepeatedHeadersAreKept(CancellationToken cancellationToken)
    {
        using var response = await _client.GetAsync("/cookies", cancellationToken);

        Assert.That((int)response.StatusCode, Is.EqualTo(201));
        Assert.That(response.ReasonPhrase, Is.EqualTo("Made"));
        Assert.That(response.Headers.GetValues("Set-Cookie"), Is.EqualTo(new[] { "a=1; Path=/", "b=2; Path=/" }));
        Assert.That(string.Join(",", response.Headers.GetValues("x-multi")).Replace(" ", "", StringComparison.Ordinal), Is.EqualTo("one,two"));
        Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("cookies"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task EnvHoldsTheVarValues(CancellationToken cancellationToken)
    {
        var text = await _client.GetStringAsync("/env", cancellationToken);
        using var json = JsonDocument.Parse(text);
        var env = json.RootElement.GetProperty("env");
        Assert.That(env.GetProperty("GREETING").GetString(), Is.EqualTo("hi there"));
        Assert.That(env.GetProperty("EMPTY").GetString(), Is.EqualTo(string.Empty));
    }

    [TestCase("/throw", "boom from the handler")]
    [TestCase("/reject", "rejected on purpose")]
    [CancelAfter(30_000)]
    public async Task AHandlerThatFailsGives500AndTheErrorIsLogged(string path, string message, CancellationToken cancellationToken)
    {
        using var response = await _client.GetAsync(path, cancellationToken);

        Assert.That((int)response.StatusCode, Is.EqualTo(500));
        Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Does.Not.Contain(message), "the body is generic");
        await WaitForAsync(() => _host.Stderr.Contains(message, StringComparison.Ordinal), cancellationToken);
        Assert.That(_host.Stderr, Does.Contain(message).And.Contain(path));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ANonResponseReturnGives500SayingWhatWasReturned(CancellationToken cancellationToken)
    {
        using var response = await _client.GetAsync("/not-a-response", cancellationToken);

        Assert.That((int)response.StatusCode, Is.EqualTo(500));
        Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Does.Contain("must return a Response").And.Contain("Object"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task EmptyAndRedirectResponses(CancellationToken cancellationToken)
    {
        using var empty = await _client.GetAsync("/empty", cancellationToken);
        Assert.That((int)empty.StatusCode, Is.EqualTo(204));
        Assert.That(await empty.Content.ReadAsByteArrayAsync(cancellationToken), Is.Empty);

        using var noRedirects = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _host.BaseUri };
        using var redirect = await noRedirects.GetAsync("/redirect", cancellationToken);
        Assert.That((int)redirect.StatusCode, Is.EqualTo(301));
        Assert.That(redirect.Headers.Location, Is.EqualTo(new Uri("https://example.com/elsewhere")));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RelativeImportsOfTheAppFolderWork(CancellationToken cancellationToken)
    {
        Assert.That(await _client.GetStringAsync("/describe", cancellationToken), Is.EqualTo("GET /describe"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ConsoleCallsReachTheHostLogTaggedWithAppAndTab(CancellationToken cancellationToken)
    {
        Assert.That(await _client.GetStringAsync("/console", cancellationToken), Is.EqualTo("logged"));
        await WaitForAsync(() => _host.Stderr.Contains("an error from the page", StringComparison.Ordinal), cancellationToken);
        Assert.That(_host.Stderr, Does.Contain("[echo tab 0] console.log: hello from the page 42"));
        Assert.That(_host.Stderr, Does.Contain("[echo tab 0] console.error: an error from the page"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task TwoThousandConcurrentRequestsOver64ConnectionsEachGetTheirOwnAnswer(CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 64 };
        using var client = new HttpClient(handler) { BaseAddress = _host.BaseUri, Timeout = TimeSpan.FromSeconds(60) };
        var mismatches = 0;
        var next = -1;
        var workers = Enumerable.Range(0, 64).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < 2000)
            {
                var path = i % 10 == 0 ? $"/slow?ms=5&id={i}" : $"/echo?id={i}";
                var text = await client.GetStringAsync(path, cancellationToken);
                var ok = i % 10 == 0 ? text == $"slow {i}" : JsonDocument.Parse(text).RootElement.GetProperty("id").GetString() == i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (!ok)
                {
                    Interlocked.Increment(ref mismatches);
                }
            }
        });
        await Task.WhenAll(workers);
        Assert.That(mismatches, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AStreamedBodyReachesTheClientChunkByChunk(CancellationToken cancellationToken)
    {
        using var response = await _client.GetAsync("/sse?id=s1", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        Assert.That(response.Headers.TransferEncodingChunked, Is.True);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));

        // The handler only produces the second event once released by another request: the first must arrive alone.
        Assert.That(await reader.ReadLineAsync(cancellationToken), Is.EqualTo("data: first"));
        Assert.That(await _client.GetStringAsync("/sse-release?id=s1", cancellationToken), Is.EqualTo("released"));
        Assert.That(await reader.ReadLineAsync(cancellationToken), Is.EqualTo(string.Empty));
        Assert.That(await reader.ReadLineAsync(cancellationToken), Is.EqualTo("data: second"));
        Assert.That(await reader.ReadToEndAsync(cancellationToken), Is.EqualTo("\n"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AStreamedBodyIsProducedNoFasterThanTheClientReadsIt(CancellationToken cancellationToken)
    {
        const int total = 64 * 1024 * 1024;
        using var response = await _client.GetAsync("/flood?mb=64", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.That(response.Headers.TransferEncodingChunked, Is.True);

        // The client reads nothing yet: the handler's stream stops being pulled once the page's window, the host's
        // pipe and the socket buffers are full. Wait until it has stopped moving.
        var before = -1L;
        var produced = long.Parse(await _client.GetStringAsync("/produced", cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        while (produced != before)
        {
            before = produced;
            await Task.Delay(300, cancellationToken);
            produced = long.Parse(await _client.GetStringAsync("/produced", cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.That(produced, Is.LessThan(total / 2), "the handler was held back while the client did not read");

        // Reading it all releases the rest, byte-exact.
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[256 * 1024];
        long length = 0;
        var others = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            length += read;
            others += buffer.AsSpan(0, read).IndexOfAnyExcept((byte)'a') >= 0 ? 1 : 0;
        }

        Assert.That(length, Is.EqualTo(total));
        Assert.That(others, Is.Zero);
        Assert.That(await _client.GetStringAsync("/produced", cancellationToken), Is.EqualTo(total.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task WhenTheClientLeavesOrAsksForNoBodyTheHandlersStreamIsCancelled(CancellationToken cancellationToken)
    {
        using (var response = await _client.GetAsync("/ticks?id=left", HttpCompletionOption.ResponseHeadersRead, cancellationToken))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            Assert.That(await reader.ReadLineAsync(cancellationToken), Is.EqualTo("data: tick"));
        }

        using (var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/ticks?id=head"), cancellationToken))
        {
            Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        foreach (var id in new[] { "left", "head" })
        {
            while (await _client.GetStringAsync($"/cancelled?id={id}", cancellationToken) != "yes")
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task BlobFormDataAndStreamedRequestBodiesWork(CancellationToken cancellationToken)
    {
        Assert.That(await _client.GetStringAsync("/blob", cancellationToken), Is.EqualTo("blob body"));

        using var form = new FormUrlEncodedContent([new("a", "1"), new("b", "two words")]);
        using var formResponse = await _client.PostAsync("/form", form, cancellationToken);
        Assert.That(await formResponse.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("{\"a\":\"1\",\"b\":\"two words\"}"));

        using var big = new ByteArrayContent(new byte[300_000]);
        using var bigResponse = await _client.PostAsync("/stream-request", big, cancellationToken);
        Assert.That(await bigResponse.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("300000"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task WaitUntilWorkRunsAfterTheResponse(CancellationToken cancellationToken)
    {
        Assert.That(await _client.GetStringAsync("/wait-until?id=w1", cancellationToken), Is.EqualTo("responded first"));
        await WaitForAsync(() => _host.Stderr.Contains("waitUntil work done w1", StringComparison.Ordinal), cancellationToken);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task HeadGetsHeadersWithoutABody(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, "/describe");
        using var response = await _client.SendAsync(request, cancellationToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentLength, Is.EqualTo("HEAD /describe".Length));
        Assert.That(await response.Content.ReadAsByteArrayAsync(cancellationToken), Is.Empty);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TheRequestAndResponsesBehaveLikeBlinksOwn(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/facts") { Content = new StringContent("payload") };
        request.Headers.Add("X-Fact", "f");
        request.Headers.Add("Cookie", "c=1");
        using var response = await _client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        using var json = JsonDocument.Parse(text);
        var facts = json.RootElement;

        var expected = new Dictionary<string, string>
        {
            ["requestIsRequest"] = "true",
            ["requestTag"] = "\"[object Request]\"",
            ["requestConstructor"] = "\"Request\"",
            ["signalIsAbortSignal"] = "true",
            ["requestCache"] = "\"default\"",
            ["requestMode"] = "\"cors\"",
            ["requestFromIncoming"] = "\"payload\"",
            ["cloneText"] = "\"payload\"",
            ["bodyUsedBefore"] = "false",
            ["text"] = "\"payload\"",
            ["bodyUsedAfter"] = "true",
            ["secondRead"] = "\"TypeError\"",
            ["cloneAfterRead"] = "\"TypeError\"",
            ["rebuiltIsRequest"] = "true",
            ["rebuiltText"] = "\"again\"",
            ["rebuiltKeepsCustomHeader"] = "\"f\"",
            ["requestFromRequest"] = "\"1\"",
            ["cookieSeen"] = "\"c=1\"",
            ["responseIsResponse"] = "true",
            ["responseTag"] = "\"[object Response]\"",
            ["responseContentType"] = "\"text/plain;charset=UTF-8\"",
            ["responseOk"] = "true",
            ["responseType"] = "\"default\"",
            ["responseBodyIsStream"] = "true",
            ["responseBodyViaStream"] = "\"plain\"",
            ["responseBodyUsed"] = "true",
            ["responseCloneText"] = "\"twice\"",
            ["responseText"] = "\"twice\"",
            ["responseSecondRead"] = "\"TypeError\"",
            ["bytes"] = "[1,2,255]",
            ["blobType"] = "\"text/x-b\"",
            ["json"] = "{\"a\":[1]}",
            ["jsonContentType"] = "\"application/json\"",
            ["jsonUnserializable"] = "\"TypeError\"",
            ["badStatus"] = "\"RangeError\"",
            ["bodyWithNullBodyStatus"] = "\"TypeError\"",
            ["badStatusText"] = "\"TypeError\"",
            ["redirectStatus"] = "302",
            ["redirectIsResponse"] = "true",
            ["errorType"] = "\"error\"",
            ["subclass"] = "true",
            ["cookies"] = "[\"a=1\",\"b=2\"]",
            ["cached"] = "\"cached\"",
        };
        Assert.Multiple(() =>
        {
            foreach (var (name, value) in expected)
            {
                Assert.That(facts.TryGetProperty(name, out var actual) ? actual.GetRawText() : "(missing)", Is.EqualTo(value), name);
            }
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task FetchTakesTheRequestTheHandlerGot(CancellationToken cancellationToken)
    {
        using var content = new StringContent("the body");
        using var response = await _client.PostAsync("/hop", content, cancellationToken);
        Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("hopped POST the body"));
    }

    // The URL a handler sees is what a browser's URL parser makes of the client's Host and target.
    [TestCase("127.0.0.1:{port}", "/url/plain?a=1&b=%20c", "http://127.0.0.1:{port}/url/plain?a=1&b=%20c")]
    [TestCase("127.0.0.1:{port}", "/url/a/../b/./c", "http://127.0.0.1:{port}/url/b/c")]
    [TestCase("127.0.0.1:{port}", "/url/a/%2e%2E/b", "http://127.0.0.1:{port}/url/b")]
    [TestCase("127.0.0.1:{port}", "/url/q?x='y'&z=<w>", "http://127.0.0.1:{port}/url/q?x=%27y%27&z=%3Cw%3E")]
    [TestCase("LocalHost:{port}", "/url/host", "http://localhost:{port}/url/host")]
    [TestCase("example.com:80", "/url/default-port", "http://example.com/url/default-port")]
    [TestCase("example.com:8080", "/url/caf%C3%A9", "http://example.com:8080/url/caf%C3%A9")]
    [CancelAfter(30_000)]
    public async Task TheUrlIsNormalisedLikeABrowsers(string host, string target, string expected, CancellationToken cancellationToken)
    {
        var port = _host.BaseUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_host.BaseUri.Host, _host.BaseUri.Port, cancellationToken);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: {host.Replace("{port}", port, StringComparison.Ordinal)}\r\nConnection: close\r\n\r\n"), cancellationToken);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var answer = await reader.ReadToEndAsync(cancellationToken);

        Assert.That(answer, Does.StartWith("HTTP/1.1 200 "));
        Assert.That(answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..], Is.EqualTo(expected.Replace("{port}", port, StringComparison.Ordinal)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task UncaughtErrorsAndUnhandledRejectionsInThePageAreLogged(CancellationToken cancellationToken)
    {
        Assert.That(await _client.GetStringAsync("/unhandled", cancellationToken), Is.EqualTo("left behind"));
        await WaitForAsync(
            () => _host.Stderr.Contains("a rejection nobody handles", StringComparison.Ordinal) && _host.Stderr.Contains("thrown in a timer", StringComparison.Ordinal),
            cancellationToken);
        var lines = _host.Stderr.Split('\n');
        Assert.That(lines.Single(l => l.Contains("a rejection nobody handles", StringComparison.Ordinal)), Does.Match(@"\[echo tab \d+\] uncaught: "));
        Assert.That(lines.Single(l => l.Contains("thrown in a timer", StringComparison.Ordinal)), Does.Match(@"\[echo tab \d+\] uncaught: "));
    }

    private static async Task WaitForAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}
