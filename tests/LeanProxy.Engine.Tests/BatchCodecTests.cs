using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using LeanProxy.Listener;
using LeanProxy.Engine.Calls;
using LeanProxy.Engine.Protocol;
using LeanProxy.Listener.Http;

namespace LeanProxy.Engine.Tests;

/// <summary>The request batch encoding (HostMessageWriter) and the response decoding (PageMessageReader), byte for byte.</summary>
public sealed class BatchCodecTests
{
    private static ProxyRequest Parse(string head, byte[]? body = null)
    {
        var request = new ProxyRequest();
        var ok = HttpParser.TryParseHead(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(head)), request, new HttpListenerOptions(), out _, out _);
        Assert.That(ok, Is.True);
        request.Body = body ?? [];
        request.RemoteEndPoint = new IPEndPoint(IPAddress.Parse("::ffff:10.1.2.3"), 4567);
        return request;
    }

    private static JsonElement Encode(params ProxyRequest[] requests)
    {
        var output = new ArrayBufferWriter<byte>();
        var batch = requests.Select((r, i) => new PendingRequest(i + 1, r, long.MaxValue)).ToList();
        HostMessageWriter.WriteBatch(output, batch);
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.That(text, Does.StartWith("__lp.d(").And.EndWith(")"));
        return JsonDocument.Parse(text["__lp.d(".Length..^1]).RootElement.Clone();
    }

    [Test]
    public void ARequestBecomesIdMethodUrlHeadersBodyAndClient()
    {
        var items = Encode(Parse("POST /a/b?x=%20y HTTP/1.1\r\nHost: example.test:8080\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 5\r\n\r\n", "hello"u8.ToArray()));
        var item = items[0];
        Assert.That(item[0].GetInt32(), Is.EqualTo((int)HostMessageKind.Request));
        Assert.That(item[1].GetInt32(), Is.EqualTo(1));
        Assert.That(item[2].GetString(), Is.EqualTo("POST"));
        Assert.That(item[3].GetString(), Is.EqualTo("http://example.test:8080/a/b?x=%20y"));
        Assert.That(item[4].EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "Host", "example.test:8080", "X-A", "1", "x-a", "2", "Content-Length", "5" }));
        Assert.That(item[5].GetString(), Is.EqualTo("hello"));
        Assert.That(item[6].GetInt32(), Is.EqualTo((int)BodyEncoding.Text));
        Assert.That(item[7].GetString(), Is.EqualTo("10.1.2.3"));
        Assert.That(item[8].GetInt32(), Is.EqualTo(4567));
    }

    [Test]
    public void ABinaryBodyGoesAsBase64()
    {
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var item = Encode(Parse("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 256\r\n\r\n", bytes))[0];
        Assert.That(item[6].GetInt32(), Is.EqualTo((int)BodyEncoding.Base64));
        Assert.That(Convert.FromBase64String(item[5].GetString()!), Is.EqualTo(bytes));
    }

    [Test]
    public void NonAsciiHeaderValuesGoAsLatin1ByteStrings()
    {
        var item = Encode(Parse("GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\u00e9\r\n\r\n"))[0];
        Assert.That(item[4][3].GetString(), Is.EqualTo("caf\u00e9"));
    }

    [Test]
    public void GetHasNoBodyAndAbsoluteFormIsKept()
    {
        var item = Encode(Parse("GET http://other.test/x HTTP/1.1\r\nHost: h\r\n\r\n"))[0];
        Assert.That(item[3].GetString(), Is.EqualTo("http://other.test/x"));
        Assert.That(item[5].ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(item[6].GetInt32(), Is.EqualTo((int)BodyEncoding.None));
    }

    [Test]
    public void ManyRequestsShareOneExpression()
    {
        var items = Encode(Parse("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"), Parse("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"));
        Assert.That(items.GetArrayLength(), Is.EqualTo(2));
        Assert.That(items[1][3].GetString(), Is.EqualTo("http://h/2"));
    }

    [Test]
    public void PageMessagesYieldResponses()
    {
        var json = """
            [
              [1,7,201,"Made",["content-type","text/plain","set-cookie","a=1","set-cookie","b=2"],"hi \u00e9",1],
              [1,8,200,"",[],"AAEC/w==",2],
              [1,9,204,"",[],null,0],
              [6,10,1,"Error: boom","Error: boom\n    at fetch"]
            ]
            """u8;
        var result = new { Messages = new List<PageMessage>() };
        PageMessageReader.ReadMessages(json, result.Messages);
        Assert.That(result.Messages, Has.Count.EqualTo(4));
        var first = result.Messages[0].Response!;
        Assert.That(first.StatusCode, Is.EqualTo(201));
        Assert.That(first.ReasonPhrase, Is.EqualTo("Made"));
        Assert.That(first.Headers.Where(h => h.Key == "set-cookie").Select(h => h.Value), Is.EqualTo(new[] { "a=1", "b=2" }));
        Assert.That(Encoding.UTF8.GetString(first.Body.Span), Is.EqualTo("hi \u00e9"));
        Assert.That(result.Messages[1].Response!.Body.ToArray(), Is.EqualTo(new byte[] { 0, 1, 2, 255 }));
        Assert.That(result.Messages[2].Response!.Body.IsEmpty, Is.True);
        Assert.That(result.Messages[3].Response, Is.Null);
        Assert.That(result.Messages[3].Kind, Is.EqualTo(PageMessageKind.HandlerError));
        Assert.That(result.Messages[3].Failure, Is.EqualTo(HandlerFailure.Threw));
        Assert.That(result.Messages[3].ErrorMessage, Is.EqualTo("Error: boom"));
    }

    [Test]
    public void AnEvaluateResultAsOneJsonStringYieldsTheSameResponses()
    {
        var json = """{"result":{"type":"string","value":"[[1,7,200,\"\",[\"a\",\"b\"],\"hi \\\"there\\\"\",1],[6,8,1,\"Error: x\",\"\"]]"}}"""u8;
        var result = PageMessageReader.ReadEvaluateResult(json);
        var messages = new List<PageMessage>();
        PageMessageReader.ReadMessages(result.Payload.Span, messages);
        Assert.That(messages, Has.Count.EqualTo(2));
        Assert.That(Encoding.UTF8.GetString(messages[0].Response!.Body.Span), Is.EqualTo("hi \"there\""));
        Assert.That(messages[1].ErrorMessage, Is.EqualTo("Error: x"));

        Assert.That(PageMessageReader.ReadEvaluateResult("""{"result":{"type":"string","value":""}}"""u8).Payload.IsEmpty, Is.True);
    }

    [TestCase("12;[[4,1]]", 12, "[[4,1]]")]
    [TestCase("[[4,1]]", 0, "[[4,1]]")]
    [TestCase("7", 0, "7", TestName = "ANumberWithoutItsSemicolonIsNoNeed")]
    [TestCase("", 0, "")]
    public void APayloadSaysWhichDataPlaneMessagesItNeeds(string payload, long need, string rest)
    {
        var span = (ReadOnlySpan<byte>)Encoding.ASCII.GetBytes(payload);
        Assert.That(PageMessageReader.ReadNeed(ref span), Is.EqualTo(need));
        Assert.That(Encoding.ASCII.GetString(span), Is.EqualTo(rest));
    }

    [Test]
    public void AnExceptionOfTheCallIsReported()
    {
        var json = """{"result":{"type":"object","subtype":"error","description":"Error: x"},"exceptionDetails":{"exceptionId":1,"text":"Uncaught","lineNumber":0,"columnNumber":0,"exception":{"type":"object","description":"Execution was terminated"}}}"""u8;
        var result = PageMessageReader.ReadEvaluateResult(json);
        Assert.That(result.Payload.IsEmpty, Is.True);
        Assert.That(result.Exception, Is.EqualTo("Execution was terminated"));
    }

    [Test]
    public void BindingPayloadsUseTheSameItems()
    {
        var items = new List<PageMessage>();
        PageMessageReader.ReadMessages("""[[1,3,200,"OK",["a","b"],"x",1],[2,4,200,"",["content-type","text/event-stream"]],[3,4,"data: 1\n\n",1],[4,4],[5,5,"TypeError: x"]]"""u8, items);
        Assert.That(items[0].Id, Is.EqualTo(3));
        Assert.That(items[0].Response!.Headers.Single(), Is.EqualTo(new KeyValuePair<string, string>("a", "b")));
        Assert.That(items.Select(i => i.Kind), Is.EqualTo(new[] { PageMessageKind.Response, PageMessageKind.ResponseHead, PageMessageKind.BodyChunk, PageMessageKind.BodyEnd, PageMessageKind.BodyError }));
        Assert.That(items[1].Response!.Body.IsEmpty, Is.True, "a streamed head carries no body");
        Assert.That(Encoding.UTF8.GetString(items[2].Data.Span), Is.EqualTo("data: 1\n\n"));
        Assert.That(items[4].ErrorMessage, Is.EqualTo("TypeError: x"));
    }

    [Test]
    public void AMessageOfUnknownKindIsRefused()
    {
        Assert.That(() => PageMessageReader.ReadMessages("[[99,1]]"u8, []), Throws.TypeOf<FormatException>().With.Message.Contains("99"));
    }
}
