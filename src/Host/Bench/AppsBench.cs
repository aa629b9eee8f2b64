using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Browser;
using LeanProxy.Host.Cli;
using LeanProxy.Host.Hosting;
using LeanProxy.Host.Node;
using LeanProxy.Listener;
using LeanProxy.Store;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Bench;

/// <summary>
/// <c>leanproxy bench APP --apps N</c>: a node (in this process, a temporary SQLite store) with APP deployed N times.
/// Measures cold starts to the first response (with the context prepared ahead and without), N apps served
/// round-robin within a small tab budget, what one more warm app and an idle node cost in memory (PSS of the host and
/// Chromium), and the throughput of one hot app beside 50 idle ones against that app alone.
/// </summary>
internal static class AppsBench
{
    private const int ColdSamples = 10;
    private const int IdleApps = 50;

    public static async Task<int> RunAsync(BenchOptions options, int apps, TimeSpan duration, TextWriter stdout, TextWriter stderr)
    {
        var maxTabs = options.MaxTabs ?? 8;
        if (apps is < 2 or > 1000)
        {
            throw new UsageException($"--apps {apps}: expected a number of apps from 2 to 1000.");
        }

        if (maxTabs is < 1 or > 256)
        {
            throw new UsageException($"--max-tabs {maxTabs}: expected 1 to 256.");
        }

        byte[] archive;
        try
        {
            archive = BundleArchive.Pack(options.App);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }

        var root = Directory.CreateTempSubdirectory("leanproxy-bench-apps-").FullName;
        using var loggerFactory = HostLogging.Create(LogLevel.Warning);
        try
        {
            var browser = new BrowserOptions { ChromePath = options.Chrome };
            var names = Enumerable.Range(0, Math.Max(apps, IdleApps + 1)).Select(i => $"app{i}").ToList();
            var report = new AppsBenchReport { App = options.App, Apps = apps, MaxTabs = maxTabs, DurationSeconds = duration.TotalSeconds };

            // 1. Cold starts, then N apps round-robin within the budget.
            await using (var node = await StartNodeAsync(Path.Combine(root, "a.db"), browser, maxTabs, prepare: true, names.Take(apps), archive,
                loggerFactory).ConfigureAwait(false))
            {
                await stderr.WriteLineAsync($"cold starts ({ColdSamples}, one a second, the context prepared ahead)…").ConfigureAwait(false);
                report.ColdPrepared = await ColdStartsAsync(node, names.Take(ColdSamples)).ConfigureAwait(false);

                await stderr.WriteLineAsync($"{apps} apps round-robin, {maxTabs} connections, --max-tabs {maxTabs}, {duration.TotalSeconds:0} s…")
                    .ConfigureAwait(false);
                var coldBefore = Engine.Metrics.EngineMetrics.ColdStartCount;
                var generator = new LoadGenerator(node.FirstEndPoint, "/", hosts: [.. names.Take(apps).Select(n => $"{n}.localhost")]);
                var latencies = await generator.RunAsync(maxTabs, duration, CancellationToken.None).ConfigureAwait(false);
                latencies.Sort();
                var cold = Engine.Metrics.EngineMetrics.ColdStartCount - coldBefore;
                report.RoundRobin = new RoundRobinFigures(
                    Interlocked.Read(ref generator.Completed), Interlocked.Read(ref generator.Errors),
                        Math.Round(generator.Completed / duration.TotalSeconds, 1),
                    Math.Round(LoadGenerator.Percentile(latencies, 50), 2), Math.Round(LoadGenerator.Percentile(latencies, 99), 2),
                        Math.Round(cold / duration.TotalSeconds, 1));
            }

            // 2. The same cold starts with no context prepared ahead.
            await using (var node = await StartNodeAsync(Path.Combine(root, "b.db"), browser, maxTabs, prepare: false, names.Take(ColdSamples), archive,
                loggerFactory).ConfigureAwait(false))
            {
                await stderr.WriteLineAsync($"cold starts ({ColdSamples}, one a second, no context prepared)…").ConfigureAwait(false);
                report.ColdUnprepared = await ColdStartsAsync(node, names.Take(ColdSamples)).ConfigureAwait(false);
            }

            // 3. Memory: an idle node, one app, 51 apps; then one hot app alone and beside 50 idle ones.
            await using (var node = await StartNodeAsync(Path.Combine(root, "c.db"), browser, IdleApps + 8, prepare: true, names.Take(IdleApps + 1), archive,
                loggerFactory).ConfigureAwait(false))
            {
                await Task.Delay(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                report.IdleNodePssMb = Pss(node);
                await GetAsync(node.FirstEndPoint, names[0]).ConfigureAwait(false);
                await stderr.WriteLineAsync($"one hot app alone, 64 connections, {duration.TotalSeconds:0} s…").ConfigureAwait(false);
                var alone = await HotAsync(node, names[0], duration).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                var oneApp = Pss(node);

                await stderr.WriteLineAsync($"starting {IdleApps} more apps…").ConfigureAwait(false);
                foreach (var name in names.Skip(1).Take(IdleApps))
                {
                    await GetAsync(node.FirstEndPoint, name).ConfigureAwait(false);
                }

                // Idle means settled: for ~10 s after their starts the new renderers still collect and compile in the
                // background (7–12 % of a core here, docs/PERFORMANCE.md "The headless shell"), which is not what an
                // idle app costs.
                await Task.Delay(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                var many = Pss(node);
                report.PssPerWarmAppMb = Math.Round((many - oneApp) / IdleApps, 1);
                report.NodePssWith51AppsMb = Math.Round(many, 0);

                await stderr.WriteLineAsync($"the hot app beside {IdleApps} idle ones…").ConfigureAwait(false);
                var beside = await HotAsync(node, names[0], duration).ConfigureAwait(false);
                report.HotAloneRps = alone;
                report.HotBesideIdleRps = beside;
            }

            if (options.Json)
            {
                await stdout.WriteLineAsync(JsonSerializer.Serialize(report, BenchJsonContext.Default.AppsBenchReport)).ConfigureAwait(false);
            }
            else
            {
                await stdout.WriteAsync(Format(report)).ConfigureAwait(false);
            }

            return report.RoundRobin!.Errors == 0 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A node on a fresh SQLite store with <paramref name="names"/> deployed, once it knows all of them.</summary>
    private static async Task<NodeServer> StartNodeAsync(string database, BrowserOptions browser, int maxTabs, bool prepare, IEnumerable<string> names,
        byte[] archive, ILoggerFactory loggerFactory)
    {
        var uri = "sqlite:" + database;
        var list = names.ToList();
        await using (var store = AppStores.Open(uri))
        {
            await store.MigrateAsync(CancellationToken.None).ConfigureAwait(false);
            var sha256 = BundleArchive.Read("bench", archive).Sha256;
            foreach (var name in list)
            {
                await store.DeployAsync(name, sha256, archive, new Dictionary<string, string>(), warm: false, CancellationToken.None).ConfigureAwait(false);
            }
        }

        var plan = new NodePlan
        {
            StoreUri = uri,
            Browser = browser,
            Node = new NodeOptions { MaxTabs = maxTabs, PrepareContext = prepare, IdleTimeout = TimeSpan.FromHours(1) },
            Http = new HttpListenerOptions { MaxConnections = 100_000 },
            HttpEndpoints = [new IPEndPoint(IPAddress.Loopback, 0)],
        };
        var node = await NodeServer.BindAsync(plan, loggerFactory).ConfigureAwait(false);
        await node.StartAsync(CancellationToken.None).ConfigureAwait(false);
        while (node.Apps!.Known().Count < list.Count)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }

        await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false); // the prepared context is ready
        return node;
    }

    /// <summary>The first request of each app, one a second (so a prepared context is ready for each): p50 and p99 in ms.</summary>
    private static async Task<ColdFigures> ColdStartsAsync(NodeServer node, IEnumerable<string> names)
    {
        var times = new List<double>();
        foreach (var name in names)
        {
            var started = Stopwatch.GetTimestamp();
            await GetAsync(node.FirstEndPoint, name).ConfigureAwait(false);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }

        times.Sort();
        return new ColdFigures(times.Count, Math.Round(LoadGenerator.Percentile(times, 50), 1), Math.Round(LoadGenerator.Percentile(times, 99), 1),
            Math.Round(times[^1], 1));
    }

    private static async Task<double> HotAsync(NodeServer node, string name, TimeSpan duration)
    {
        var generator = new LoadGenerator(node.FirstEndPoint, "/", hosts: [$"{name}.localhost"]);
        await generator.RunAsync(64, duration, CancellationToken.None).ConfigureAwait(false);
        if (generator.Errors > 0)
        {
            throw new InvalidOperationException($"{generator.Errors} requests to {name} failed.");
        }

        return Math.Round(generator.Completed / duration.TotalSeconds, 1);
    }

    /// <summary>One GET / to app NAME; throws unless it answers 2xx.</summary>
    private static async Task GetAsync(IPEndPoint endPoint, string name)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint).ConfigureAwait(false);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {name}.localhost\r\nConnection: close\r\n\r\n"),
            SocketFlags.None).ConfigureAwait(false);
        var status = await LoadGenerator.ReadResponseAsync(socket, new byte[64 * 1024], CancellationToken.None).ConfigureAwait(false);
        if (status is < 200 or > 299)
        {
            throw new InvalidOperationException($"{name} answered {status}.");
        }
    }

    /// <summary>PSS of this process and the browser's process tree, MB.</summary>
    private static double Pss(NodeServer node) =>
        ProcessStats.PssMb(Environment.ProcessId) + (node.Browser?.Browser.ProcessId is { } pid ? ProcessStats.Tree(pid).Sum(ProcessStats.PssMb) : 0);

    private static string Format(AppsBenchReport r)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"leanproxy bench {r.App} --apps {r.Apps} (a node in this process, SQLite store; {r.DurationSeconds:0.#} s per load run)");
        text.AppendLine("| figure | value |");
        text.AppendLine("|---|---:|");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| cold start to response, context prepared ahead (p50 / p99 of {r.ColdPrepared!.Samples}) | {r.ColdPrepared.P50Ms:0.0} / " +
                $"{r.ColdPrepared.P99Ms:0.0} ms |");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| cold start to response, no context prepared (p50 / p99 of {r.ColdUnprepared!.Samples}) | {r.ColdUnprepared.P50Ms:0.0} / " +
                $"{r.ColdUnprepared.P99Ms:0.0} ms |");
        var rr = r.RoundRobin!;
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| {r.Apps} apps round-robin, --max-tabs {r.MaxTabs}, {r.MaxTabs} connections: req/s | {rr.RequestsPerSecond:0.0} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| … p50 / p99 | {rr.P50Ms:0.00} / {rr.P99Ms:0.00} ms |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| … cold starts/s | {rr.ColdStartsPerSecond:0.0} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| … errors | {rr.Errors} of {rr.Requests} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| idle node (host + Chromium, one context prepared), PSS | {r.IdleNodePssMb:0} MB |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| one more warm app, PSS (51 apps vs 1) | {r.PssPerWarmAppMb:0.0} MB |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| node with 51 warm apps, PSS | {r.NodePssWith51AppsMb:0} MB |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| hot app alone, 64 connections: req/s | {r.HotAloneRps:0} |");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| hot app beside {IdleApps} idle apps: req/s | {r.HotBesideIdleRps:0} ({r.HotBesideIdleRps / Math.Max(r.HotAloneRps, 1):0.00}×) |");
        return text.ToString();
    }
}

/// <summary>Cold starts: how many, and the time from the request to its response.</summary>
internal sealed record ColdFigures(int Samples, double P50Ms, double P99Ms, double MaxMs);

/// <summary>N apps served round-robin within the budget.</summary>
internal sealed record RoundRobinFigures(long Requests, long Errors, double RequestsPerSecond, double P50Ms, double P99Ms, double ColdStartsPerSecond);

/// <summary>What <c>leanproxy bench --apps N --json</c> prints.</summary>
internal sealed class AppsBenchReport
{
    public string App { get; init; } = string.Empty;

    public int Apps { get; init; }

    public int MaxTabs { get; init; }

    public double DurationSeconds { get; init; }

    public ColdFigures? ColdPrepared { get; set; }

    public ColdFigures? ColdUnprepared { get; set; }

    public RoundRobinFigures? RoundRobin { get; set; }

    public double IdleNodePssMb { get; set; }

    public double PssPerWarmAppMb { get; set; }

    public double NodePssWith51AppsMb { get; set; }

    public double HotAloneRps { get; set; }

    public double HotBesideIdleRps { get; set; }
}
