using System.Text.Json;

namespace LeanProxy.Engine.Calls;

/// <summary>
/// Something a tab's next batch carries to the page (one host message, see <see cref="HostMessageKind"/>): a call that
/// waits for the page's answer (<see cref="PendingCall"/>: an HTTP request or a datagram), a message of a raw
/// connection (<see cref="Raw.TcpMessage"/>) or the flow control of a streamed body (<see cref="StreamControl"/>).
/// Every kind goes through the same queue and adaptive batching.
/// </summary>
internal abstract class TabItem(int id)
{
    /// <summary>The request, datagram, connection or streamed body id (one id space per app host).</summary>
    public int Id { get; } = id;

    /// <summary>Payload bytes, for the size limit of one batch.</summary>
    public abstract int PayloadLength { get; }

    /// <summary>
    /// Whether the item goes again when the page stopped its batch call (Runtime.terminateExecution) before it could
    /// be known to have run: true for what is safe to repeat. A connection's bytes are not (its stream would have a
    /// hole or a repeat: the connection ends instead).
    /// </summary>
    public virtual bool IsRepeatable => false;

    /// <summary>Writes the item as the page reads it (through <see cref="HostMessageWriter"/>).</summary>
    public abstract void Write(Utf8JsonWriter writer);
}
