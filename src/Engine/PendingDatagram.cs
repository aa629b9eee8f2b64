using System.Text.Json;

namespace LeanProxy.Engine;

/// <summary>One datagram on its way to <c>datagram(message, info, env, ctx)</c>; completed with the reply, or null for none.</summary>
internal sealed class PendingDatagram(int id, ReadOnlyMemory<byte> message, string remoteAddress, int remotePort, long deadline) : PendingCall(id, deadline)
{
    // Synchronous continuations, as for requests: the listener sends the reply at once (a non-blocking sendto).
    private readonly TaskCompletionSource<ReadOnlyMemory<byte>?> _completion = new();

    public ReadOnlyMemory<byte> Message { get; } = message;

    public string RemoteAddress { get; } = remoteAddress;

    public int RemotePort { get; } = remotePort;

    public Task<ReadOnlyMemory<byte>?> Task => _completion.Task;

    public override int PayloadLength => Message.Length;

    /// <summary>Sent again only when it never reached the page (a handler may have side effects).</summary>
    public override bool MayRetry => Attempts == 0;

    public override void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(Id);
        writer.WriteNumberValue(ItemKinds.Datagram);
        BatchWriter.WriteData(writer, Message.Span);
        writer.WriteStringValue(RemoteAddress);
        writer.WriteNumberValue(RemotePort);
        writer.WriteEndArray();
    }

    public bool TryComplete(ReadOnlyMemory<byte>? reply)
    {
        if (!TryMarkCompleted())
        {
            return false;
        }

        _completion.SetResult(reply);
        return true;
    }

    public override bool TryFail(int status, string message) => TryComplete(null);
}
