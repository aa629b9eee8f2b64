using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LeanProxy.Tests.Shared;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// The chaos soak (docs/RELIABILITY.md): a node on PostgreSQL under steady load — hellos, streamed bodies and KV
/// writes — while on a schedule a renderer is killed, a handler spins until it is terminated, the whole browser is
/// killed, the store is stopped and started again, and the app is redeployed. Every request is accounted for:
/// answered correctly, answered with an error (which and why), or lost (no answer: there must be none). GETs whose
/// tab died are retried and succeed; a POST is never run twice; every acknowledged KV write is there afterwards; the
/// host's file descriptors and memory come back near where they started. 30 s in the suite;
/// <c>bench/chaos/run.sh</c> runs it for longer (LEANPROXY_CHAOS_SECONDS).
/// </summary>
[TestFixture]
[Category(TestCategories.Soak)]
[NonParallelizable]
public sealed class ChaosSoakTests
{
    private static readonly string StreamBody = string.Concat(Enumerable.Range(0, 20).Select(i => $"chunk {i};"));

    [Test]
    [CancelAfter(3_600_000)]
    public async Task UnderFaultsNothingIsLostNoWriteRunsTwiceAndEveryAcknowledgedWriteStays(CancellationToken cancellationToken)
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("LEANPROXY_CHAOS_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 30;
        await using var postgres = await PostgresCluster.StartAsync(cancellationToken);
        await using var node = await NodeHarness.StartAsync(postgres.Uri(), admin: true, cancellationToken, "--timeout", "5");
        Assert.That((await node.CliAsync(cancellationToken, "deploy", LeanProxyProcess.AppPath("chaos"), "--name", "chaos", "--kv", "KV")).Code, Is.Zero);
        Assert.That(await node.GetAsync("chaos", "/hello", cancellationToken), Is.EqualTo((200, "hello 0")));

        // Warm up, then the host's baseline.
        await RunLoadAsync(node, TimeSpan.FromSeconds(3), new Tally(), new ConcurrentBag<string>(), cancellationToken);
        var (fdsBefore, pssBefore) = HostResources(node.Process.Pid);

        var tally = new Tally();
        var writes = new ConcurrentBag<string>();
        var clock = Stopwatch.StartNew();
        var load = RunLoadAsync(node, TimeSpan.FromSeconds(seconds), tally, writes, cancellationToken);
        var faults = RunFaultsAsync(node, postgres, TimeSpan.FromSeconds(seconds), tally, cancellationToken);
        await Task.WhenAll(load, faults);

        // Settle: the node is ready again (the store back, the browser up); then read what every write left.
        while ((await node.AdminAsync(HttpMethod.Get, "/readyz", cancellationToken)).Status != 200)
        {
            await Task.Delay(100, cancellationToken);
        }

        var kv = await ReadWritesAsync(node, writes.ToArray(), cancellationToken);

        // The connections of the load close as their clients go: the host's file descriptors come back within seconds.
        var (fdsAfter, pssAfter) = HostResources(node.Process.Pid);
        for (var settle = Stopwatch.StartNew(); fdsAfter > fdsBefore + 32 && settle.Elapsed < TimeSpan.FromSeconds(10);)
        {
            await Task.Delay(100, cancellationToken);
            (fdsAfter, pssAfter) = HostResources(node.Process.Pid);
        }

        TestContext.Out.WriteLine($"chaos soak: {seconds} s, {tally.Total} requests; faults: {string.Join(", ", tally.Faults)}");
        TestContext.Out.WriteLine("| request | outcome | count |");
        TestContext.Out.WriteLine("|---|---|---:|");
        foreach (var (key, count) in tally.Outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            TestContext.Out.WriteLine($"| {key.Replace(" → ", " | ", StringComparison.Ordinal)} | {count} |");
        }

        var twice = kv.Where(w => w.Value.Runs > 1).Select(w => w.Key).ToList();
        var missing = tally.Acknowledged.Where(id => !kv[id].Acked || kv[id].Runs != 1).ToList();
        var acknowledged = tally.Acknowledged.ToHashSet(StringComparer.Ordinal);
        var unacknowledgedRan = kv.Count(w => w.Value.Runs == 1 && !acknowledged.Contains(w.Key));
        TestContext.Out.WriteLine($"writes: {kv.Count} ids; acknowledged {acknowledged.Count}, of which missing or not run once: {missing.Count}; ran twice: {twice.Count}; ran once without an acknowledgement (502, 504 or 500 after the write): {unacknowledgedRan}");
        TestContext.Out.WriteLine($"host: {fdsBefore} → {fdsAfter} file descriptors, {pssBefore:0} → {pssAfter:0} MB PSS");
        Assert.Multiple(() =>
        {
            Assert.That(tally.Outcomes.Keys.Where(k => k.EndsWith("lost", StringComparison.Ordinal)), Is.Empty, "no request without an answer");
            Assert.That(tally.Outcomes.Keys.Where(k => k.StartsWith("GET /hello", StringComparison.Ordinal)).Select(k => k.Split(" → ")[1]), Is.SubsetOf(new[] { "200 ok", "504 Gateway Timeout" }),
                "a GET whose tab died is retried and succeeds (a 504 is one that waited behind the spinning handler past its deadline)");
            Assert.That(twice, Is.Empty, "no write ran twice");
            Assert.That(missing, Is.Empty, "every acknowledged write is in KV, run once");
            Assert.That(tally.Outcomes.Keys.Where(k => k.StartsWith("POST", StringComparison.Ordinal)).Select(k => k.Split(" → ")[1]),
                Is.SubsetOf(new[] { "200 ok", "502 tab crashed", "504 Gateway Timeout", "500 handler failed (KV: the store was away)" }));
            Assert.That(fdsAfter, Is.LessThanOrEqualTo(fdsBefore + 32), "file descriptors back near the start");
            Assert.That(pssAfter, Is.LessThanOrEqualTo((pssBefore * 1.5) + 20), "memory back near the start");
            Assert.That(tally.Faults, Has.Some.StartsWith("renderer").And.Some.StartsWith("browser").And.Some.StartsWith("store").And.Some.StartsWith("spin"));
        });
    }

    /// <summary>4 clients for <paramref name="duration"/>: half hellos, a fifth streams, the rest KV writes with ids of their own.</summary>
    private static Task RunLoadAsync(NodeHarness node, TimeSpan duration, Tally tally, ConcurrentBag<string> writes, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, 4).Select(async client =>
        {
            var until = DateTime.UtcNow + duration;
            for (var i = 0; DateTime.UtcNow < until; i++)
            {
                switch (i % 10)
                {
                    case < 5:
                        tally.Add("GET /hello", await OutcomeAsync(node, HttpMethod.Get, "/hello", b => b.StartsWith("hello ", StringComparison.Ordinal), cancellationToken));
                        break;
                    case < 7:
                        tally.Add("GET /stream", await OutcomeAsync(node, HttpMethod.Get, "/stream", b => b == StreamBody, cancellationToken));
                        break;
                    default:
                        var id = $"{client}-{i}-{Guid.NewGuid():N}"[..20];
                        writes.Add(id);
                        var outcome = await OutcomeAsync(node, HttpMethod.Post, "/write?id=" + id, b => b == "ok " + id, cancellationToken);
                        tally.Add("POST /write", outcome);
                        if (outcome == "200 ok")
                        {
                            tally.Acknowledged.Add(id);
                        }

                        break;
                }
            }
        }));

    private static async Task<string> OutcomeAsync(NodeHarness node, HttpMethod method, string path, Func<string, bool> correct, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(method, $"http://127.0.0.1:{node.HttpPort}{path}");
            request.Headers.Host = $"chaos.localhost:{node.HttpPort}";
            response = await node.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException)
        {
            return "lost";
        }

        using (response)
        {
            string body;
            try
            {
                body = await response.Content.ReadAsStringAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                return (int)response.StatusCode + " body cut (its tab died mid-stream)";
            }

            var status = (int)response.StatusCode;
            return status switch
            {
                200 when correct(body) => "200 ok",
                200 => "200 wrong body: " + body[..Math.Min(body.Length, 40)],
                502 when body.Contains("crashed", StringComparison.Ordinal) => "502 tab crashed",
                500 when path.StartsWith("/write", StringComparison.Ordinal) => "500 handler failed (KV: the store was away)",
                _ => $"{status} {body.Split('\n')[0][..Math.Min(body.Split('\n')[0].Length, 60)]}",
            };
        }
    }

    /// <summary>Every ~4 s the next fault: kill a renderer, spin a handler, kill the browser, stop the store for 3 s, redeploy.</summary>
    private static async Task RunFaultsAsync(NodeHarness node, PostgresCluster postgres, TimeSpan duration, Tally tally, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + duration - TimeSpan.FromSeconds(3);
        var version = 0;
        for (var step = 0; DateTime.UtcNow < until; step++)
        {
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
            switch (step % 5)
            {
                case 0:
                    var renderers = Chromium(node.Process.Pid).Where(p => p.CommandLine.Contains("--type=renderer", StringComparison.Ordinal)).Select(p => p.Pid).ToList();
                    if (renderers.Count > 0)
                    {
                        Process.GetProcessById(renderers[step % renderers.Count]).Kill();
                        tally.Faults.Enqueue($"renderer {renderers[step % renderers.Count]} killed");
                    }
                    else
                    {
                        tally.Faults.Enqueue("no renderer found");
                    }

                    break;
                case 1:
                    tally.Faults.Enqueue("spin: " + await OutcomeAsync(node, HttpMethod.Get, "/spin", _ => false, cancellationToken));
                    break;
                case 2:
                    if (Chromium(node.Process.Pid).Where(p => !p.CommandLine.Contains("--type=", StringComparison.Ordinal)).Select(p => p.Pid).FirstOrDefault() is > 0 and var browser)
                    {
                        Process.GetProcessById(browser).Kill();
                        tally.Faults.Enqueue($"browser {browser} killed");
                    }

                    break;
                case 3:
                    await postgres.StopServerAsync(cancellationToken);
                    await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
                    await postgres.StartServerAsync(cancellationToken);
                    tally.Faults.Enqueue("store stopped for 3 s");
                    break;
                default:
                    var (code, _, stderr) = await node.CliAsync(cancellationToken, "deploy", LeanProxyProcess.AppPath("chaos"), "--name", "chaos", "--kv", "KV", "--var", "VERSION=" + ++version);
                    tally.Faults.Enqueue(code == 0 ? $"redeployed (version {version + 1})" : "redeploy refused: " + stderr.Trim());
                    break;
            }
        }
    }

    private static async Task<Dictionary<string, (int Runs, bool Acked)>> ReadWritesAsync(NodeHarness node, string[] ids, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, (int Runs, bool Acked)>(StringComparer.Ordinal);
        foreach (var chunk in ids.Chunk(100))
        {
            var (status, body) = await node.GetAsync("chaos", "/check?ids=" + string.Join(',', chunk), cancellationToken);
            Assert.That(status, Is.EqualTo(200), body);
            foreach (var property in JsonDocument.Parse(body).RootElement.EnumerateObject())
            {
                result[property.Name] = (property.Value[0].GetInt32(), property.Value[1].GetBoolean());
            }
        }

        return result;
    }

    private static IEnumerable<(int Pid, string CommandLine)> Chromium(int root) =>
        ProcessTree.Descendants(root).Select(pid => (pid, ProcessTree.CommandLine(pid))).Where(p => p.Item2.Contains("chromium", StringComparison.Ordinal) && !p.Item2.Contains("chrome_crashpad_handler", StringComparison.Ordinal));

    /// <summary>The host process's open file descriptors and PSS in MB.</summary>
    private static (int Fds, double PssMb) HostResources(int pid) =>
        (Directory.GetFiles($"/proc/{pid}/fd").Length,
         File.ReadLines($"/proc/{pid}/smaps_rollup").Where(l => l.StartsWith("Pss:", StringComparison.Ordinal)).Sum(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)) / 1024.0);

    private sealed class Tally
    {
        public ConcurrentDictionary<string, int> Outcomes { get; } = new(StringComparer.Ordinal);

        public ConcurrentBag<string> Acknowledged { get; } = [];

        public ConcurrentQueue<string> Faults { get; } = new();

        public int Total => Outcomes.Values.Sum();

        public void Add(string request, string outcome) => Outcomes.AddOrUpdate(request + " → " + outcome, 1, (_, n) => n + 1);
    }
}
