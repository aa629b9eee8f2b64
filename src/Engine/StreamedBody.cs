using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Threading.Channels;

namespace LeanProxy.Engine;

/// <summary>
/// The body of a streamed response as the listener reads it. Chunks from the page queue in an unbounded channel, but
/// the page sends at most <c>STREAM_WINDOW</c> bytes (runtime.js) that the client's connection has not taken: as the
/// listener takes chunks, the taken bytes go back to the page as credit (<see cref="ItemKinds.StreamAck"/>), so a
/// handler that produces faster than its client reads is held back instead of filling the host's memory.
/// </summary>
/// <remarks>
/// Disposed by the listener when it is done with the body: if the body had not ended, the page is told to cancel the
/// handler's stream (<see cref="ItemKinds.StreamCancel"/>) and chunks still on their way are dropped.
/// </remarks>
internal sealed class StreamedBody : ChannelReader<ReadOnlyMemory<byte>>, IDisposable
{
    /// <summary>Taken bytes are acknowledged in steps of at least this many (one item per step, not per chunk).</summary>
    private const int AckEvery = 64 * 1024;

    private readonly TabWorker _tab;
    private readonly int _id;
    private readonly Channel<ReadOnlyMemory<byte>> _chunks =
        Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private long _taken;
    private int _disposed;

    public StreamedBody(TabWorker tab, int id)
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
        if (_taken >= AckEvery)
        {
            _tab.Enqueue(new StreamMessage(_id, ItemKinds.StreamAck, _taken));
            _taken = 0;
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

        _tab.AbandonStream(_id);
        _tab.Enqueue(new StreamMessage(_id, ItemKinds.StreamCancel, 0));
        _chunks.Writer.TryComplete();
        while (_chunks.Reader.TryRead(out _))
        {
            // Dropped: nobody will read them.
        }
    }

    /// <summary>[id, 16, bytes]: credit for the page's reader of a streamed body; [id, 17]: cancel it.</summary>
    private sealed class StreamMessage(int id, int kind, long count) : TabItem(id)
    {
        public override int PayloadLength => 0;

        public override void Write(Utf8JsonWriter writer)
        {
            writer.WriteStartArray();
            writer.WriteNumberValue(Id);
            writer.WriteNumberValue(kind);
            if (kind == ItemKinds.StreamAck)
            {
                writer.WriteNumberValue(count);
            }

            writer.WriteEndArray();
        }
    }
}
