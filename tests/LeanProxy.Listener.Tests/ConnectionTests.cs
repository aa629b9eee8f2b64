using System.Threading.Channels;
using LeanProxy.Listener.Http;

namespace LeanProxy.Listener.Tests;

/// <summary>The per-connection state machine over in-memory pipes.</summary>
public sealed class ConnectionTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task PipelinedRequestsAreAnsweredInOrder(CancellationToken cancellationToken)
    {
        var handler = RecordingHandler.Echo();
        await using var harness = new PipeHarness(handler);
        await harness.SendAsync(
            "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
            cancellationToken);
        var bodies = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var response = await harness.ReadResponseAsync(cancellationToken);
            Assert.That(response!.Status, Is.EqualTo(200));
            Assert.That(response.Header("Date"), Is.Not.Null);
            bodies.Add(response.Body);
        }

        Assert.That(bodies, Is.EqualTo(new[] { "GET /1 ", "POST /2 abc", "GET /3 " }));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ChunkedRequestBodiesWithExtensionsAndTrailersAreDecoded(CancellationToken cancellationToken)
    {
        await using var harness = new PipeHarness(RecordingHandler.Echo());
        await harness.SendAsync("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;name=value\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n", cancellationToken);
        var response = await harness.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Body, Is.EqualTo("POST /c abc0123456789"));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ExpectContinueGets100BeforeTheBodyIsSent(CancellationToken cancellationToken)
    {
        await using var harness = new PipeHarness(RecordingHandler.Echo());
        await harness.SendAsync("PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", cancellationToken);
        Assert.That(await harness.ReadSomeAsync(cancellationToken), Is.EqualTo("HTTP/1.1 100 Continue\r\n\r\n"));
        await harness.SendAsync("body", cancellationToken);
        var response = await harness.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Body, Is.EqualTo("PUT /e body"));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task HeadGetsContentLengthButNoBody(CancellationToken cancellationToken)
    {
        await using var harness = new PipeHarness(RecordingHandler.Echo());
        await harness.SendAsync("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /g HTTP/1.1\r\nHost: a\r\n\r\n", cancellationToken);
        var head = await harness.ReadResponseAsync(cancellationToken, headOnly: true);
        Assert.That(head!.Header("Content-Length"), Is.EqualTo("HEAD /h ".Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var next = await harness.ReadResponseAsync(cancellationToken);
        Assert.That(next!.Body, Is.EqualTo("GET /g "), "no body bytes were sent for HEAD");
    }

    [TestCase(204)]
    [TestCase(304)]
    [CancelAfter(10_000)]
    public async Task NoContentAndNotModifiedCarryNoBody(int status, CancellationToken cancellationToken)
    {
        var handler = new RecordingHandler(_ => ValueTask.FromResult(new ProxyResponse(status) { Body = "ignored"u8.ToArray() }));
        await using var harness = new PipeHarness(handler);
        await harness.SendAsync("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", cancellationToken);
        var first = await harness.ReadResponseAsync(cancellationToken);
        var second = await harness.ReadResponseAsync(cancellationToken);
        Assert.That(first!.Status, Is.EqualTo(status));
        Assert.That(second!.Status, Is.EqualTo(status), "the second response starts right after the first head");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task AStreamedBodyIsChunkedAndEachChunkLeavesAsItIsProduced(CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<ReadOnlyMemory<byte>>();
        var handler = new RecordingHandler(_ => ValueTask.FromResult(new ProxyResponse(200) { StreamingBody = channel.Reader }));
        await using var harness = new PipeHarness(handler);
        await harness.SendAsync("GET /s HTTP/1.1\r\nHost: a\r\n\r\n", cancellationToken);

        var head = await harness.ReadSomeAsync(cancellationToken);
        Assert.That(head, Does.StartWith("HTTP/1.1 200 OK").And.Contain("Transfer-Encoding: chunked"));
        await channel.Writer.WriteAsync("first"u8.ToArray(), cancellationToken);
        Assert.That(await harness.ReadSomeAsync(cancellationToken), Is.EqualTo("5\r\nfirst\r\n"));
        await channel.Writer.WriteAsync("second"u8.ToArray(), cancellationToken);
        Assert.That(await harness.ReadSomeAsync(cancellationToken), Is.EqualTo("6\r\nsecond\r\n"));
        channel.Writer.Complete();
        Assert.That(await harness.ReadSomeAsync(cancellationToken), Is.EqualTo("0\r\n\r\n"));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ConnectionCloseIsHonouredBothWays(CancellationToken cancellationToken)
    {
        await using (var harness = new PipeHarness(RecordingHandler.Echo()))
        {
            await harness.SendAsync("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", cancellationToken);
            var response = await harness.ReadResponseAsync(cancellationToken);
            Assert.That(response!.Header("Connection"), Is.EqualTo("close"));
            await harness.Run.WaitAsync(cancellationToken);
        }

        var closing = new RecordingHandler(_ => ValueTask.FromResult(new ProxyResponse(200) { CloseConnection = true }));
        await using (var harness = new PipeHarness(closing))
        {
            await harness.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n", cancellationToken);
            var response = await harness.ReadResponseAsync(cancellationToken);
            Assert.That(response!.Header("Connection"), Is.EqualTo("close"));
            await harness.Run.WaitAsync(cancellationToken);
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Http10WithoutKeepAliveIsClosedAfterTheResponse(CancellationToken cancellationToken)
    {
        await using var harness = new PipeHarness(RecordingHandler.Echo());
        await harness.SendAsync("GET /old HTTP/1.0\r\n\r\n", cancellationToken);
        var response = await harness.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Body, Is.EqualTo("GET /old "));
        await harness.Run.WaitAsync(cancellationToken);
    }

    [TestCase("GET / HTTP/1.1\r\n\r\n", 400)]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400)]
    [TestCase("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505)]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n", 413)]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n", 413)]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400)]
    [CancelAfter(10_000)]
    public async Task ABadRequestNeverReachesTheHandlerAndGetsItsStatusWithClose(string raw, int status, CancellationToken cancellationToken)
    {
        var handler = RecordingHandler.Echo();
        await using var harness = new PipeHarness(handler, new HttpListenerOptions { MaxBodyBytes = 10 });
        await harness.SendAsync(raw, cancellationToken);
        var response = await harness.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Status, Is.EqualTo(status));
        Assert.That(response.Header("Connection"), Is.EqualTo("close"));
        await harness.Run.WaitAsync(cancellationToken);
        Assert.That(handler.Calls, Is.Zero);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task AHandlerThatThrowsGives500AndTheConnectionGoesOn(CancellationToken cancellationToken)
    {
        var handler = new RecordingHandler(request => request.TargetString == "/boom"
            ? throw new InvalidOperationException("boom")
            : ValueTask.FromResult(new ProxyResponse(200) { Body = "ok"u8.ToArray() }));
        await using var harness = new PipeHarness(handler);
        await harness.SendAsync("GET /boom HTTP/1.1\r\nHost: a\r\n\r\nGET /fine HTTP/1.1\r\nHost: a\r\n\r\n", cancellationToken);
        Assert.That((await harness.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(500));
        Assert.That((await harness.ReadResponseAsync(cancellationToken))!.Body, Is.EqualTo("ok"));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task HandlerFramingHeadersAreReplacedAndResponseSplittingIsImpossible(CancellationToken cancellationToken)
    {
        var handler = new RecordingHandler(_ =>
        {
            var response = new ProxyResponse(200) { Body = "abc"u8.ToArray() };
            response.Headers.Add(new("Content-Length", "999"));
            response.Headers.Add(new("Transfer-Encoding", "chunked"));
            response.Headers.Add(new("X-Evil", "a\r\nSet-Cookie: injected=1"));
            return ValueTask.FromResult(response);
        });
        await using var harness = new PipeHarness(handler);
        await harness.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n", cancellationToken);
        var response = await harness.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Header("Content-Length"), Is.EqualTo("3"));
        Assert.That(response.Header("Transfer-Encoding"), Is.Null);
        Assert.That(response.Header("Set-Cookie"), Is.Null);
        Assert.That(response.Body, Is.EqualTo("abc"));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task HeadersNotCompleteInTimeGet408(CancellationToken cancellationToken)
    {
        var handler = RecordingHandler.Echo();
        await using var harness = new PipeHarness(handler, new HttpListenerOptions { HeadersTimeout = TimeSpan.FromMilliseconds(300) });
        await harness.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n", cancellationToken);
        var response = await harness.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Status, Is.EqualTo(408));
        await harness.Run.WaitAsync(cancellationToken);
        Assert.That(handler.Calls, Is.Zero);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ABodyThatStallsGets408SayingSo(CancellationToken cancellationToken)
    {
        var handler = RecordingHandler.Echo();
        await using var harness = new PipeHarness(handler, new HttpListenerOptions { BodyStallTimeout = TimeSpan.FromMilliseconds(300) });
        await harness.SendAsync("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", cancellationToken);
        var response = await harness.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Status, Is.EqualTo(408));
        Assert.That(response.Body, Does.Contain("body not received in time"), "not reported as a headers timeout");
        await harness.Run.WaitAsync(cancellationToken);
        Assert.That(handler.Calls, Is.Zero);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task AnIdleKeepAliveConnectionIsClosed(CancellationToken cancellationToken)
    {
        await using var harness = new PipeHarness(RecordingHandler.Echo(), new HttpListenerOptions { KeepAliveTimeout = TimeSpan.FromMilliseconds(300) });
        await harness.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n", cancellationToken);
        Assert.That((await harness.ReadResponseAsync(cancellationToken))!.Status, Is.EqualTo(200));
        await harness.Run.WaitAsync(cancellationToken);
        Assert.That(await harness.ReadResponseAsync(cancellationToken), Is.Null, "closed without another response");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task AStalledBodyClosesTheConnection(CancellationToken cancellationToken)
    {
        var handler = RecordingHandler.Echo();
        await using var harness = new PipeHarness(handler, new HttpListenerOptions { BodyStallTimeout = TimeSpan.FromMilliseconds(300) });
        await harness.SendAsync("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", cancellationToken);
        await harness.Run.WaitAsync(cancellationToken);
        Assert.That(handler.Calls, Is.Zero);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task StoppingClosesAnIdleConnectionAndLetsABusyOneFinish(CancellationToken cancellationToken)
    {
        var release = new TaskCompletionSource();
        var handler = new RecordingHandler(async _ =>
        {
            await release.Task;
            return new ProxyResponse(200) { Body = "done"u8.ToArray() };
        });
        await using var busy = new PipeHarness(handler);
        await busy.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n", cancellationToken);
        while (handler.Calls == 0)
        {
            await Task.Delay(10, cancellationToken);
        }

        busy.Manager.Stop();
        release.SetResult();
        var response = await busy.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Body, Is.EqualTo("done"));
        Assert.That(response.Header("Connection"), Is.EqualTo("close"));
        await busy.Run.WaitAsync(cancellationToken);

        await using var idle = new PipeHarness(RecordingHandler.Echo());
        while (!idle.Context.Idle)
        {
            await Task.Delay(5, cancellationToken); // parked between requests, where Stop closes it
        }

        idle.Manager.Stop();
        await idle.Run.WaitAsync(cancellationToken);
    }
}
