using System.Buffers;
using System.Text;
using System.Text.Json;

namespace LeanProxy.Engine.Tests;

/// <summary>The batch items and page answers of the raw drivers (datagrams, TCP connections), byte for byte.</summary>
public sealed class RawItemCodecTests
{
    private static JsonElement Encode(params TabItem[] items)
    {
        var output = new ArrayBufferWriter<byte>();
        BatchWriter.Write(output, items);
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.That(text, Does.StartWith("__lp.d(").And.EndWith(")"));
        return JsonDocument.Parse(text["__lp.d(".Length..^1]).RootElement.Clone();
    }

    // The session's tab is not used to encode its messages.
    private static TcpSession Session(int id) => new(id, null!, null!, "10.1.2.3", 4567, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, "app");

    [Test]
    public void ADatagramBecomesIdKindDataAndSender()
    {
        var items = Encode(
            new PendingDatagram(5, "ping"u8.ToArray(), "10.1.2.3", 53, long.MaxValue),
            new PendingDatagram(6, new byte[] { 0, 255, 128 }, "::1", 54, long.MaxValue),
            new PendingDatagram(7, Array.Empty<byte>(), "10.1.2.3", 55, long.MaxValue));

        Assert.That(items[0].ToString(), Is.EqualTo("""[5,10,"ping",1,"10.1.2.3",53]"""));
        Assert.That(items[1][2].GetString(), Is.EqualTo(Convert.ToBase64String(new byte[] { 0, 255, 128 })));
        Assert.That(items[1][3].GetInt32(), Is.EqualTo(2), "binary goes as base64");
        Assert.That(items[2].ToString(), Is.EqualTo("""[7,10,"",1,"10.1.2.3",55]"""), "an empty datagram is an empty text");
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
            """[9,11,"10.1.2.3",4567]""",
            """[9,12,"abc",1]""",
            """[9,12,"/w==",2]""",
            """[9,13]""",
            """[9,15,65536]""",
            """[9,14]""",
        }));
    }

    [Test]
    public void RequestsDatagramsAndConnectionMessagesShareOneBatch()
    {
        var items = Encode(new PendingDatagram(1, "x"u8.ToArray(), "a", 1, long.MaxValue), TcpMessage.Eof(Session(2)));
        Assert.That(items.GetArrayLength(), Is.EqualTo(2));
        Assert.That(items[0][1].GetInt32(), Is.EqualTo(ItemKinds.Datagram));
        Assert.That(items[1][1].GetInt32(), Is.EqualTo(ItemKinds.TcpEof));
    }

    [Test]
    public void PageAnswersOfTheRawDriversAreRead()
    {
        var items = new List<ResponseItem>();
        ResponseReader.ReadItems("""[[1,-10,"pong",1],[2,-10,null,0],[3,-10,"",1],[4,-20,"AAE=",2],[4,-21,65536],[4,-22],[4,-23],[5,-24,"Error: x","at y"],[6,0,"throw","Error: z",""]]"""u8, items);

        Assert.That(items.Select(i => i.Kind), Is.EqualTo(new[]
        {
            ResponseItemKind.DatagramReply, ResponseItemKind.DatagramNoReply, ResponseItemKind.DatagramReply,
            ResponseItemKind.TcpWrite, ResponseItemKind.TcpAck, ResponseItemKind.TcpShutdownWrite, ResponseItemKind.TcpClose,
            ResponseItemKind.TcpError, ResponseItemKind.Failed,
        }));
        Assert.That(items[0].Data.ToArray(), Is.EqualTo("pong"u8.ToArray()));
        Assert.That(items[2].Data.Length, Is.Zero, "an empty reply is still a reply");
        Assert.That(items[3].Data.ToArray(), Is.EqualTo(new byte[] { 0, 1 }));
        Assert.That(items[4].Count, Is.EqualTo(65536));
        Assert.That((items[7].ErrorMessage, items[7].ErrorStack), Is.EqualTo(("Error: x", "at y")));
        Assert.That(items[8].ErrorMessage, Is.EqualTo("Error: z"));
    }
}
