using System.Net;
using System.Net.Sockets;
using System.Text;
using LeanProxy.Listener.Http;

namespace LeanProxy.Listener.Tests;

/// <summary>The listener over real loopback sockets: limits, timeouts and stopping.</summary>
[NonParallelizable]
public sealed class SocketListenerTests
{
    private static async Task<string> ExchangeAsync(Socket socket, string request, CancellationToken cancellationToken)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
        return await ReadUntilCloseOrResponseAsync(socket, cancellationToken);
    }

    private static async Task<string> ReadUntilCloseOrResponseAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        var text = new StringBuilder();
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return text.ToString();
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            var all = text.ToString();
            var headEnd = all.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd > 0 && all.Contains("Content-Length: ", StringComparison.Ordinal))
            {
                var start = all.IndexOf("Content-Length: ", StringComparison.Ordinal) + 16;
                var length = int.Parse(all[start..all.IndexOf('\r', start)], System.Globalization.CultureInfo.InvariantCulture);
                if (all.Length >= headEnd + 4 + length)
                {
                    return all;
                }
            }
        }
    }

    private static async Task<Socket> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint, cancellationToken);
        return socket;
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task ASlowHeaderGets408AndIsClosed(CancellationToken cancellationToken)
    {
        var options = new HttpListenerOptions { HeadersTimeout = TimeSpan.FromMilliseconds(500) };
        await using var listener = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new HttpDriver(RecordingHandler.Echo(), options), 16);
        listener.Start();
        using var socket = await ConnectAsync(listener.EndPoint, cancellationToken);
        var response = await ExchangeAsync(socket, "GET / HTTP/1.1\r\nHost: a\r\n", cancellationToken);
        Assert.That(response, Does.StartWith("HTTP/1.1 408 Request Timeout").And.Contain("Connection: close"));
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task BeyondMaxConnectionsANewConnectionWaitsUntilAnotherCloses(CancellationToken cancellationToken)
    {
        var handler = RecordingHandler.Echo();
        await using var listener = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new HttpDriver(handler, new HttpListenerOptions()), maxConnections: 1);
        listener.Start();
        using var first = await ConnectAsync(listener.EndPoint, cancellationToken);
        Assert.That(await ExchangeAsync(first, "GET /first HTTP/1.1\r\nHost: a\r\n\r\n", cancellationToken), Does.Contain("GET /first"));

        using var second = await ConnectAsync(listener.EndPoint, cancellationToken); // completes in the backlog
        await second.SendAsync(Encoding.ASCII.GetBytes("GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), cancellationToken);
        await Task.Delay(300, cancellationToken);
        Assert.That(handler.Calls, Is.EqualTo(1), "the second connection is not served while the first is open");

        first.Shutdown(SocketShutdown.Both);
        first.Close();
        Assert.That(await ReadUntilCloseOrResponseAsync(second, cancellationToken), Does.Contain("GET /second"));
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task BeforeStartConnectionsAreRefused(CancellationToken cancellationToken)
    {
        await using var listener = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new HttpDriver(RecordingHandler.Echo(), new HttpListenerOptions()), 16);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.That(async () => await socket.ConnectAsync(listener.EndPoint, cancellationToken), Throws.InstanceOf<SocketException>());
    }

    [Test]
    public async Task ASecondListenerOnTheSamePortIsRefusedNotShared()
    {
        await using var first = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new HttpDriver(RecordingHandler.Echo(), new HttpListenerOptions()), 16);
        first.Start();
        var error = Assert.Throws<SocketException>(() => SocketListener.Bind(first.EndPoint, new HttpDriver(RecordingHandler.Echo(), new HttpListenerOptions()), 16));
        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse), "two servers must not split one port's connections (SO_REUSEPORT)");
    }

    [Test]
    [CancelAfter(15_000)]
    public async Task StopFinishesTheRequestInFlightAndClosesIdleConnections(CancellationToken cancellationToken)
    {
        var release = new TaskCompletionSource();
        var handler = new RecordingHandler(async request =>
        {
            if (request.TargetString == "/slow")
            {
                await release.Task;
            }

            return new ProxyResponse(200) { Body = Encoding.ASCII.GetBytes(request.TargetString) };
        });
        var listener = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new HttpDriver(handler, new HttpListenerOptions()), 16);
        listener.Start();
        using var idle = await ConnectAsync(listener.EndPoint, cancellationToken);
        Assert.That(await ExchangeAsync(idle, "GET /idle HTTP/1.1\r\nHost: a\r\n\r\n", cancellationToken), Does.Contain("/idle"));
        using var busy = await ConnectAsync(listener.EndPoint, cancellationToken);
        await busy.SendAsync(Encoding.ASCII.GetBytes("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"), cancellationToken);
        while (handler.Calls < 2)
        {
            await Task.Delay(10, cancellationToken);
        }

        var stopping = listener.StopAsync(TimeSpan.FromSeconds(10));
        Assert.That(await ReadUntilCloseOrResponseAsync(idle, cancellationToken), Is.Empty, "the idle connection is closed");
        release.SetResult();
        var last = await ReadUntilCloseOrResponseAsync(busy, cancellationToken);
        Assert.That(last, Does.Contain("Connection: close").And.EndWith("/slow"));
        await stopping;
        await listener.DisposeAsync();
    }
}
