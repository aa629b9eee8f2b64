using System.Text.Json;

namespace LeanProxy.Engine.Calls;

/// <summary>One datagram on its way to <c>datagram(message, info, env, ctx)</c>; completed with the reply, or null for none.</summary>
internal sealed class PendingDatagram(int id, ReadOnlyMemory<byte> message, string remoteAddress, int remotePort, long deadline,
    LeanProxy.Engine.Metrics.AppStats? stats = null) : PendingCall(id, deadline)
{
    private readonly long _started = stats is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();

    // Synchronous continuations, as for requests: the listener sends the reply at once (a non-blocking sendto).
    private readonly TaskCompletionSource<ReadOnlyMemory<byte>?> _completion = new();

    public ReadOnlyMemory<byte> Message { get; } = message;

    public string RemoteAddress { get; } = remoteAddress;

    public int RemotePort { get; } = remotePort;

    public string Remote => RemoteAddress + ":" + RemotePort;

    public Task<ReadOnlyMemory<byte>?> Task => _completion.Task;

    public override int PayloadLength => Message.Length;

    /// <summary>Sent again only when it never reached the page (a handler may have side effects).</summary>
    public override bool MayRetry => Attempts == 0;

    public override void Write(Utf8JsonWriter writer) => HostMessageWriter.WriteDatagram(writer, Id, Message.Span, RemoteAddress, RemotePort);

    public bool TryComplete(ReadOnlyMemory<byte>? reply)
    {
        if (!TryMarkCompleted())
        {
            return false;
        }

        stats?.Datagram(reply is not null, _started);
        _completion.SetResult(reply);
        return true;
    }

    public override bool TryFail(int status, string message) => TryComplete(null);
}
