using System.Net;
using System.Net.Sockets;
using System.Text;
using LeanProxy.Host.Bench;
using LeanProxy.Host.Cli;

namespace LeanProxy.Host.Tests;

/// <summary>The parts of <c>leanproxy bench</c> that need no browser: options, percentiles, response reading.</summary>
public sealed class BenchTests
{
    [Test]
    public void ListsAndDurationsParse()
    {
        Assert.That(BenchCommand.ParseList("--tabs", "1,2, 4", [9]), Is.EqualTo(new[] { 1, 2, 4 }));
        Assert.That(BenchCommand.ParseList("--tabs", null, [9]), Is.EqualTo(new[] { 9 }));
        Assert.That(BenchCommand.ParseDuration("10s"), Is.EqualTo(TimeSpan.FromSeconds(10)));
        Assert.That(BenchCommand.ParseDuration("500ms"), Is.EqualTo(TimeSpan.FromMilliseconds(500)));
        Assert.That(BenchCommand.ParseDuration("1m"), Is.EqualTo(TimeSpan.FromMinutes(1)));
        Assert.That(BenchCommand.ParseDuration(null), Is.EqualTo(TimeSpan.FromSeconds(10)));
    }

    [TestCase("--tabs", "1,x")]
    [TestCase("--tabs", "0")]
    [TestCase("--connections", "")]
    public void ABadListNamesTheFlag(string flag, string value)
    {
        Assert.That(() => BenchCommand.ParseList(flag, value, [1]), Throws.InstanceOf<UsageException>().With.Message.Contains(flag + " " + value));
    }

    [TestCase("10x")]
    [TestCase("-1s")]
    [TestCase("s")]
    public void ABadDurationNamesTheFlag(string value)
    {
        Assert.That(() => BenchCommand.ParseDuration(value), Throws.InstanceOf<UsageException>().With.Message.Contains("--duration " + value));
    }

    [Test]
    public async Task BadUsageExits2()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Program.RunAsync(["bench", "examples/hello", "--duration", "10x"], stdout, stderr);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain("--duration 10x"));
    }

    [Test]
    public async Task TimelineIsForHttp()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Program.RunAsync(["bench", "examples/tcp-echo", "--protocol", "tcp", "--timeline"], stdout, stderr);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain("--timeline measures HTTP requests: it is not for --protocol tcp."));
    }

    [Test]
    public void PercentilesUseTheNearestRank()
    {
        var sorted = Enumerable.Range(1, 100).Select(i => (double)i).ToList();
        Assert.That(LoadGenerator.Percentile(sorted, 50), Is.EqualTo(50));
        Assert.That(LoadGenerator.Percentile(sorted, 90), Is.EqualTo(90));
        Assert.That(LoadGenerator.Percentile(sorted, 99), Is.EqualTo(99));
        Assert.That(LoadGenerator.Percentile([7], 99), Is.EqualTo(7));
        Assert.That(LoadGenerator.Percentile([], 50), Is.Zero);
    }

    [TestCase("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200)]
    [TestCase("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n", 503)]
    [TestCase("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200)]
    [CancelAfter(10_000)]
    public async Task TheLoadGeneratorReadsWholeResponses(string wire, int status, CancellationToken cancellationToken)
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync((IPEndPoint)server.LocalEndpoint, cancellationToken);
        using var accepted = await server.AcceptSocketAsync(cancellationToken);

        // Sent in two pieces, and followed by a second response that must not be consumed.
        var bytes = Encoding.ASCII.GetBytes(wire + "HTTP/1.1 204 No Content\r\n\r\n");
        await accepted.SendAsync(bytes.AsMemory(0, 20), SocketFlags.None, cancellationToken);
        await Task.Delay(20, cancellationToken);
        await accepted.SendAsync(bytes.AsMemory(20, wire.Length - 20), SocketFlags.None, cancellationToken);
        Assert.That(await LoadGenerator.ReadResponseAsync(client, new byte[4096], cancellationToken), Is.EqualTo(status));
    }
}
