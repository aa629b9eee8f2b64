namespace LeanProxy.Listener;

/// <summary>
/// Waiting for a count to reach zero where nothing signals it (in-flight calls, connections, datagrams): a check every
/// 20 ms, bounded. Used only on the way out (drains), never per request.
/// </summary>
public static class Polling
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Checks <paramref name="done"/> every <see cref="Interval"/> until it holds or <paramref name="timeout"/> passes on
    /// <paramref name="clock"/> (milliseconds; <see cref="Environment.TickCount64"/> unless given). True when it held.
    /// </summary>
    public static async Task<bool> UntilAsync(Func<bool> done, TimeSpan timeout, Func<long>? clock = null)
    {
        clock ??= static () => Environment.TickCount64;
        var deadline = clock() + (long)timeout.TotalMilliseconds;
        while (!done())
        {
            if (clock() >= deadline)
            {
                return false;
            }

            await Task.Delay(Interval, CancellationToken.None).ConfigureAwait(false);
        }

        return true;
    }
}
