using System.Text.Json;

namespace LeanProxy.Integration.Tests;

/// <summary><c>leanproxy bench</c> through the real binary and a real Chromium.</summary>
[TestFixture]
[NonParallelizable]
public sealed class BenchCommandTests
{
    [TestCase("hello", "http")]
    [TestCase("tcp-echo", "tcp")]
    [TestCase("udp-echo", "udp")]
    [CancelAfter(90_000)]
    public async Task BenchPrintsARowPerTabAndConnectionCountAsJson(string example, string protocol, CancellationToken cancellationToken)
    {
        await using var host = LeanProxyProcess.Start("bench", LeanProxyProcess.ExamplePath(example), "--protocol", protocol, "--tabs", "1", "--connections", "1,4", "--duration", "1s", "--json");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.Zero, host.Stderr);
        using var report = JsonDocument.Parse(host.Stdout);
        var rows = report.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.That(rows.Select(r => r.GetProperty("connections").GetInt32()), Is.EqualTo(new[] { 1, 4 }));
        foreach (var row in rows)
        {
            Assert.That(row.GetProperty("tabs").GetInt32(), Is.EqualTo(1));
            Assert.That(row.GetProperty("requestsPerSecond").GetDouble(), Is.GreaterThan(0));
            Assert.That(row.GetProperty("errors").GetInt64(), Is.Zero);
            Assert.That(row.GetProperty("p99Ms").GetDouble(), Is.GreaterThanOrEqualTo(row.GetProperty("p50Ms").GetDouble()));
            Assert.That(row.GetProperty("chromiumPssMb").GetDouble(), Is.GreaterThan(0));
        }
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task TimelineSaysWhereARequestsTimeGoesInTheHost(CancellationToken cancellationToken)
    {
        await using var host = LeanProxyProcess.Start("bench", LeanProxyProcess.ExamplePath("hello"), "--tabs", "1", "--connections", "1", "--duration", "1s", "--timeline", "--json");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.Zero, host.Stderr);
        using var report = JsonDocument.Parse(host.Stdout);
        var row = report.RootElement.GetProperty("rows").EnumerateArray().Single();
        var timeline = row.GetProperty("timeline");
        // The generator stops at its deadline with one request per connection (here one) maybe still in flight: the
        // host completes and times it, the client no longer counts it.
        Assert.That(timeline.GetProperty("samples").GetInt32(), Is.GreaterThan(0).And.LessThanOrEqualTo(row.GetProperty("requests").GetInt64() + 1));
        var stages = new[] { "toWriteUs", "roundTripUs", "toCompleteUs", "toRespondUs" }.Select(s => timeline.GetProperty(s).GetDouble()).ToList();
        Assert.That(stages, Is.All.GreaterThan(0));
        Assert.That(stages.Sum(), Is.LessThan(row.GetProperty("p99Ms").GetDouble() * 1000), "the host's stages are part of what the client waited");
    }
}
