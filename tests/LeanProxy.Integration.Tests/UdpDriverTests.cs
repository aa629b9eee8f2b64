using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace LeanProxy.Integration.Tests;

/// <summary>UDP through the real binary (<c>--udp</c> next to <c>--http</c>), real sockets and a real Chromium tab running apps/udp-echo.</summary>
[TestFixture]
[NonParallelizable]
public sealed class UdpDriverTests
{
    private LeanProxyProcess _host = null!;
    private IPEndPoint _udp = null!;
    private IPEndPoint _http = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        (_host, var listeners) = await TcpDriverTests.StartListeningAsync(
            timeout.Token, "serve", LeanProxyProcess.AppPath("udp-echo"), "--http", "127.0.0.1:0", "--udp", "127.0.0.1:0", "--tabs", "1", "--no-spare");
        _udp = listeners.Single(l => l.Scheme == "udp").EndPoint;
        _http = listeners.Single(l => l.Scheme == "http").EndPoint;
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    [Test]
    [CancelAfter(30_000)]
    public async Task DatagramsRoundTripIncludingAnEmptyOneAndOneOf60KiB(CancellationToken cancellationToken)
    {
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var large = new byte[60 * 1024];
        new Random(3).NextBytes(large);

        Assert.That(await RoundTripAsync(client, "hello"u8.ToArray(), cancellationToken), Is.EqualTo("hello"u8.ToArray()));
        Assert.That(await RoundTripAsync(client, [], cancellationToken), Is.Empty, "an empty datagram gets an empty reply");
        Assert.That(await RoundTripAsync(client, large, cancellationToken), Is.EqualTo(large), "60 KiB in one datagram, byte-exact");
        Assert.That(await RoundTripAsync(client, Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), cancellationToken), Is.EqualTo(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray()));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task StringsArrayBuffersAndPromisesAreReplies(CancellationToken cancellationToken)
    {
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.That(Encoding.UTF8.GetString(await RoundTripAsync(client, "text"u8.ToArray(), cancellationToken)), Is.EqualTo("héllo"));
        Assert.That(await RoundTripAsync(client, "buffer"u8.ToArray(), cancellationToken), Is.EqualTo(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray()));
        Assert.That(await RoundTripAsync(client, "async"u8.ToArray(), cancellationToken), Is.EqualTo("later"u8.ToArray()));

        using var info = JsonDocument.Parse(await RoundTripAsync(client, "info"u8.ToArray(), cancellationToken));
        var port = ((IPEndPoint)client.Client.LocalEndPoint!).Port;
        Assert.That(info.RootElement.GetProperty("remoteAddress").GetString(), Is.EqualTo("127.0.0.1"));
        Assert.That(info.RootElement.GetProperty("remotePort").GetInt32(), Is.EqualTo(port));
        Assert.That(info.RootElement.GetProperty("ctxPort").GetInt32(), Is.EqualTo(port));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AHandlerErrorOrNoReturnValueDropsOnlyThatReply(CancellationToken cancellationToken)
    {
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        foreach (var silent in new[] { "boom", "bad", "none" })
        {
            // The silent datagram goes first, so the first reply to arrive must be the next one's.
            await client.SendAsync(Encoding.ASCII.GetBytes(silent), _udp, cancellationToken);
            Assert.That(Encoding.ASCII.GetString(await RoundTripAsync(client, Encoding.ASCII.GetBytes("after-" + silent), cancellationToken)), Is.EqualTo("after-" + silent));
        }

        await TcpDriverTests.WaitForAsync(() => _host.Stderr.Contains("boom from datagram()", StringComparison.Ordinal), cancellationToken);
        await TcpDriverTests.WaitForAsync(() => _host.Stderr.Contains("datagram() must return", StringComparison.Ordinal), cancellationToken);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task HttpIsServedNextToUdp(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{_http}") };
        Assert.That(await http.GetStringAsync("/", cancellationToken), Is.EqualTo("http ok"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task UdpWithoutADatagramExportExits2NamingIt(CancellationToken cancellationToken)
    {
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("tcp-echo"), "--udp", "127.0.0.1:0", "--tabs", "1", "--no-spare");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(2));
        Assert.That(host.Stderr, Does.Contain("datagram()"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task HttpWithoutAFetchExportExits2NamingIt(CancellationToken cancellationToken)
    {
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("tcp-echo"), "--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--tabs", "1", "--no-spare");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(2));
        Assert.That(host.Stderr, Does.Contain("fetch()").And.Not.Contain("connect()"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AUdpPortInUseExits1NamingIt(CancellationToken cancellationToken)
    {
        using var taken = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var address = taken.Client.LocalEndPoint!.ToString()!;

        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("udp-echo"), "--udp", address, "--tabs", "1", "--no-spare");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(1));
        Assert.That(host.Stderr, Does.Contain("--udp " + address).And.Contain("in use"));
    }

    private async Task<byte[]> RoundTripAsync(UdpClient client, byte[] datagram, CancellationToken cancellationToken)
    {
        await client.SendAsync(datagram, _udp, cancellationToken);
        var reply = await client.ReceiveAsync(cancellationToken);
        Assert.That(reply.RemoteEndPoint, Is.EqualTo(_udp), "the reply comes from the listener's address");
        return reply.Buffer;
    }
}
