using System.Diagnostics;

namespace LeanProxy.Engine.Metrics;

/// <summary>
/// Where a request's time goes inside the host, for <c>leanproxy bench --timeline</c>: off unless turned on (then
/// each answered request records four stamps; when off, each place costs one read of a static field). The stages:
/// the engine took the request → its batch was written to Chromium's pipe → the batch's reply (or the binding call
/// that answered it) was read on the CDP thread → the request was completed → the connection had written the response
/// (the connection's continuation runs synchronously on the completing thread).
/// </summary>
public static class RequestTimeline
{
    private static readonly Lock Gate = new();
    private static readonly List<Sample> Samples = [];

    [ThreadStatic]
    private static long t_replyReadAt;

    /// <summary>Whether requests record their stamps.</summary>
    public static bool Enabled { get; set; }

    /// <summary>Stamped on the CDP thread when a reply or binding call that may answer requests was read.</summary>
    internal static void ReplyRead()
    {
        if (Enabled)
        {
            t_replyReadAt = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>When this thread last read a reply (0 if never).</summary>
    internal static long ReplyReadAt => t_replyReadAt;

    internal static void Record(long entered, long written, long replyRead, long completed, long responded)
    {
        if (written == 0 || replyRead < written)
        {
            return; // answered without a batch of its own (a 504, a 503): not a round trip
        }

        lock (Gate)
        {
            if (Samples.Count < 1_000_000)
            {
                Samples.Add(new Sample(written - entered, replyRead - written, completed - replyRead, responded - completed));
            }
        }
    }

    /// <summary>The medians of each stage since the last call, in microseconds; clears the samples.</summary>
    public static TimelineSummary Take()
    {
        Sample[] samples;
        lock (Gate)
        {
            samples = [.. Samples];
            Samples.Clear();
        }

        double Median(Func<Sample, long> stage)
        {
            if (samples.Length == 0)
            {
                return 0;
            }

            var values = samples.Select(stage).Order().ToArray();
            return Math.Round(values[values.Length / 2] * 1_000_000.0 / Stopwatch.Frequency, 1);
        }

        return new TimelineSummary(samples.Length, Median(s => s.ToWrite), Median(s => s.RoundTrip), Median(s => s.ToComplete), Median(s => s.ToRespond));
    }

    private readonly record struct Sample(long ToWrite, long RoundTrip, long ToComplete, long ToRespond);
}

/// <summary>
/// Medians in µs: engine in → batch written to the pipe (<paramref name="ToWriteUs"/>), written → reply read
/// (<paramref name="RoundTripUs"/>: the browser process, the renderer, the runtime and the handler), reply read →
/// request completed (<paramref name="ToCompleteUs"/>), completed → response written (<paramref name="ToRespondUs"/>).
/// </summary>
public sealed record TimelineSummary(int Samples, double ToWriteUs, double RoundTripUs, double ToCompleteUs, double ToRespondUs);
