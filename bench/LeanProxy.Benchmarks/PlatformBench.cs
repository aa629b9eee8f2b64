using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using LeanProxy.Engine.Apps;
using LeanProxy.Tests.Shared;

namespace LeanProxy.Benchmarks;

/// <summary>
/// <c>platform [--binary out/leanproxy] [--duration 10s] [--deploys 20]</c>: what node mode costs, through the real
/// binary. (1) hello through <c>serve APP</c> and through a node (routed by Host) with wrk at 1 and 64 connections,
/// interleaved twice; (2) deploy → served by every node: two nodes on one throwaway PostgreSQL, N deploys through the
/// first, the time until both answer the new version.
/// </summary>
internal static partial class PlatformBench
{
    private const string Token = "bench-token-0123456789";

    public static async Task<int> RunAsync(string[] args)
    {
        var binary = Path.GetFullPath(Option(args, "--binary") ?? "out/leanproxy");
        var duration = Option(args, "--duration") ?? "10s";
        var deploys = int.Parse(Option(args, "--deploys") ?? "20", CultureInfo.InvariantCulture);
        if (!File.Exists(binary))
        {
            await Console.Error.WriteLineAsync($"error: {binary} not found (./build.sh publish, or --binary PATH)").ConfigureAwait(false);
            return 2;
        }

        var work = Path.Combine(Path.GetTempPath(), "lp-platform-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            var app = Path.Combine(work, "hello");
            Directory.CreateDirectory(app);
            await File.WriteAllTextAsync(Path.Combine(app, "index.js"), HelloHandler);
            await RoutingCostAsync(binary, app, work, duration);
            await PropagationAsync(binary, work, deploys);
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task RoutingCostAsync(string binary, string app, string work, string duration)
    {
        Console.WriteLine($"## hello: serve APP vs a node (routed by Host), wrk -t1 {duration}, two interleaved rounds\n");
        Console.WriteLine("| round | mode | c1 req/s | c1 p50 ms | c64 req/s | c64 p50 ms |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|");
        var results = new Dictionary<string, List<(double Rps1, double Rps64)>> { ["serve APP"] = [], ["node"] = [] };
        for (var round = 1; round <= 2; round++)
        {
            await using (var serve = await Server.StartAsync(binary, work, "serve", app, "--http", "127.0.0.1:0", "--tabs", "1", "--no-spare"))
            {
                var row = await MeasureAsync(serve.HttpPort, null, duration);
                results["serve APP"].Add((row.Rps1, row.Rps64));
                Console.WriteLine($"| {round} | serve APP | {row.Rps1:0} | {row.P50First:0.00} | {row.Rps64:0} | {row.P50Second:0.00} |");
            }

            await using (var node = await Server.StartAsync(binary, work, "serve", "--store", "sqlite:" + Path.Combine(work, $"route-{round}.db"), "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--tabs", "1"))
            {
                await DeployAsync(node.AdminPort, "hello", app);
                var row = await MeasureAsync(node.HttpPort, $"hello.localhost:{node.HttpPort}", duration);
                results["node"].Add((row.Rps1, row.Rps64));
                Console.WriteLine($"| {round} | node | {row.Rps1:0} | {row.P50First:0.00} | {row.Rps64:0} | {row.P50Second:0.00} |");
            }
        }

        var serveAvg = (results["serve APP"].Average(r => r.Rps1), results["serve APP"].Average(r => r.Rps64));
        var nodeAvg = (results["node"].Average(r => r.Rps1), results["node"].Average(r => r.Rps64));
        Console.WriteLine($"\nnode ÷ serve APP (means of the rounds): c1 {nodeAvg.Item1 / serveAvg.Item1:0.000}×, c64 {nodeAvg.Item2 / serveAvg.Item2:0.000}×\n");
    }

    private static async Task<(double Rps1, double P50First, double Rps64, double P50Second)> MeasureAsync(int port, string? host, string duration)
    {
        await WrkAsync(port, host, 16, "2s"); // warm-up
        var one = await WrkAsync(port, host, 1, duration);
        var many = await WrkAsync(port, host, 64, duration);
        return (one.Rps, one.P50, many.Rps, many.P50);
    }

    private static async Task<(double Rps, double P50)> WrkAsync(int port, string? host, int connections, string duration)
    {
        var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-t1", $"-c{connections}", $"-d{duration}", "--latency" })
        {
            info.ArgumentList.Add(arg);
        }

        if (host is not null)
        {
            info.ArgumentList.Add("-H");
            info.ArgumentList.Add("Host: " + host);
        }

        info.ArgumentList.Add($"http://127.0.0.1:{port}/bench/path?x=1");
        using var wrk = Process.Start(info)!;
        var output = await wrk.StandardOutput.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        var rps = RequestsPerSecond().Match(output);
        var p50 = Median().Match(output);
        if (!rps.Success || !p50.Success || NonSuccess().IsMatch(output))
        {
            throw new InvalidOperationException("wrk reported errors or no figures:\n" + output);
        }

        var latency = double.Parse(p50.Groups[1].Value, CultureInfo.InvariantCulture) * (p50.Groups[2].Value switch { "us" => 0.001, "s" => 1000, _ => 1 });
        return (double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture), latency);
    }

    private static async Task PropagationAsync(string binary, string work, int deploys)
    {
        await using var postgres = await PostgresCluster.StartAsync();
        await using var first = await Server.StartAsync(binary, work, "serve", "--store", postgres.Uri(), "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--tabs", "1");
        await using var second = await Server.StartAsync(binary, work, "serve", "--store", postgres.Uri(), "--http", "127.0.0.1:0", "--tabs", "1");
        var times = new List<double>();
        for (var i = 1; i <= deploys; i++)
        {
            var folder = Path.Combine(work, "v" + i);
            Directory.CreateDirectory(folder);
            var expected = "version " + i;
            await File.WriteAllTextAsync(Path.Combine(folder, "index.js"), $"export default {{ fetch() {{ return new Response({System.Text.Json.JsonSerializer.Serialize(expected)}); }} }};\n");
            var stopwatch = Stopwatch.StartNew();
            await DeployAsync(first.AdminPort, "spread", folder);
            await Task.WhenAll(WaitForAsync(first.HttpPort, expected), WaitForAsync(second.HttpPort, expected));
            times.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine($"## deploy → served by every node: two nodes on one PostgreSQL, {deploys} deploys through the first\n");
        Console.WriteLine("| p50 ms | p90 ms | p99 ms | max ms |");
        Console.WriteLine("|---:|---:|---:|---:|");
        Console.WriteLine($"| {Percentile(times, 50):0} | {Percentile(times, 90):0} | {Percentile(times, 99):0} | {times[^1]:0} |\n");
        Console.WriteLine("(from the start of the upload to both nodes answering the new version; the deploy includes the first node's scratch-tab check)");
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100 * sorted.Count) - 1)];

    private static async Task WaitForAsync(int port, string expected)
    {
        using var client = new HttpClient();
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/");
            request.Headers.Host = $"spread.localhost:{port}";
            using var response = await client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.OK && await response.Content.ReadAsStringAsync() == expected)
            {
                return;
            }

            await Task.Delay(5);
        }
    }

    private static async Task DeployAsync(int adminPort, string name, string folder)
    {
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var content = new ByteArrayContent(BundleArchive.Pack(folder));
        using var response = await client.PutAsync($"http://127.0.0.1:{adminPort}/v1/apps/{name}", content);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"deploy {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"\s50%\s+([0-9.]+)(us|ms|s)")]
    private static partial Regex Median();

    [GeneratedRegex(@"Non-2xx or 3xx responses|Socket errors")]
    private static partial Regex NonSuccess();

    private const string HelloHandler = """
        // The peers' hello handler (shared/peers/handlers/hello.mjs): {"method","path","n"} as JSON.
        let n = 0;
        export default {
          fetch(request) {
            n += 1;
            const url = new URL(request.url);
            return new Response(JSON.stringify({ method: request.method, path: url.pathname, n }), {
              headers: { "content-type": "application/json" },
            });
          },
        };
        """;

    /// <summary>A leanproxy process started by the benchmark and stopped (SIGTERM, by PID) with it.</summary>
    private sealed class Server : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();

        private Server(Process process) => _process = process;

        public int HttpPort { get; private set; }

        public int AdminPort { get; private set; }

        public static async Task<Server> StartAsync(string binary, string work, params string[] args)
        {
            var token = Path.Combine(work, "token");
            await File.WriteAllTextAsync(token, Token);
            var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            if (args.Contains("--admin"))
            {
                info.ArgumentList.Add("--admin-token-file");
                info.ArgumentList.Add(token);
            }

            info.Environment["TMPDIR"] = work;
            var server = new Server(Process.Start(info)!);
            server._process.OutputDataReceived += (_, e) => { lock (server._stdout) { server._stdout.AppendLine(e.Data); } };
            server._process.ErrorDataReceived += (_, e) => { lock (server._stderr) { server._stderr.AppendLine(e.Data); } };
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                string text;
                lock (server._stdout)
                {
                    text = server._stdout.ToString();
                }

                var http = Regex.Match(text, @"listening http://127\.0\.0\.1:(\d+)");
                var admin = Regex.Match(text, @"listening admin http://127\.0\.0\.1:(\d+)");
                if (http.Success && (!args.Contains("--admin") || admin.Success))
                {
                    server.HttpPort = int.Parse(http.Groups[1].Value, CultureInfo.InvariantCulture);
                    server.AdminPort = admin.Success ? int.Parse(admin.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
                    return server;
                }

                if (server._process.HasExited)
                {
                    break;
                }

                await Task.Delay(20);
            }

            await server.DisposeAsync();
            throw new InvalidOperationException($"{binary} {string.Join(' ', args)} did not start: {server._stderr}");
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
                {
                    await kill.WaitForExitAsync();
                }

                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            }

            _process.Dispose();
        }
    }
}
