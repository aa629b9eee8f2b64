using System.Text.Json;

namespace LeanProxy.Engine.Raw;

/// <summary>
/// A message of a raw connection to the page: it opened, bytes arrived, the client sent EOF, it was aborted, or bytes
/// the page wrote reached the socket (an ack that returns credit to the page's writer). Never repeated or moved to
/// another tab: a connection lives and dies with its tab.
/// </summary>
internal sealed class TcpMessage : TabItem
{
    private TcpMessage(TcpSession session, HostMessageKind kind, ReadOnlyMemory<byte> data, long count)
        : base(session.Id)
    {
        Session = session;
        Kind = kind;
        Data = data;
        Count = count;
    }

    public TcpSession Session { get; }

    /// <summary>One of the Tcp* kinds of <see cref="HostMessageKind"/>.</summary>
    public HostMessageKind Kind { get; }

    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Acknowledged bytes (for an ack).</summary>
    public long Count { get; }

    public override int PayloadLength => Data.Length;

    public static TcpMessage Open(TcpSession session) => new(session, HostMessageKind.TcpOpen, default, 0);

    public static TcpMessage Bytes(TcpSession session, ReadOnlyMemory<byte> data) => new(session, HostMessageKind.TcpData, data, 0);

    public static TcpMessage Eof(TcpSession session) => new(session, HostMessageKind.TcpEof, default, 0);

    public static TcpMessage Abort(TcpSession session) => new(session, HostMessageKind.TcpAbort, default, 0);

    public static TcpMessage Ack(TcpSession session, long count) => new(session, HostMessageKind.TcpAck, default, count);

    public override void Write(Utf8JsonWriter writer)
    {
        switch (Kind)
        {
            case HostMessageKind.TcpOpen:
                HostMessageWriter.WriteTcpOpen(writer, Id, Session.RemoteAddress, Session.RemotePort);
                break;
            case HostMessageKind.TcpData:
                HostMessageWriter.WriteTcpData(writer, Id, Data.Span);
                break;
            case HostMessageKind.TcpAck:
                HostMessageWriter.WriteCount(writer, Kind, Id, Count);
                break;
            default:
                HostMessageWriter.WriteSignal(writer, Kind, Id);
                break;
        }
    }
}
