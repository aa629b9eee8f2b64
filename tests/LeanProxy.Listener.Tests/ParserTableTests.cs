using System.Buffers;
using System.Text;
using LeanProxy.Listener.Http;

namespace LeanProxy.Listener.Tests;

/// <summary>
/// The request-head parser against a table of valid and invalid heads, each replayed whole, split into two segments
/// at every byte, and as every prefix (a prefix of a valid head is "need more bytes" and consumes nothing).
/// </summary>
public sealed class ParserTableTests
{
    private static readonly HttpListenerOptions Limits = new();

    public static IEnumerable<TestCaseData> ValidHeads()
    {
        yield return new TestCaseData("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", HttpVersion.Http11, true, BodyKind.None, 0L).SetName("simple GET");
        yield return new TestCaseData("GET /p?q=%20x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n", "GET", "/p?q=%20x", HttpVersion.Http11, true, BodyKind.None, 0L).SetName("repeated names, raw query");
        yield return new TestCaseData("GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET", "http://example.com/x", HttpVersion.Http11, true, BodyKind.None, 0L).SetName("absolute-form");
        yield return new TestCaseData("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", "*", HttpVersion.Http11, true, BodyKind.None, 0L).SetName("OPTIONS *");
        yield return new TestCaseData("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", "POST", "/u", HttpVersion.Http11, true, BodyKind.ContentLength, 5L).SetName("Content-Length");
        yield return new TestCaseData("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", "POST", "/u", HttpVersion.Http11, true, BodyKind.ContentLength, 5L).SetName("identical Content-Length list");
        yield return new TestCaseData("POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", "/u", HttpVersion.Http11, true, BodyKind.Chunked, 0L).SetName("chunked");
        yield return new TestCaseData("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "GET", "/", HttpVersion.Http11, false, BodyKind.None, 0L).SetName("Connection: close");
        yield return new TestCaseData("GET / HTTP/1.0\r\n\r\n", "GET", "/", HttpVersion.Http10, false, BodyKind.None, 0L).SetName("HTTP/1.0 closes");
        yield return new TestCaseData("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET", "/", HttpVersion.Http10, true, BodyKind.None, 0L).SetName("HTTP/1.0 keep-alive");
        yield return new TestCaseData("PURGE /c HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv \t\r\n\r\n", "PURGE", "/c", HttpVersion.Http11, true, BodyKind.None, 0L).SetName("custom method, OWS trimmed");
        yield return new TestCaseData("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/", HttpVersion.Http11, true, BodyKind.None, 0L).SetName("leading empty line");
    }

    public static IEnumerable<TestCaseData> InvalidHeads()
    {
        yield return new TestCaseData("GET / HTTP/1.1\r\n\r\n", 400).SetName("missing Host");
        yield return new TestCaseData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400).SetName("repeated Host");
        yield return new TestCaseData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400).SetName("CL and TE");
        yield return new TestCaseData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400).SetName("differing CL");
        yield return new TestCaseData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n", 400).SetName("differing CL list");
        yield return new TestCaseData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400).SetName("negative CL");
        yield return new TestCaseData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400).SetName("invalid CL");
        yield return new TestCaseData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501).SetName("unknown coding");
        yield return new TestCaseData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400).SetName("chunked twice");
        yield return new TestCaseData("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400).SetName("obs-fold");
        yield return new TestCaseData("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400).SetName("space before colon");
        yield return new TestCaseData("GET / HTTP/1.1\r\nHost: a\r\nX: a\u0001b\r\n\r\n", 400).SetName("control character");
        yield return new TestCaseData("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400).SetName("bare CR");
        yield return new TestCaseData("GET / HTTP/1.1\nHost: a\r\n\r\n", 400).SetName("bare LF");
        yield return new TestCaseData("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400).SetName("no colon");
        yield return new TestCaseData("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400).SetName("double space");
        yield return new TestCaseData("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400).SetName("bad method");
        yield return new TestCaseData("GET nope HTTP/1.1\r\nHost: a\r\n\r\n", 400).SetName("bad target");
        yield return new TestCaseData("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400).SetName("* without OPTIONS");
        yield return new TestCaseData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505).SetName("HTTP/2 preface");
        yield return new TestCaseData("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505).SetName("unknown version");
        yield return new TestCaseData("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400).SetName("garbage version");
        yield return new TestCaseData("GET /" + new string('a', 8 * 1024) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414).SetName("request line over 8 KiB");
        yield return new TestCaseData("GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('b', 33 * 1024) + "\r\n\r\n", 431).SetName("headers over 32 KiB");
        yield return new TestCaseData("GET / HTTP/1.1\r\nHost: a\r\n" + string.Concat(Enumerable.Range(0, 101).Select(i => $"X-{i}: v\r\n")) + "\r\n", 431).SetName("101 fields");
        yield return new TestCaseData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10485761\r\n\r\n", 413).SetName("body over the limit");
    }

    [TestCaseSource(nameof(ValidHeads))]
    public void AValidHeadParsesWholeSplitAndNotAsAnyPrefix(string head, string method, string target, HttpVersion version, bool keepAlive, BodyKind body, long length)
    {
        var bytes = Encoding.Latin1.GetBytes(head + "NEXT");
        foreach (var sequence in Replays(bytes))
        {
            var request = new ProxyRequest();
            Assert.That(HttpParser.TryParseHead(sequence, request, Limits, out var end, out var framing), Is.True);
            Assert.That(request.Method, Is.EqualTo(method));
            Assert.That(request.TargetString, Is.EqualTo(target));
            Assert.That(request.Version, Is.EqualTo(version));
            Assert.That(framing.KeepAlive, Is.EqualTo(keepAlive));
            Assert.That(framing.Body, Is.EqualTo(body));
            Assert.That(framing.ContentLength, Is.EqualTo(length));
            Assert.That(Encoding.ASCII.GetString(sequence.Slice(end).ToArray()), Is.EqualTo("NEXT"), "the head ends where the next bytes begin");
        }

        for (var prefix = 0; prefix < head.Length; prefix++)
        {
            var request = new ProxyRequest();
            var sequence = new ReadOnlySequence<byte>(bytes, 0, prefix);
            Assert.That(HttpParser.TryParseHead(sequence, request, Limits, out var end, out _), Is.False, $"prefix of {prefix} bytes");
            Assert.That(sequence.Slice(end).Length, Is.EqualTo(prefix), "nothing consumed");
        }
    }

    [TestCaseSource(nameof(InvalidHeads))]
    public void AnInvalidHeadIsRejectedWithItsStatusWholeAndSplit(string head, int status)
    {
        var bytes = Encoding.Latin1.GetBytes(head);
        foreach (var sequence in Replays(bytes))
        {
            var error = Assert.Throws<BadHttpRequestException>(() => HttpParser.TryParseHead(sequence, new ProxyRequest(), Limits, out _, out _));
            Assert.That(error!.StatusCode, Is.EqualTo(status));
        }

        // Every prefix either waits for more bytes or already knows the head is bad, with the same status.
        for (var prefix = 0; prefix < bytes.Length; prefix++)
        {
            try
            {
                Assert.That(HttpParser.TryParseHead(new ReadOnlySequence<byte>(bytes, 0, prefix), new ProxyRequest(), Limits, out _, out _), Is.False);
            }
            catch (BadHttpRequestException early)
            {
                Assert.That(early.StatusCode, Is.EqualTo(status), $"prefix of {prefix} bytes");
            }
        }
    }

    [Test]
    public void HeadersKeepOrderCaseAndRepeatedNames()
    {
        var request = new ProxyRequest();
        var head = "GET / HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nx-one: 2\r\nContent-Type: text/plain\r\n\r\n"u8.ToArray();
        Assert.That(HttpParser.TryParseHead(new ReadOnlySequence<byte>(head), request, Limits, out _, out _), Is.True);
        var names = Enumerable.Range(0, request.HeaderCount).Select(i => Encoding.ASCII.GetString(request.HeaderName(i))).ToArray();
        var values = Enumerable.Range(0, request.HeaderCount).Select(i => Encoding.ASCII.GetString(request.HeaderValue(i))).ToArray();
        Assert.That(names, Is.EqualTo(new[] { "Host", "X-One", "x-one", "Content-Type" }));
        Assert.That(values, Is.EqualTo(new[] { "h", "1", "2", "text/plain" }));
        Assert.That(Encoding.ASCII.GetString(request.Host), Is.EqualTo("h"));
    }

    [Test]
    public void LimitsAreConfigurable()
    {
        var tight = new HttpListenerOptions { MaxRequestLineBytes = 16, MaxHeaderCount = 1 };
        var longLine = Encoding.ASCII.GetBytes("GET /0123456789abcdef HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.That(Assert.Throws<BadHttpRequestException>(() => HttpParser.TryParseHead(new ReadOnlySequence<byte>(longLine), new ProxyRequest(), tight, out _, out _))!.StatusCode, Is.EqualTo(414));
        var twoFields = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n");
        Assert.That(Assert.Throws<BadHttpRequestException>(() => HttpParser.TryParseHead(new ReadOnlySequence<byte>(twoFields), new ProxyRequest(), tight, out _, out _))!.StatusCode, Is.EqualTo(431));
    }

    /// <summary>The bytes as one segment, and split into two segments at every position.</summary>
    internal static IEnumerable<ReadOnlySequence<byte>> Replays(byte[] bytes)
    {
        yield return new ReadOnlySequence<byte>(bytes);
        for (var split = 1; split < bytes.Length; split++)
        {
            yield return Segments.Split(bytes, split);
        }
    }
}
