using System.Collections.Concurrent;
using LeanProxy.Engine.Apps;
using Prometheus;

namespace LeanProxy.Engine.Metrics;

/// <summary>
/// What the engine counts, as Prometheus series (prometheus-net's registry and text format; the host serves them at
/// <c>/metrics</c>). Per request the engine touches a counter and a histogram child that its app's
/// <see cref="AppStats"/> keeps (no label lookup), plus the app's last-minute window for the status page; gauges
/// (tabs, queues, CDP totals) are read when scraped, not kept up to date on the hot path.
/// </summary>
public static class EngineMetrics
{
    internal static readonly Counter Requests = Prometheus.Metrics.CreateCounter(
        "leanproxy_requests_total", "Requests (http), datagrams (udp) and connections (tcp) answered, by app, driver and status class.",
        "app", "driver", "status");

    internal static readonly Histogram Duration = Prometheus.Metrics.CreateHistogram(
        "leanproxy_request_duration_seconds", "From the request's arrival in the engine to its response, by app.",
        new HistogramConfiguration { LabelNames = ["app"], Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    internal static readonly Counter ColdStarts = Prometheus.Metrics.CreateCounter(
        "leanproxy_cold_starts_total", "App versions started on this node (their tabs opened and the app loaded).", "app");

    /// <summary>Cold starts of this process, every app together (what <c>leanproxy bench --apps</c> reads).</summary>
    public static long ColdStartCount => Interlocked.Read(ref s_coldStarts);

    private static long s_coldStarts;

    internal static void CountColdStart() => Interlocked.Increment(ref s_coldStarts);

    internal static readonly Histogram ColdStartDuration = Prometheus.Metrics.CreateHistogram(
        "leanproxy_cold_start_duration_seconds", "How long an app version took to start, by app.",
        new HistogramConfiguration { LabelNames = ["app"], Buckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    internal static readonly Counter TabCrashes = Prometheus.Metrics.CreateCounter(
        "leanproxy_tab_crashes_total", "Tabs that ended without being asked to (renderer crash, out of memory, closed), by app.", "app");

    internal static readonly Counter TabTerminations = Prometheus.Metrics.CreateCounter(
        "leanproxy_tab_terminations_total", "Handlers stopped past their deadline (Runtime.terminateExecution), by app.", "app");

    internal static readonly Counter BrowserRelaunches = Prometheus.Metrics.CreateCounter(
        "leanproxy_browser_relaunches_total", "Times the browser died and was launched again.");

    internal static readonly Counter KvOperations = Prometheus.Metrics.CreateCounter(
        "leanproxy_kv_operations_total", "KV calls from handlers, by app, operation (get, put, delete, list) and result (ok, error, store_error).",
        "app", "op", "result");

    internal static readonly Counter Subrequests = Prometheus.Metrics.CreateCounter(
        "leanproxy_subrequests_total", "Handlers' fetch() to other servers, made by the host, by app and status (2xx…5xx, error, refused).",
        "app", "status");

    internal static readonly Histogram SubrequestDuration = Prometheus.Metrics.CreateHistogram(
        "leanproxy_subrequest_duration_seconds", "From a subrequest's start to its body's end (or failure), by app.",
        new HistogramConfiguration { LabelNames = ["app"], Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    internal static readonly Counter DataPlaneBytes = Prometheus.Metrics.CreateCounter(
        "leanproxy_data_plane_bytes_total", "Bytes carried by the tabs' data planes (bodies beside CDP), by app and direction (to_page, from_page).",
        "app", "direction");

    internal static readonly Histogram BatchItems = Prometheus.Metrics.CreateHistogram(
        "leanproxy_batch_items", "Messages per batch call to a tab (requests, datagrams, stream and KV messages).",
        new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256] });

    private static readonly Gauge Tabs = Prometheus.Metrics.CreateGauge(
        "leanproxy_tabs", "Tabs by app and state (serving, stalled, spare).", "app", "state");

    private static readonly Gauge Queue = Prometheus.Metrics.CreateGauge(
        "leanproxy_queue_depth", "Requests and datagrams waiting for or running in a tab, by app.", "app");

    private static readonly Counter CdpMessages = Prometheus.Metrics.CreateCounter(
        "leanproxy_cdp_messages_total", "CDP messages since the start: commands sent, replies and events received.", "direction");

    private static readonly ConcurrentDictionary<AppHost, byte> Live = new();
    private static readonly ConcurrentDictionary<Browser.BrowserHost, byte> Browsers = new();
    private static readonly HashSet<string> Reported = [];

    static EngineMetrics() => Prometheus.Metrics.DefaultRegistry.AddBeforeCollectCallback(Refresh);

    /// <summary>Makes sure the collectors exist (the host calls it before its first scrape).</summary>
    public static void Touch()
    {
    }

    internal static void Started(AppHost host) => Live.TryAdd(host, 0);

    internal static void Stopped(AppHost host) => Live.TryRemove(host, out _);

    internal static void Started(Browser.BrowserHost browser) => Browsers.TryAdd(browser, 0);

    internal static void Stopped(Browser.BrowserHost browser) => Browsers.TryRemove(browser, out _);

    /// <summary>The app hosts running on this node now (for the status page).</summary>
    public static IReadOnlyCollection<AppHost> Running => [.. Live.Keys];

    private static void Refresh()
    {
        var (sent, received) = Browsers.Keys.Aggregate((Sent: 0L, Received: 0L), (sum, b) =>
        {
            var (s, r) = b.CdpMessages;
            return (sum.Sent + s, sum.Received + r);
        });
        CdpMessages.WithLabels("sent").IncTo(sent);
        CdpMessages.WithLabels("received").IncTo(received);
        var counts = new Dictionary<(string App, string State), int>();
        var queues = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var host in Live.Keys)
        {
            if (host.Snapshot() is not { } snapshot)
            {
                continue;
            }

            Add(counts, (host.Name, "serving"), snapshot.Serving);
            Add(counts, (host.Name, "stalled"), snapshot.Stalled);
            Add(counts, (host.Name, "spare"), snapshot.Spare);
            queues[host.Name] = queues.GetValueOrDefault(host.Name) + snapshot.Outstanding;
        }

        lock (Reported)
        {
            var now = new HashSet<string>(StringComparer.Ordinal);
            foreach (var ((app, state), count) in counts)
            {
                Tabs.WithLabels(app, state).Set(count);
                now.Add(app);
            }

            foreach (var (app, depth) in queues)
            {
                Queue.WithLabels(app).Set(depth);
            }

            foreach (var gone in Reported.Except(now).ToList())
            {
                foreach (var state in new[] { "serving", "stalled", "spare" })
                {
                    Tabs.RemoveLabelled(gone, state);
                }

                Queue.RemoveLabelled(gone);
                Reported.Remove(gone);
            }

            Reported.UnionWith(now);
        }
    }

    private static void Add(Dictionary<(string, string), int> counts, (string, string) key, int value) =>
        counts[key] = counts.GetValueOrDefault(key) + value;
}
