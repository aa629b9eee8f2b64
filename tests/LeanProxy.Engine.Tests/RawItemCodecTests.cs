using System.Buffers;
using System.Text;
using System.Text.Json;
using LeanProxy.Engine.Calls;
using LeanProxy.Engine.Protocol;
using LeanProxy.Engine.Raw;

namespace LeanProxy.Engine.Tests;

/// <summary>The host messages and page messages of the raw drivers (datagrams, TCP connections) and of streamed bodies, byte for byte.</summary>
public sealed class RawItemCodecTests
{
    private static JsonElement Encode(params TabItem[] items)
    {
        var output = new ArrayBufferWriter<byte>();
        HostMessageWriter.WriteBatch(output, items);
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.That(text, Does.StartWith("__lp.d(").And.EndWith(")"));
        return JsonDocument.Parse(text["__lp.d(".Length..^1]).RootElement.Clone();
    }

    // The session's tab is not used to encode its messages.
    private static TcpSession Session(int id) => new(id, null!, null!, "10.1.2.3", 4567, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, "app");

    [Test]
    public void ADatagramBecomesKindIdDataAndSender()
    {
        var items = Encode(
            new PendingDatagram(5, "ping"u8.ToArray(), "10.1.2.3", 53, long.MaxValue),
            new PendingDatagram(6, new byte[] { 0, 255, 128 }, "::1", 54, long.MaxValue),
            new PendingDatagram(7, Array.Empty<byte>(), "10.1.2.3", 55, long.MaxValue));

        Assert.That(items[0].ToString(), Is.EqualTo("""[2,5,"ping",1,"10.1.2.3",53]"""));
        Assert.That(items[1][2].GetString(), Is.EqualTo(Convert.ToBase64String(new byte[] { 0, 255, 128 })));
        Assert.That(items[1][3].GetInt32(), Is.EqualTo((int)BodyEncoding.Base64), "binary goes as base64");
        Assert.That(items[2].ToString(), Is.EqualTo("""[2,7,"",1,"10.1.2.3",55]"""), "an empty datagram is an empty text");
    }

    [Test]
    public void ConnectionMessagesCarryTheirKindAndPayload()
    {
        var session = Session(9);
        var items = Encode(
            TcpMessage.Open(session),
            TcpMessage.Bytes(session, "abc"u8.ToArray()),
            TcpMessage.Bytes(session, new byte[] { 0xff }),
            TcpMessage.Eof(session),
            TcpMessage.Ack(session, 65536),
            TcpMessage.Abort(session));

        Assert.That(items.EnumerateArray().Select(e => e.GetRawText()), Is.EqualTo(new[]
        {
            """[3,9,"10.1.2.3",4567]""",
            """[4,9,"abc",1]""",
            """[4,9,"/w==",2]""",
            """[5,9]""",
            """[7,9,65536]""",
            """[6,9]""",
        }));
    }

    [Test]
    public void StreamControlCarriesTheTotalTakenAndIsRepeatable()
    {
        var ack = new StreamControl(4, HostMessageKind.StreamAck, 131072);
        var cancel = new StreamControl(4, HostMessageKind.StreamCancel, 0);
        var items = Encode(ack, cancel);
        Assert.That(items.EnumerateArray().Select(e => e.GetRawText()), Is.EqualTo(new[] { "[8,4,131072]", "[9,4]" }));
        Assert.That((ack.IsRepeatable, cancel.IsRepeatable), Is.EqualTo((true, true)), "a lost acknowledgement would stall the stream");
        Assert.That(TcpMessage.Bytes(Session(1), "x"u8.ToArray()).IsRepeatable, Is.False, "a connection's bytes are never repeated");
    }

    [Test]
    public void RequestsDatagramsAndConnectionMessagesShareOneBatch()
    {
        var items = Encode(new PendingDatagram(1, "x"u8.ToArray(), "a", 1, long.MaxValue), TcpMessage.Eof(Session(2)));
        Assert.That(items.GetArrayLength(), Is.EqualTo(2));
        Assert.That(items[0][0].GetInt32(), Is.EqualTo((int)HostMessageKind.Datagram));
        Assert.That(items[1][0].GetInt32(), Is.EqualTo((int)HostMessageKind.TcpEof));
    }

    [Test]
    public void PageMessagesOfTheRawDriversAreRead()
    {
        var items = new List<PageMessage>();
        PageMessageReader.ReadMessages("""[[7,1,"pong",1],[8,2],[7,3,"",1],[9,4,"AAE=",2],[10,4,65536],[11,4],[12,4],[13,5,"Error: x","at y"],[6,6,2,"datagram() must return …",""]]"""u8, items);

        Assert.That(items.Select(i => i.Kind), Is.EqualTo(new[]
        {
            PageMessageKind.DatagramReply, PageMessageKind.DatagramNoReply, PageMessageKind.DatagramReply,
            PageMessageKind.TcpWrite, PageMessageKind.TcpAck, PageMessageKind.TcpShutdownWrite, PageMessageKind.TcpClose,
            PageMessageKind.TcpError, PageMessageKind.HandlerError,
        }));
        Assert.That(items[0].Data.ToArray(), Is.EqualTo("pong"u8.ToArray()));
        Assert.That(items[2].Data.Length, Is.Zero, "an empty reply is still a reply");
        Assert.That(items[3].Data.ToArray(), Is.EqualTo(new byte[] { 0, 1 }));
        Assert.That(items[4].Count, Is.EqualTo(65536));
        Assert.That((items[7].ErrorMessage, items[7].ErrorStack), Is.EqualTo(("Error: x", "at y")));
        Assert.That(items[8].Failure, Is.EqualTo(HandlerFailure.BadReturn));
    }
}
