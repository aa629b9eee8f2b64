using System.Text.Json;

namespace LeanProxy.Engine.Calls;

/// <summary>
/// Flow control of a streamed response body: <see cref="HostMessageKind.StreamAck"/> (the client's connection has
/// taken this many bytes in all: cumulative, so repeating it is harmless) or <see cref="HostMessageKind.StreamCancel"/>.
/// Both are repeated when their batch is stopped: a lost acknowledgement would stall the stream for good.
/// </summary>
internal sealed class StreamControl(int id, HostMessageKind kind, long taken) : TabItem(id)
{
    public HostMessageKind Kind { get; } = kind;

    public override int PayloadLength => 0;

    public override bool IsRepeatable => true;

    public override void Write(Utf8JsonWriter writer)
    {
        if (Kind == HostMessageKind.StreamAck)
        {
            HostMessageWriter.WriteCount(writer, Kind, Id, taken);
        }
        else
        {
            HostMessageWriter.WriteSignal(writer, Kind, Id);
        }
    }
}
