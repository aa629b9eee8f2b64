using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Listener.Tests;

/// <summary>The helpers for work nobody awaits (<see cref="FireAndForget"/>) and for drains (<see cref="Polling"/>).</summary>
public sealed class BackgroundWorkTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task AFailureOfWorkNobodyAwaitsIsLoggedWithWhatItWas(CancellationToken cancellationToken)
    {
        var logger = new ListLogger();
        var failing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        FireAndForget.Run(failing.Task, logger, "replacing a tab");
        Assert.That(logger.Lines, Is.Empty, "nothing before it ends");

        failing.SetException(new InvalidOperationException("the pool is gone"));
        while (logger.Lines.IsEmpty)
        {
            await Task.Delay(5, cancellationToken);
        }

        var (level, text, exception) = logger.Lines.Single();
        Assert.That(level, Is.EqualTo(LogLevel.Error));
        Assert.That(text, Is.EqualTo("Background work failed: replacing a tab"));
        Assert.That(exception, Is.TypeOf<InvalidOperationException>().With.Message.EqualTo("the pool is gone"), "the exception itself, not its aggregate");
    }

    [Test]
    public void WorkThatAlreadyFailedIsLoggedAtOnceAndWorkThatSucceededOrWasCancelledIsNot()
    {
        var logger = new ListLogger();
        FireAndForget.Run(Task.FromException(new IOException("broken pipe")), logger, "sending a batch");
        FireAndForget.Run(Task.CompletedTask, logger, "nothing");
        FireAndForget.Run(Task.FromCanceled(new CancellationToken(canceled: true)), logger, "a cancelled wait");

        Assert.That(logger.Lines.Select(l => l.Text), Is.EqualTo(new[] { "Background work failed: sending a batch" }));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task ACancelledTaskIsNotLogged(CancellationToken cancellationToken)
    {
        var logger = new ListLogger();
        using var cancel = new CancellationTokenSource();
        var waiting = Task.Delay(Timeout.Infinite, cancel.Token);
        FireAndForget.Run(waiting, logger, "a wait");
        await cancel.CancelAsync();
        await ((Task)waiting).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var probe = new TaskCompletionSource();
        FireAndForget.Run(probe.Task, logger, "the probe");
        probe.SetException(new InvalidOperationException("probe"));

        // The probe's line proves the logger was reached after the cancellation's continuation ran.
        while (logger.Lines.IsEmpty)
        {
            await Task.Delay(5, cancellationToken);
        }

        Assert.That(logger.Lines.Select(l => l.Text), Is.EqualTo(new[] { "Background work failed: the probe" }));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task PollingReturnsOnceTheConditionHoldsAndFalseWhenTheTimeoutPassesFirst(CancellationToken cancellationToken)
    {
        var checks = 0;
        Assert.That(await Polling.UntilAsync(() => ++checks == 3, TimeSpan.FromSeconds(30)).WaitAsync(cancellationToken), Is.True);
        Assert.That(checks, Is.EqualTo(3), "checked until it held, then no more");

        long now = 0;
        var timedOut = await Polling.UntilAsync(() => false, TimeSpan.FromMilliseconds(100), () => now += 40).WaitAsync(cancellationToken);
        Assert.That(timedOut, Is.False);
        Assert.That(now, Is.EqualTo(160), "the clock given decides the timeout: 40 (start), 80, 120, then 160 ≥ 140");
    }

    private sealed class ListLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Text, Exception? Exception)> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue((logLevel, formatter(state, exception), exception));
    }
}
