using System.Text.Json;

namespace LeanProxy.Engine;

/// <summary>
/// A message of a raw connection to the page: it opened, bytes arrived, the client sent EOF, it was aborted, or bytes
/// the page wrote reached the socket (an ack that returns credit to the page's writer). Never retried or moved to
/// another tab: a connection lives and dies with its tab.
/// </summary>
internal sealed class TcpMessage : TabItem
{
    private TcpMessage(TcpSession session, int kind, ReadOnlyMemory<byte> data, long count)
        : base(session.Id)
    {
        Session = session;
        Kind = kind;
        Data = data;
        Count = count;
    }

    public TcpSession Session { get; }

    /// <summary>One of the Tcp* values of <see cref="ItemKinds"/>.</summary>
    public int Kind { get; }

    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Acknowledged bytes (for an ack).</summary>
    public long Count { get; }

    public override int PayloadLength => Data.Length;

    public static TcpMessage Open(TcpSession session) => new(session, ItemKinds.TcpOpen, default, 0);

    public static TcpMessage Bytes(TcpSession session, ReadOnlyMemory<byte> data) => new(session, ItemKinds.TcpData, data, 0);

    public static TcpMessage Eof(TcpSession session) => new(session, ItemKinds.TcpEof, default, 0);

    public static TcpMessage Abort(TcpSession session) => new(session, ItemKinds.TcpAbort, default, 0);

    public static TcpMessage Ack(TcpSession session, long count) => new(session, ItemKinds.TcpAck, default, count);

    public override void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(Id);
        writer.WriteNumberValue(Kind);
        switch (Kind)
        {
            case ItemKinds.TcpOpen:
                writer.WriteStringValue(Session.RemoteAddress);
                writer.WriteNumberValue(Session.RemotePort);
                break;
            case ItemKinds.TcpData:
                BatchWriter.WriteData(writer, Data.Span);
                break;
            case ItemKinds.TcpAck:
                writer.WriteNumberValue(Count);
                break;
        }

        writer.WriteEndArray();
    }
}
