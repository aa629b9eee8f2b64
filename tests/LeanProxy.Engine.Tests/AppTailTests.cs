using LeanProxy.Engine.Metrics;

namespace LeanProxy.Engine.Tests;

/// <summary>A live log's reader is bounded: a slow one loses lines (counted), never slows the publisher or buffers without bound.</summary>
public sealed class AppTailTests
{
    [Test]
    public void ASlowReaderLosesLinesWithACountAndTheOthersGetThemAll()
    {
        var stats = AppStats.For("tail-test-" + Guid.NewGuid().ToString("N")[..6]);
        Assert.That(stats.IsTailed, Is.False);
        using var slow = stats.Tail();
        using var fast = stats.Tail();
        Assert.That(stats.IsTailed, Is.True);

        var received = 0;
        for (var i = 0; i < TailSubscription.Capacity + 500; i++)
        {
            stats.Publish(new TailLine(DateTimeOffset.UtcNow, stats.App, "request", 0, string.Empty, "GET", "/" + i, 200, 1));
            while (fast.Lines.TryRead(out _))
            {
                received++;
            }
        }

        var kept = 0;
        while (slow.Lines.TryRead(out var line))
        {
            Assert.That(line.Path, Is.EqualTo("/" + kept), "in order, the first ones kept");
            kept++;
        }

        Assert.That((kept, slow.TakeDropped(), slow.TakeDropped()), Is.EqualTo((TailSubscription.Capacity, 500L, 0L)));
        Assert.That((received, fast.TakeDropped()), Is.EqualTo((TailSubscription.Capacity + 500, 0L)));
    }

    [Test]
    public void UntailedAppsMakeNoLines()
    {
        var stats = AppStats.For("tail-test-" + Guid.NewGuid().ToString("N")[..6]);
        var subscription = stats.Tail();
        subscription.Dispose();
        Assert.That(stats.IsTailed, Is.False);
        Assert.That(subscription.Lines.Completion.IsCompleted, Is.True);
    }
}
