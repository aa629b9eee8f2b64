using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Browser;
using LeanProxy.Host.Cli;
using LeanProxy.Host.Hosting;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Bench;

/// <summary>
/// <c>leanproxy bench</c>: serves the app in-process on a loopback port, once per tab count, drives it with the
/// built-in load generator for each connection count, and reports requests/s per tab, latency, CPU and memory.
/// </summary>
internal static class BenchCommand
{
    public static IReadOnlyList<int> ParseList(string flag, string? value, IReadOnlyList<int> fallback)
    {
        if (value is null)
        {
            return fallback;
        }

        var items = new List<int>();
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1 || number > 10_000)
            {
                throw new UsageException($"{flag} {value}: expected comma-separated whole numbers from 1, e.g. {flag} 1,2,4.");
            }

            items.Add(number);
        }

        return items;
    }

    public static TimeSpan ParseDuration(string? value)
    {
        if (value is null)
        {
            return TimeSpan.FromSeconds(10);
        }

        var (number, scale) = value.EndsWith("ms", StringComparison.Ordinal) ? (value[..^2], 0.001)
            : value.EndsWith('s') ? (value[..^1], 1.0)
            : value.EndsWith('m') ? (value[..^1], 60.0)
            : (value, 1.0);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount) || amount <= 0 || amount * scale > 3600)
        {
            throw new UsageException($"--duration {value}: expected a duration such as 10s, 500ms or 1m.");
        }

        return TimeSpan.FromSeconds(amount * scale);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000", Justification = "An await using declaration: disposed on every path.")]
    public static async Task<int> RunAsync(BenchOptions options, TextWriter stdout, TextWriter stderr)
    {
        if (options.Apps is { } apps)
        {
            foreach (var (flag, given) in new[] { ("--tabs", options.Tabs), ("--connections", options.Connections), ("--path", options.Path),
                ("--protocol", options.Protocol), ("--message", options.Message) })
            {
                if (given is not null)
                {
                    throw new UsageException($"{flag} is not for bench --apps (it measures GET / of each app).");
                }
            }

            return await AppsBench.RunAsync(options, apps, ParseDuration(options.Duration), stdout, stderr).ConfigureAwait(false);
        }

        if (options.MaxTabs is not null)
        {
            throw new UsageException("--max-tabs is for bench --apps N.");
        }

        if (options.Timeline && options.Protocol is not null && !options.Protocol.Equals("http", StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageException("--timeline measures HTTP requests: it is not for --protocol " + options.Protocol + ".");
        }

        var tabs = ParseList("--tabs", options.Tabs, [1, 2]);
        var connections = ParseList("--connections", options.Connections, [1, 64]);
        var duration = ParseDuration(options.Duration);
        var path = options.Path ?? "/";
        var protocol = (options.Protocol ?? "http").ToLowerInvariant() switch
        {
            "http" => BenchProtocol.Http,
            "tcp" => BenchProtocol.Tcp,
            "udp" => BenchProtocol.Udp,
            _ => throw new UsageException($"--protocol {options.Protocol}: expected http, tcp or udp."),
        };
        var message = options.Message ?? "ping\n";
        if (message.Length == 0 && protocol == BenchProtocol.Tcp)
        {
            throw new UsageException("--message: a TCP exchange needs at least one byte.");
        }
        if (!path.StartsWith('/'))
        {
            throw new UsageException($"--path {path}: must start with '/'.");
        }

        try
        {
            AppBundle.Check(options.App);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }

        LeanProxy.Engine.Metrics.RequestTimeline.Enabled = options.Timeline;
        using var loggerFactory = HostLogging.Create(LogLevel.Warning);
        var rows = new List<BenchRow>();
        foreach (var tabCount in tabs)
        {
            var loopback = new IPEndPoint[] { new(IPAddress.Loopback, 0) };
            var plan = new ServerPlan
            {
                AppPath = options.App,
                Browser = new BrowserOptions { ChromePath = options.Chrome },
                App = new AppOptions { Tabs = tabCount, WarmSpare = false },
                Http = new HttpListenerOptions { MaxConnections = 100_000 },
                HttpEndpoints = protocol == BenchProtocol.Http ? loopback : [],
                TcpEndpoints = protocol == BenchProtocol.Tcp ? loopback : [],
                UdpEndpoints = protocol == BenchProtocol.Udp ? loopback : [],
            };
            await using var server = await LeanProxyServer.BindAsync(plan, loggerFactory).ConfigureAwait(false);
            await server.StartAsync(CancellationToken.None).ConfigureAwait(false);
            var endPoint = server.FirstEndPoint;

            var warmUp = new LoadGenerator(endPoint, path, protocol, message);
            await warmUp.RunAsync(Math.Min(16, connections.Max()), TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(false);

            foreach (var connectionCount in connections)
            {
                rows.Add(await MeasureAsync(server, new LoadGenerator(endPoint, path, protocol, message), tabCount, connectionCount, duration,
                    stderr).ConfigureAwait(false));
            }
        }

        await stderr.WriteLineAsync().ConfigureAwait(false);
        var report = new BenchReport(options.App, protocol == BenchProtocol.Http ? path : protocol.ToString().ToLowerInvariant(), duration.TotalSeconds, rows);
        if (options.Json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(report, BenchJsonContext.Default.BenchReport)).ConfigureAwait(false);
        }
        else
        {
            await stdout.WriteAsync(FormatTable(report)).ConfigureAwait(false);
        }

        var failed = rows.Where(r => r.Errors > 0).ToList();
        foreach (var row in failed)
        {
            await stderr.WriteLineAsync($"warning: tabs={row.Tabs} connections={row.Connections}: {row.Errors} of {row.Requests} requests failed (non-2xx " +
                $"or socket error); its figures are not a clean measurement.").ConfigureAwait(false);
        }

        return failed.Count == 0 ? 0 : 1;
    }

    private static async Task<BenchRow> MeasureAsync(LeanProxyServer server, LoadGenerator generator, int tabs, int connections, TimeSpan duration,
        TextWriter stderr)
    {
        LeanProxy.Engine.Metrics.RequestTimeline.Take(); // what the warm-up and the row before left
        var browserPid = server.Browser.Browser.ProcessId;
        var chromiumBefore = browserPid is { } before ? ProcessStats.Tree(before).Sum(ProcessStats.CpuSeconds) : 0;
        var hostBefore = ProcessStats.CpuSeconds(Environment.ProcessId);
        var stopwatch = Stopwatch.StartNew();
        var run = generator.RunAsync(connections, duration, CancellationToken.None);
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(1000)).ConfigureAwait(false);
            var rate = Interlocked.Read(ref generator.Completed) / Math.Max(stopwatch.Elapsed.TotalSeconds, 0.001);
            await stderr.WriteAsync($"\rtabs={tabs} connections={connections} {stopwatch.Elapsed.TotalSeconds,5:0.0}s {rate,10:0} req/s ")
                .ConfigureAwait(false);
        }

        var latencies = await run.ConfigureAwait(false);
        var elapsed = stopwatch.Elapsed.TotalSeconds;
        var hostCpu = ProcessStats.CpuSeconds(Environment.ProcessId) - hostBefore;
        var tree = browserPid is { } pid ? ProcessStats.Tree(pid) : [];
        var chromiumCpu = tree.Sum(ProcessStats.CpuSeconds) - chromiumBefore;
        latencies.Sort();
        var requests = Interlocked.Read(ref generator.Completed);
        var perRequest = requests == 0 ? 0 : 1_000_000.0 / requests;
        return new BenchRow(
            tabs,
            connections,
            requests,
            Interlocked.Read(ref generator.Errors),
            Math.Round(requests / elapsed, 1),
            Math.Round(requests / elapsed / tabs, 1),
            Math.Round(LoadGenerator.Percentile(latencies, 50), 3),
            Math.Round(LoadGenerator.Percentile(latencies, 90), 3),
            Math.Round(LoadGenerator.Percentile(latencies, 99), 3),
            Math.Round(hostCpu * perRequest, 1),
            Math.Round(Math.Max(chromiumCpu, 0) * perRequest, 1),
            Math.Round(ProcessStats.PssMb(Environment.ProcessId), 1),
            Math.Round(tree.Sum(ProcessStats.PssMb), 1),
            LeanProxy.Engine.Metrics.RequestTimeline.Enabled ? LeanProxy.Engine.Metrics.RequestTimeline.Take() : null);
    }

    internal static string FormatTable(BenchReport report)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"leanproxy bench {report.App} ({(report.Path.StartsWith('/') ? "GET " + report.Path : report.Path + " request-reply")}, " +
                $"{report.DurationSeconds:0.#} s per row; host CPU includes the load generator)");
        text.AppendLine("| tabs | conns | req/s | req/s per tab | p50 ms | p90 ms | p99 ms | errors | CPU µs/req host | CPU µs/req Chromium | PSS MB host " +
            "| PSS MB Chromium |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in report.Rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Tabs} | {r.Connections} | {r.RequestsPerSecond:0} | {r.RequestsPerSecondPerTab:0} | {r.P50Ms:0.000} | {r.P90Ms:0.000} | " +
                    $"{r.P99Ms:0.000} | {r.Errors} | {r.HostCpuMicrosecondsPerRequest:0.0} | {r.ChromiumCpuMicrosecondsPerRequest:0.0} | {r.HostPssMb:0} | " +
                        $"{r.ChromiumPssMb:0} |");
        }

        foreach (var r in report.Rows.Where(r => r.Timeline is { Samples: > 0 }))
        {
            var t = r.Timeline!;
            text.AppendLine(CultureInfo.InvariantCulture,
                $"timeline tabs={r.Tabs} conns={r.Connections} (medians, µs, {t.Samples} requests): engine in → written to the pipe {t.ToWriteUs:0.0} · " +
                    $"written → reply read {t.RoundTripUs:0.0} · reply read → completed {t.ToCompleteUs:0.0} · completed → response written " +
                        $"{t.ToRespondUs:0.0}; the client's p50 {r.P50Ms * 1000:0}");
        }

        foreach (var connections in report.Rows.Select(r => r.Connections).Distinct())
        {
            var byTabs = report.Rows.Where(r => r.Connections == connections).OrderBy(r => r.Tabs).ToList();
            if (byTabs.Count > 1 && byTabs[0].RequestsPerSecond > 0)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"scaling at {connections} connections: {byTabs[0].Tabs} → {byTabs[^1].Tabs} tabs = " +
                        $"{byTabs[^1].RequestsPerSecond / byTabs[0].RequestsPerSecond:0.00}×");
            }
        }

        return text.ToString();
    }
}
