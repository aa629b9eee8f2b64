using System.Text.Json;

namespace LeanProxy.Engine;

/// <summary>
/// Something a tab's next batch carries to the page (one JSON array, see Runtime/runtime.js): a call that waits for the
/// page's answer (<see cref="PendingCall"/>: an HTTP request or a datagram), or a message of a raw connection
/// (<see cref="TcpMessage"/>). Every kind goes through the same queue and adaptive batching.
/// </summary>
internal abstract class TabItem(int id)
{
    /// <summary>The request, datagram or connection id (one id space per engine).</summary>
    public int Id { get; } = id;

    /// <summary>Payload bytes, for the size limit of one batch.</summary>
    public abstract int PayloadLength { get; }

    /// <summary>Writes the item as the page reads it.</summary>
    public abstract void Write(Utf8JsonWriter writer);
}
