using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;

namespace LeanProxy.Host.Ops;

/// <summary>
/// A response body produced over time (server-sent events): bounded, so a slow client makes the producer drop (and
/// count) rather than buffer; disposed by the connection when the client goes away, which stops the producer.
/// </summary>
internal sealed class LiveBody : ChannelReader<ReadOnlyMemory<byte>>, IDisposable
{
    private readonly Channel<ReadOnlyMemory<byte>> _chunks = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(256)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
        SingleWriter = true,
    });

    private readonly CancellationTokenSource _gone = new();
    private readonly CancellationTokenRegistration _stopping;

    /// <param name="stopping">The server stopping: the body ends, so that draining does not wait for the client.</param>
    public LiveBody(CancellationToken stopping) => _stopping = stopping.Register(Dispose);

    /// <summary>Cancelled when the client is gone (or the body ended).</summary>
    public CancellationToken Gone => _gone.Token;

    /// <summary>Offers a chunk; false when the client is behind (the chunk is not sent).</summary>
    public bool TryWrite(ReadOnlyMemory<byte> chunk) => _chunks.Writer.TryWrite(chunk);

    public void Complete() => _chunks.Writer.TryComplete();

    public override bool TryRead([MaybeNullWhen(false)] out ReadOnlyMemory<byte> item) => _chunks.Reader.TryRead(out item);

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => _chunks.Reader.WaitToReadAsync(cancellationToken);

    public void Dispose()
    {
        _chunks.Writer.TryComplete();
        _gone.Cancel();
        _stopping.Dispose();
    }
}
