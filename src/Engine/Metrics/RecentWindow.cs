namespace LeanProxy.Engine.Metrics;

/// <summary>
/// The last 60 seconds in one-second slots: requests, server errors and a log-scale latency histogram (about 12%
/// wide buckets from 50 µs to ~1 min) from which p50 and p99 are read.
/// </summary>
public sealed class RecentWindow
{
    private const int Seconds = 60;
    private const int Buckets = 120;
    private static readonly double Base = Math.Log(1.125);

    private readonly Slot[] _slots = [.. Enumerable.Range(0, Seconds).Select(_ => new Slot())];

    public void Record(TimeSpan elapsed, bool error)
    {
        var second = Environment.TickCount64 / 1000;
        var slot = _slots[second % Seconds];
        var bucket = Bucket(elapsed.TotalMilliseconds);
        lock (slot)
        {
            if (slot.Second != second)
            {
                slot.Second = second;
                slot.Count = 0;
                slot.Errors = 0;
                Array.Clear(slot.Latency);
            }

            slot.Count++;
            slot.Latency[bucket]++;
            if (error)
            {
                slot.Errors++;
            }
        }
    }

    /// <summary>Over the last minute: requests per second, error count, p50 and p99 in milliseconds (0 when none).</summary>
    public (double PerSecond, long Errors, double P50, double P99, long Count) Summary()
    {
        var now = Environment.TickCount64 / 1000;
        var latency = new long[Buckets];
        long count = 0, errors = 0;
        foreach (var slot in _slots)
        {
            lock (slot)
            {
                if (now - slot.Second >= Seconds || slot.Second > now)
                {
                    continue;
                }

                count += slot.Count;
                errors += slot.Errors;
                for (var i = 0; i < Buckets; i++)
                {
                    latency[i] += slot.Latency[i];
                }
            }
        }

        return (count / (double)Seconds, errors, Percentile(latency, count, 0.50), Percentile(latency, count, 0.99), count);
    }

    private static int Bucket(double milliseconds) =>
        milliseconds <= 0.05 ? 0 : Math.Min(Buckets - 1, 1 + (int)(Math.Log(milliseconds / 0.05) / Base));

    /// <summary>The upper edge of the bucket where the fraction is reached.</summary>
    private static double Percentile(long[] latency, long count, double fraction)
    {
        if (count == 0)
        {
            return 0;
        }

        var wanted = (long)Math.Ceiling(count * fraction);
        long seen = 0;
        for (var i = 0; i < Buckets; i++)
        {
            seen += latency[i];
            if (seen >= wanted)
            {
                return 0.05 * Math.Exp(Base * i);
            }
        }

        return 0.05 * Math.Exp(Base * (Buckets - 1));
    }

    private sealed class Slot
    {
        public long Second = -1;
        public long Count;
        public long Errors;
        public readonly long[] Latency = new long[Buckets];
    }
}
