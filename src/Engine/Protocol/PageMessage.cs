using LeanProxy.Listener;

namespace LeanProxy.Engine.Protocol;

/// <summary>One message from the page (see <see cref="PageMessageKind"/> for what each kind carries).</summary>
internal readonly record struct PageMessage(
    PageMessageKind Kind,
    int Id,
    ProxyResponse? Response = null,
    ReadOnlyMemory<byte> Data = default,
    HandlerFailure Failure = 0,
    string? ErrorMessage = null,
    string? ErrorStack = null,
    long Count = 0);

/// <summary>What one batch call returned: the messages answered within it (a payload for
/// <see cref="PageMessageReader.ReadMessages"/>, perhaps starting with its need), or the page-side exception that stopped it.</summary>
internal sealed class BatchReply
{
    public ReadOnlyMemory<byte> Payload { get; set; }

    public string? Exception { get; set; }
}
