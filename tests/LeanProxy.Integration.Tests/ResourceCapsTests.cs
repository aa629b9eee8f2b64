using System.Net;
using System.Net.Sockets;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// A handler that opens connections and timers without bound (RELIABILITY.md, "Resource limits"): what it can hold is
/// capped — at most 256 connections through the egress proxy, 4,096 pending timers in its tab — and the node keeps
/// answering, the hostile app's own next request included.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ResourceCapsTests
{
    [Category(TestCategories.Load)]
    [Test]
    [CancelAfter(120_000)]
    public async Task TenThousandConnectionsAndTimersAreCappedAndTheNodeKeepsAnswering(CancellationToken cancellationToken)
    {
        using var destination = HoldingServer.Start(cancellationToken);
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("hostile"), cancellationToken, "--allow-net", $"127.0.0.1:{destination.Port}", "--admin", "127.0.0.1:0");
        using var client = new HttpClient { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(30) };

        Assert.That(await client.GetStringAsync($"/connections?n=10000&target=127.0.0.1:{destination.Port}", cancellationToken), Is.EqualTo("opened"));
        while (destination.Peak < 32)
        {
            await Task.Delay(50, cancellationToken);
        }

        await Task.Delay(3000, cancellationToken); // what the page has asked for keeps arriving: watch it a while
        TestContext.Out.WriteLine($"the most connections open at once: {destination.Peak}");
        Assert.That(destination.Peak, Is.InRange(32, 256), "connections held open at once");

        var timers = await client.GetStringAsync("/timers?n=10000", cancellationToken);
        Assert.That(timers, Is.EqualTo("4096 RangeError: LeanProxy: an app's tab may have at most 4096 timers pending; clear one first"));
        var ticks = long.Parse(await client.GetStringAsync("/ticks", cancellationToken));
        while (long.Parse(await client.GetStringAsync("/ticks", cancellationToken)) < ticks + 100_000)
        {
            await Task.Delay(50, cancellationToken); // the intervals keep firing, as fast as Chromium lets them
        }

        // The node answers: the hostile app's next requests, in order, and the operators' probe.
        for (var i = 1; i <= 20; i++)
        {
            Assert.That(await client.GetStringAsync("/count", cancellationToken), Is.EqualTo(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        using var health = await client.GetAsync(new Uri(await host.AdminUri, "/healthz"), cancellationToken);
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(destination.Peak, Is.LessThanOrEqualTo(256));
    }

    /// <summary>Accepts every connection and holds it until the other side closes it; counts the most open at once.</summary>
    private sealed class HoldingServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private int _open;
        private int _peak;

        private HoldingServer(CancellationToken cancellationToken)
        {
            _listener.Start(4096);
            _ = AcceptAsync(cancellationToken);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Peak => Volatile.Read(ref _peak);

        public static HoldingServer Start(CancellationToken cancellationToken) => new(cancellationToken);

        public void Dispose() => _listener.Stop();

        private async Task AcceptAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (true)
                {
                    _ = HoldAsync(await _listener.AcceptSocketAsync(cancellationToken), cancellationToken);
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }

        private async Task HoldAsync(Socket socket, CancellationToken cancellationToken)
        {
            using var _ = socket;
            var open = Interlocked.Increment(ref _open);
            int peak;
            while (open > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, open, peak) != peak)
            {
            }

            try
            {
                var buffer = new byte[1024];
                while (await socket.ReceiveAsync(buffer, cancellationToken) > 0)
                {
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
            }
            finally
            {
                Interlocked.Decrement(ref _open);
            }
        }
    }
}
