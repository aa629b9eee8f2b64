using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using LeanProxy.Engine.Tabs;

namespace LeanProxy.Engine.Calls;

/// <summary>
/// The body of a streamed response as the listener reads it. Chunks from the page queue in an unbounded channel, but
/// the page sends at most <c>STREAM_WINDOW</c> bytes (Runtime/streams.js) that the client's connection has not taken:
/// as the listener takes chunks, the total taken goes back to the page (<see cref="HostMessageKind.StreamAck"/>), so a
/// handler that produces faster than its client reads is held back instead of filling the host's memory.
/// </summary>
/// <remarks>
/// Disposed by the listener when it is done with the body: if the body had not ended, the page is told to cancel the
/// handler's stream (<see cref="HostMessageKind.StreamCancel"/>) and chunks still on their way are dropped.
/// </remarks>
internal sealed class StreamedBody : ChannelReader<ReadOnlyMemory<byte>>, IDisposable
{
    /// <summary>Taken bytes are acknowledged in steps of at least this many (one message per step, not per chunk).</summary>
    private const int AckEvery = 64 * 1024;

    private readonly Tab _tab;
    private readonly int _id;
    private readonly Channel<ReadOnlyMemory<byte>> _chunks =
        Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private long _taken;
    private long _acknowledged;
    private int _disposed;

    public StreamedBody(Tab tab, int id)
    {
        _tab = tab;
        _id = id;
    }

    public ChannelWriter<ReadOnlyMemory<byte>> Writer => _chunks.Writer;

    public override Task Completion => _chunks.Reader.Completion;

    public override bool TryRead([MaybeNullWhen(false)] out ReadOnlyMemory<byte> item)
    {
        if (!_chunks.Reader.TryRead(out item))
        {
            return false;
        }

        _taken += item.Length;
        if (_taken - _acknowledged >= AckEvery)
        {
            _acknowledged = _taken;
            _tab.Enqueue(new StreamControl(_id, HostMessageKind.StreamAck, _taken));
        }

        return true;
    }

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _chunks.Reader.WaitToReadAsync(cancellationToken);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _chunks.Reader.Completion.IsCompleted)
        {
            return;
        }

        _tab.Router.AbandonStream(_id);
        _tab.Enqueue(new StreamControl(_id, HostMessageKind.StreamCancel, 0));
        _chunks.Writer.TryComplete();
        while (_chunks.Reader.TryRead(out _))
        {
            // Dropped: nobody will read them.
        }
    }
}
