namespace LeanProxy.Engine.Pages;

/// <summary>
/// How much of an app's console reaches the node's log: a token bucket of <see cref="LinesPerSecond"/> lines a second
/// (bursts of <see cref="Burst"/>), each line cut at <see cref="MaxLineChars"/> characters. A handler that logs
/// 100 MB in a loop costs the node a few hundred lines a second and one line saying how many were dropped.
/// Shared by every tab of an app version.
/// </summary>
internal sealed class ConsoleBudget(Func<long> clock)
{
    public const int LinesPerSecond = 200;
    public const int Burst = 1000;
    public const int MaxLineChars = 8 * 1024;

    private readonly Lock _lock = new();
    private double _tokens = Burst;
    private long _refilledAt = clock();
    private long _dropped;
    private long _reportedAt = clock();

    /// <summary>
    /// True when the line may be logged. <paramref name="dropped"/>: lines dropped since the last report, to be said
    /// now (at most once a second, so that a flood costs one such line a second).
    /// </summary>
    public bool TryTake(out long dropped)
    {
        var allowed = Take(out dropped, out var first);
        if (first)
        {
            FirstDropped?.Invoke(); // outside the lock
        }

        return allowed;
    }

    /// <summary>Called when a line is dropped and none was waiting to be reported (the pool's heartbeat must run to say so).</summary>
    public Action? FirstDropped { get; set; }

    /// <summary>Lines were dropped and are not yet reported.</summary>
    public bool HasDropped => Interlocked.Read(ref _dropped) > 0;

    private bool Take(out long dropped, out bool first)
    {
        first = false;
        lock (_lock)
        {
            var now = clock();
            _tokens = Math.Min(Burst, _tokens + ((now - _refilledAt) * LinesPerSecond / 1000.0));
            _refilledAt = now;
            var allowed = _tokens >= 1;
            if (allowed)
            {
                _tokens--;
            }
            else
            {
                first = _dropped++ == 0;
            }

            dropped = now - _reportedAt >= 1000 ? TakeDropped(now) : 0;
            return allowed;
        }
    }

    /// <summary>Lines dropped and not yet reported, once a second at most (the pool's heartbeat asks, so the last ones are said too).</summary>
    public long Flush()
    {
        lock (_lock)
        {
            var now = clock();
            return _dropped > 0 && now - _reportedAt >= 1000 ? TakeDropped(now) : 0;
        }
    }

    private long TakeDropped(long now)
    {
        var dropped = _dropped;
        if (dropped > 0)
        {
            _dropped = 0;
            _reportedAt = now;
        }

        return dropped;
    }

    /// <summary>The line, cut at <see cref="MaxLineChars"/> with a note of how much was left out.</summary>
    public static string Cut(string line) =>
        line.Length <= MaxLineChars ? line : string.Concat(line.AsSpan(0, MaxLineChars), $"… ({line.Length - MaxLineChars} more characters)");
}
