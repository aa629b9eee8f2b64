using System.Text;
using System.Text.Json;
using LeanProxy.Cdp.Protocol;

namespace LeanProxy.Cdp.Tests;

/// <summary>The connection core against a scripted fake Chrome, over the pipe transport and over a WebSocket.</summary>
[TestFixture(FakeChrome.Pipe)]
[TestFixture(FakeChrome.WebSocket)]
public sealed class CdpConnectionTests(string transport)
{
    private static string Reply(JsonElement command, string rest) =>
        "{\"id\":" + command.GetProperty("id").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture) + "," + rest + "}";

    private static Task<string> EvaluateAsync(CdpConnection connection, string expression, string? session, CancellationToken cancellationToken) =>
        connection.SendAsync(
            CdpMethods.RuntimeEvaluate,
            expression,
            static (writer, text) => writer.WriteString("expression", text),
            static json => Encoding.UTF8.GetString(json),
            session,
            cancellationToken).AsTask();

    [Test]
    [CancelAfter(10_000)]
    public async Task RepliesArriveOutOfOrderAndEachFindsItsCall(CancellationToken cancellationToken)
    {
        await using var chrome = new FakeChrome(transport);
        chrome.Connection.Start();
        var first = EvaluateAsync(chrome.Connection, "1", null, cancellationToken);
        var second = EvaluateAsync(chrome.Connection, "2", null, cancellationToken);
        var a = await chrome.NextCommandAsync(cancellationToken);
        var b = await chrome.NextCommandAsync(cancellationToken);
        Assert.That(a.GetProperty("method").GetString(), Is.EqualTo("Runtime.evaluate"));
        Assert.That(a.GetProperty("params").GetProperty("expression").GetString(), Is.EqualTo("1"));
        Assert.That(b.GetProperty("id").GetInt32(), Is.GreaterThan(a.GetProperty("id").GetInt32()), "one id counter");

        await chrome.SendAsync(Reply(b, "\"result\":{\"v\":2}"), cancellationToken);
        await chrome.SendAsync(Reply(a, "\"result\":{\"v\":1}"), cancellationToken);
        Assert.That(await second, Is.EqualTo("""{"v":2}"""));
        Assert.That(await first, Is.EqualTo("""{"v":1}"""));
        Assert.That(chrome.Connection.PendingCount, Is.Zero);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task AnErrorReplyBecomesACdpExceptionWithMethodCodeAndMessage(CancellationToken cancellationToken)
    {
        await using var chrome = new FakeChrome(transport);
        chrome.Connection.Start();
        var call = EvaluateAsync(chrome.Connection, "x", "S1", cancellationToken);
        var command = await chrome.NextCommandAsync(cancellationToken);
        Assert.That(command.GetProperty("sessionId").GetString(), Is.EqualTo("S1"));
        await chrome.SendAsync(Reply(command, "\"error\":{\"code\":-32000,\"message\":\"No \\\"target\\\" with given id\"},\"sessionId\":\"S1\""), cancellationToken);
        var error = Assert.ThrowsAsync<CdpException>(async () => await call);
        Assert.That(error!.Method, Is.EqualTo("Runtime.evaluate"));
        Assert.That(error.Code, Is.EqualTo(-32000));
        Assert.That(error.ProtocolMessage, Is.EqualTo("No \"target\" with given id"));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task UnknownIdsAndEventsForUnknownSessionsAreIgnored(CancellationToken cancellationToken)
    {
        await using var chrome = new FakeChrome(transport);
        var seen = new List<string?>();
        chrome.Connection.Subscribe("Runtime.bindingCalled", "S1", (json, session) => { lock (seen) { seen.Add(session + ":" + Encoding.UTF8.GetString(json)); } });
        chrome.Connection.Start();
        await chrome.SendAsync("""{"id":999,"result":{}}""", cancellationToken);
        await chrome.SendAsync("""{"method":"Runtime.bindingCalled","params":{"n":0},"sessionId":"S9"}""", cancellationToken);
        await chrome.SendAsync("""{"method":"Runtime.consoleAPICalled","params":{"n":1},"sessionId":"S1"}""", cancellationToken);
        await chrome.SendAsync("""{"method":"Runtime.bindingCalled","params":{"n":2},"sessionId":"S1"}""", cancellationToken);
        var call = EvaluateAsync(chrome.Connection, "after", null, cancellationToken);
        var command = await chrome.NextCommandAsync(cancellationToken);
        await chrome.SendAsync(Reply(command, "\"result\":{}"), cancellationToken);
        await call;
        lock (seen)
        {
            Assert.That(seen, Is.EqualTo(new[] { """S1:{"n":2}""" }), "only the subscribed method on the subscribed session");
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task CloseFaultsEveryPendingCallWithTheReason(CancellationToken cancellationToken)
    {
        await using var chrome = new FakeChrome(transport);
        chrome.Connection.Start();
        var calls = Enumerable.Range(0, 3).Select(i => EvaluateAsync(chrome.Connection, i.ToString(System.Globalization.CultureInfo.InvariantCulture), null, cancellationToken)).ToArray();
        chrome.Connection.Close(CdpCloseReason.Closed, null);
        chrome.Connection.Close(CdpCloseReason.TransportError, null); // idempotent: the first reason stays
        foreach (var call in calls)
        {
            var error = Assert.ThrowsAsync<CdpClosedException>(async () => await call);
            Assert.That(error!.Reason, Is.EqualTo(CdpCloseReason.Closed));
        }

        Assert.That(chrome.Connection.PendingCount, Is.Zero);
        Assert.That(await chrome.Connection.Closed, Is.EqualTo(CdpCloseReason.Closed));
        Assert.ThrowsAsync<CdpClosedException>(async () => await EvaluateAsync(chrome.Connection, "late", null, cancellationToken));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task TheBrowserGoingAwayFaultsPendingCallsAsBrowserGone(CancellationToken cancellationToken)
    {
        await using var chrome = new FakeChrome(transport);
        chrome.Connection.Start();
        var call = EvaluateAsync(chrome.Connection, "1", null, cancellationToken);
        await chrome.NextCommandAsync(cancellationToken);
        await chrome.CloseAsync();
        var error = Assert.ThrowsAsync<CdpClosedException>(async () => await call);
        Assert.That(error!.Reason, Is.EqualTo(CdpCloseReason.BrowserGone));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task CancellationRemovesThePendingEntry(CancellationToken cancellationToken)
    {
        await using var chrome = new FakeChrome(transport);
        chrome.Connection.Start();
        using var cancel = new CancellationTokenSource();
        var call = EvaluateAsync(chrome.Connection, "1", null, cancel.Token);
        var command = await chrome.NextCommandAsync(cancellationToken);
        Assert.That(chrome.Connection.PendingCount, Is.EqualTo(1));
        await cancel.CancelAsync();
        Assert.That(async () => await call, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(chrome.Connection.PendingCount, Is.Zero);

        // The late reply for the cancelled id is dropped, and the connection keeps working.
        await chrome.SendAsync(Reply(command, "\"result\":{}"), cancellationToken);
        var next = EvaluateAsync(chrome.Connection, "2", null, cancellationToken);
        var nextCommand = await chrome.NextCommandAsync(cancellationToken);
        await chrome.SendAsync(Reply(nextCommand, "\"result\":{\"ok\":true}"), cancellationToken);
        Assert.That(await next, Is.EqualTo("""{"ok":true}"""));
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task FramesSplitAcrossReadsAtEveryByteAreReassembled(CancellationToken cancellationToken)
    {
        await using var chrome = new FakeChrome(transport);
        var payloads = new List<string>();
        chrome.Connection.Subscribe("Test.event", null, (json, _) => { lock (payloads) { payloads.Add(Encoding.UTF8.GetString(json)); } });
        chrome.Connection.Start();
        var frames = Enumerable.Range(0, 20).Select(i => "{\"method\":\"Test.event\",\"params\":{\"i\":" + i + ",\"s\":\"" + new string('x', i * 7) + "\"}}").ToArray();
        var bytes = frames.SelectMany(f => Encoding.UTF8.GetBytes(f).Append((byte)0)).ToArray();
        var random = new Random(7);
        for (var offset = 0; offset < bytes.Length;)
        {
            var take = offset < 200 ? 1 : Math.Min(random.Next(1, 40), bytes.Length - offset);
            await chrome.WriteRawAsync(bytes[offset..(offset + take)], cancellationToken);
            offset += take;
            if (offset < 200)
            {
                await Task.Delay(1, cancellationToken);
            }
        }

        while (true)
        {
            lock (payloads)
            {
                if (payloads.Count == frames.Length)
                {
                    break;
                }
            }

            await Task.Delay(10, cancellationToken);
        }

        Assert.That(payloads.Select(p => JsonDocument.Parse(p).RootElement.GetProperty("i").GetInt32()), Is.EqualTo(Enumerable.Range(0, 20)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task A32MiBMessageRoundTrips(CancellationToken cancellationToken)
    {
        await using var chrome = new FakeChrome(transport);
        chrome.Connection.Start();
        var big = new string('a', 32 * 1024 * 1024);
        var call = chrome.Connection.SendAsync(
            CdpMethods.RuntimeEvaluate,
            big,
            static (writer, text) => writer.WriteString("expression", text),
            static json =>
            {
                var reader = new Utf8JsonReader(json);
                reader.Read();
                reader.Read();
                reader.Read();
                return reader.GetString()!.Length;
            },
            null,
            cancellationToken);
        var command = await chrome.NextCommandAsync(cancellationToken);
        Assert.That(command.GetProperty("params").GetProperty("expression").GetString()!.Length, Is.EqualTo(big.Length));
        await chrome.SendAsync(Reply(command, "\"result\":{\"value\":\"" + big + "\"}"), cancellationToken);
        Assert.That(await call, Is.EqualTo(big.Length));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ACrashedTargetFailsItsPendingCallsAtOnceAndEndsItsSession(CancellationToken cancellationToken)
    {
        await using var chrome = new FakeChrome(transport);
        chrome.Connection.Start();
        var attach = chrome.Connection.AttachAsync("T1", cancellationToken);
        var attachCommand = await chrome.NextCommandAsync(cancellationToken);
        await chrome.SendAsync(Reply(attachCommand, "\"result\":{\"sessionId\":\"S1\"}"), cancellationToken);
        var session = await attach;

        var other = EvaluateAsync(chrome.Connection, "other", "S2", cancellationToken);
        var doomed = EvaluateAsync(chrome.Connection, "doomed", "S1", cancellationToken);
        await chrome.NextCommandAsync(cancellationToken);
        await chrome.NextCommandAsync(cancellationToken);
        await chrome.SendAsync("""{"method":"Inspector.targetCrashed","params":{},"sessionId":"S1"}""", cancellationToken);

        var error = Assert.ThrowsAsync<CdpClosedException>(async () => await doomed);
        Assert.That(error!.Reason, Is.EqualTo(CdpCloseReason.TargetCrashed));
        Assert.That(await session.Ended.WaitAsync(cancellationToken), Is.EqualTo(CdpCloseReason.TargetCrashed));
        Assert.That(other.IsCompleted, Is.False, "other sessions are not affected");
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task TargetCrashedAndDetachedEventsEndTheSession(CancellationToken cancellationToken)
    {
        await using var chrome = new FakeChrome(transport);
        chrome.Connection.Start();
        async Task<CdpSession> AttachAsync(string target, string session)
        {
            var attach = chrome.Connection.AttachAsync(target, cancellationToken);
            var command = await chrome.NextCommandAsync(cancellationToken);
            await chrome.SendAsync(Reply(command, "\"result\":{\"sessionId\":\"" + session + "\"}"), cancellationToken);
            return await attach;
        }

        var crashed = await AttachAsync("T1", "S1");
        var detached = await AttachAsync("T2", "S2");
        await chrome.SendAsync("""{"method":"Target.targetCrashed","params":{"targetId":"T1","status":"killed","errorCode":9}}""", cancellationToken);
        await chrome.SendAsync("""{"method":"Target.detachedFromTarget","params":{"sessionId":"S2","targetId":"T2"}}""", cancellationToken);
        Assert.That(await crashed.Ended.WaitAsync(cancellationToken), Is.EqualTo(CdpCloseReason.TargetCrashed));
        Assert.That(await detached.Ended.WaitAsync(cancellationToken), Is.EqualTo(CdpCloseReason.SessionDetached));
    }
}
