using System.Collections.Concurrent;
using System.Diagnostics;
using Prometheus;

namespace LeanProxy.Engine.Metrics;

/// <summary>
/// One app's counts (shared by its versions): the Prometheus children it touches per request, kept here so that the
/// hot path does no label lookup, and the last minute (<see cref="RecentWindow"/>) for the status page.
/// </summary>
public sealed class AppStats
{
    private static readonly ConcurrentDictionary<string, AppStats> All = new(StringComparer.Ordinal);
    private static readonly string[] Classes = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    private readonly Counter.Child[] _http;
    private readonly Counter.Child[] _udp;
    private readonly Counter.Child _tcp;
    private readonly Histogram.Child _duration;
    private readonly Counter.Child _crashes;
    private readonly Counter.Child _terminations;

    private AppStats(string app)
    {
        App = app;
        _http = [.. Classes.Select(c => EngineMetrics.Requests.WithLabels(app, "http", c))];
        _udp = [EngineMetrics.Requests.WithLabels(app, "udp", "answered"), EngineMetrics.Requests.WithLabels(app, "udp", "no_reply")];
        _tcp = EngineMetrics.Requests.WithLabels(app, "tcp", "connection");
        _duration = EngineMetrics.Duration.WithLabels(app);
        _crashes = EngineMetrics.TabCrashes.WithLabels(app);
        _terminations = EngineMetrics.TabTerminations.WithLabels(app);
    }

    public string App { get; }

    private volatile TailSubscription[] _tails = [];

    /// <summary>Whether someone reads this app's live log (checked before a line is made).</summary>
    public bool IsTailed => _tails.Length > 0;

    /// <summary>Starts reading this app's live log on this node.</summary>
    public TailSubscription Tail()
    {
        var subscription = new TailSubscription(Untail);
        lock (All)
        {
            _tails = [.. _tails, subscription];
        }

        return subscription;
    }

    private void Untail(TailSubscription subscription)
    {
        lock (All)
        {
            _tails = [.. _tails.Where(t => t != subscription)];
        }
    }

    /// <summary>Hands a line to every reader of the live log (dropped for those that are full).</summary>
    public void Publish(TailLine line)
    {
        foreach (var tail in _tails)
        {
            tail.Offer(line);
        }
    }

    /// <summary>Requests, errors and latency of the last minute.</summary>
    public RecentWindow Recent { get; } = new();

    public static AppStats For(string app) => All.GetOrAdd(app, static name => new AppStats(name));

    /// <summary>An HTTP request answered with <paramref name="status"/>; <paramref name="started"/> is its <see cref="Stopwatch"/> timestamp.</summary>
    public void Http(int status, long started)
    {
        var elapsed = Stopwatch.GetElapsedTime(started);
        _http[Math.Clamp(status / 100, 1, 5) - 1].Inc();
        _duration.Observe(elapsed.TotalSeconds);
        Recent.Record(elapsed, status >= 500);
    }

    public void Datagram(bool answered, long started)
    {
        var elapsed = Stopwatch.GetElapsedTime(started);
        _udp[answered ? 0 : 1].Inc();
        _duration.Observe(elapsed.TotalSeconds);
        Recent.Record(elapsed, false);
    }

    public void Connection() => _tcp.Inc();

    internal void ColdStart(TimeSpan took)
    {
        EngineMetrics.ColdStarts.WithLabels(App).Inc();
        EngineMetrics.CountColdStart();
        EngineMetrics.ColdStartDuration.WithLabels(App).Observe(took.TotalSeconds);
    }

    internal void TabCrashed() => _crashes.Inc();

    internal void TabTerminated() => _terminations.Inc();

    internal void Kv(string op, string result) => EngineMetrics.KvOperations.WithLabels(App, op, result).Inc();
}
