namespace LeanProxy.Listener;

/// <summary>
/// A periodic beat that sleeps while there is nothing to watch, so that an idle server wakes nobody: the owner calls
/// <see cref="Wake"/> when work arrives and <see cref="TrySleep"/> from a beat that found none. Going to sleep disarms
/// the timer first and then asks again, so that work that arrived meanwhile (whose Wake still saw the beat armed) arms
/// it again. Without a timer (tests beat by hand) only the state is kept.
/// </summary>
public sealed class SleepingHeartbeat : IAsyncDisposable, IDisposable
{
    private readonly Timer? _timer;
    private readonly TimeSpan _period;
    private int _armed;

    public SleepingHeartbeat(Action beat, TimeSpan period, bool armed, bool withTimer = true)
    {
        _period = period;
        _armed = armed ? 1 : 0;
        if (withTimer)
        {
            var first = armed ? period : Timeout.InfiniteTimeSpan;
            _timer = new Timer(static state => ((Action)state!)(), beat, first, first);
        }
    }

    /// <summary>Asleep: nothing to watch until <see cref="Wake"/>.</summary>
    public bool IsAsleep => Volatile.Read(ref _armed) == 0;

    /// <summary>Arms the beat if it sleeps (one read when it is already armed).</summary>
    public void Wake()
    {
        if (Volatile.Read(ref _armed) == 0 && Interlocked.Exchange(ref _armed, 1) == 0)
        {
            Set(_period);
        }
    }

    /// <summary>Sleeps until the next <see cref="Wake"/>, unless <paramref name="needed"/> says there is work after all.</summary>
    public void TrySleep(Func<bool> needed)
    {
        Set(Timeout.InfiniteTimeSpan);
        Interlocked.Exchange(ref _armed, 0);
        if (needed())
        {
            Wake();
        }
    }

    private void Set(TimeSpan period)
    {
        try
        {
            _timer?.Change(period, period);
        }
        catch (ObjectDisposedException)
        {
            // Disposed: nothing to watch any more.
        }
    }

    public void Dispose() => _timer?.Dispose();

    public ValueTask DisposeAsync() => _timer?.DisposeAsync() ?? ValueTask.CompletedTask;
}
