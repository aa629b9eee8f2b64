using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;

namespace LeanProxy.Engine.Fetch;

/// <summary>
/// A subrequest's body on its way to the client without the page: the handler returned the subrequest's answer with
/// its body untouched (<see cref="PageMessageKind.ResponseFromFetch"/>), so the host reads it from the origin and the
/// listener writes it, a bounded channel between them (the client's pace holds the origin back). Disposed by the
/// listener when it is done: a client that went away aborts the subrequest.
/// </summary>
internal sealed class ForwardedBody(Subrequest subrequest) : ChannelReader<ReadOnlyMemory<byte>>, IDisposable
{
    /// <summary>Pieces of up to 64 KiB read from the origin and not yet written to the client: 1 MiB at most.</summary>
    private const int Capacity = 16;

    private readonly Channel<ReadOnlyMemory<byte>> _chunks = Channel.CreateBounded<ReadOnlyMemory<byte>>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    private int _disposed;

    public ChannelWriter<ReadOnlyMemory<byte>> Writer => _chunks.Writer;

    public override Task Completion => _chunks.Reader.Completion;

    public override bool TryRead([MaybeNullWhen(false)] out ReadOnlyMemory<byte> item) => _chunks.Reader.TryRead(out item);

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _chunks.Reader.WaitToReadAsync(cancellationToken);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _chunks.Reader.Completion.IsCompleted)
        {
            return;
        }

        subrequest.Abort();
        _chunks.Writer.TryComplete();
        while (_chunks.Reader.TryRead(out _))
        {
            // Dropped: the client is gone.
        }
    }
}
