namespace LeanProxy.Listener.Tests;

/// <summary>The connection manager's heartbeat: it enforces deadlines while connections are open and sleeps without them.</summary>
public sealed class ConnectionManagerTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task TheHeartbeatSleepsWithoutConnectionsAndWakesForANewOneWhoseDeadlineItEnforces(CancellationToken cancellationToken)
    {
        using var manager = new ConnectionManager(TimeSpan.FromMilliseconds(10));
        Assert.That(manager.IsAsleep, Is.True, "no connection yet: nothing wakes");

        var first = manager.Register(() => { });
        Assert.That(manager.IsAsleep, Is.False);
        first.Dispose();
        while (!manager.IsAsleep)
        {
            await Task.Delay(5, cancellationToken); // the next beat finds no connection and sleeps
        }

        var timedOut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var second = manager.Register(() => timedOut.TrySetResult());
        Assert.That(manager.IsAsleep, Is.False, "a new connection wakes it");
        second.SetTimeout(TimeoutKind.KeepAlive, TimeSpan.FromMilliseconds(20));
        await timedOut.Task.WaitAsync(cancellationToken);
        Assert.That(second.Expired, Is.EqualTo(TimeoutKind.KeepAlive), "the woken heartbeat enforced its deadline");
    }
}
