using System.Threading.Channels;

namespace LeanProxy.Engine.Metrics;

/// <summary>
/// A reader of an app's live log. Bounded: when it falls behind, new lines are dropped and counted
/// (<see cref="TakeDropped"/>) — a slow reader never slows the node nor makes it buffer without bound.
/// </summary>
public sealed class TailSubscription : IDisposable
{
    public const int Capacity = 1000;

    private readonly Channel<TailLine> _lines = Channel.CreateBounded<TailLine>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails, and the line is counted as dropped
        SingleReader = true,
    });

    private readonly Action<TailSubscription> _unsubscribe;
    private long _dropped;

    internal TailSubscription(Action<TailSubscription> unsubscribe) => _unsubscribe = unsubscribe;

    public ChannelReader<TailLine> Lines => _lines.Reader;

    /// <summary>Lines dropped since the last call.</summary>
    public long TakeDropped() => Interlocked.Exchange(ref _dropped, 0);

    internal void Offer(TailLine line)
    {
        if (!_lines.Writer.TryWrite(line))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    public void Dispose()
    {
        _unsubscribe(this);
        _lines.Writer.TryComplete();
    }
}
