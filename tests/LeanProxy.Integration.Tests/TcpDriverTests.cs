using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LeanProxy.Integration.Tests;

/// <summary>Raw TCP through the real binary (<c>--tcp</c>), real sockets and real Chromium tabs running apps/tcp-echo.</summary>
[TestFixture]
[NonParallelizable]
public sealed class TcpDriverTests
{
    private LeanProxyProcess _host = null!;
    private IPEndPoint _tcp = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        (_host, var listeners) = await StartListeningAsync(timeout.Token, "serve", LeanProxyProcess.AppPath("tcp-echo"), "--tcp", "127.0.0.1:0", "--tabs", "2", "--no-spare");
        _tcp = listeners.Single(l => l.Scheme == "tcp").EndPoint;
        Assert.That(listeners.Select(l => l.Scheme), Is.EqualTo(new[] { "tcp" }), "only --tcp given: no default HTTP listener");
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    [Test]
    [CancelAfter(60_000)]
    public async Task OneMebibyteSentInRandomChunksComesBackByteExact(CancellationToken cancellationToken)
    {
        var random = new Random(7);
        var payload = new byte[1024 * 1024];
        random.NextBytes(payload);
        using var socket = await ConnectAsync(_tcp, cancellationToken);

        var receiving = ReadToEndAsync(socket, cancellationToken);
        for (var offset = 0; offset < payload.Length;)
        {
            var size = Math.Min(random.Next(1, 70_000), payload.Length - offset);
            await socket.SendAsync(payload.AsMemory(offset, size), SocketFlags.None, cancellationToken);
            offset += size;
        }

        socket.Shutdown(SocketShutdown.Send);
        var received = await receiving;
        Assert.That(received, Has.Length.EqualTo(payload.Length));
        Assert.That(received.AsSpan().SequenceEqual(payload), Is.True, "the echo is byte-exact and in order");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AHundredConcurrentConnectionsEachGetTheirOwnBytesBack(CancellationToken cancellationToken)
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            var payload = new byte[8 * 1024 + i];
            new Random(i).NextBytes(payload);
            using var socket = await ConnectAsync(_tcp, cancellationToken);
            var receiving = ReadToEndAsync(socket, cancellationToken);
            await socket.SendAsync(payload, SocketFlags.None, cancellationToken);
            socket.Shutdown(SocketShutdown.Send);
            var received = await receiving;
            return received.AsSpan().SequenceEqual(payload);
        }));

        Assert.That(results, Is.All.True);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AfterTheClientShutsDownItsSendSideItStillReceivesTheRest(CancellationToken cancellationToken)
    {
        var data = Encoding.ASCII.GetBytes("collect:" + new string('x', 100_000));
        using var socket = await ConnectAsync(_tcp, cancellationToken);
        await socket.SendAsync(data, SocketFlags.None, cancellationToken);
        socket.Shutdown(SocketShutdown.Send);

        // The app answers only once it has seen the client's EOF, then closes its writable (the client sees EOF).
        var received = await ReadToEndAsync(socket, cancellationToken);
        var header = $"{data.Length} bytes from 127.0.0.1\n";
        Assert.That(Encoding.ASCII.GetString(received, 0, header.Length), Is.EqualTo(header));
        Assert.That(received.AsSpan(header.Length).SequenceEqual(data), Is.True);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AHandlerErrorClosesOnlyItsOwnConnection(CancellationToken cancellationToken)
    {
        using var healthy = await ConnectAsync(_tcp, cancellationToken);
        Assert.That(await EchoAsync(healthy, "before", cancellationToken), Is.EqualTo("before"));

        using var failing = await ConnectAsync(_tcp, cancellationToken);
        await failing.SendAsync("boom"u8.ToArray(), SocketFlags.None, cancellationToken);
        Assert.That(await ReadToEndAsync(failing, cancellationToken), Is.Empty, "the failing connection is closed without a byte");

        Assert.That(await EchoAsync(healthy, "after", cancellationToken), Is.EqualTo("after"), "the other connection goes on");
        using var fresh = await ConnectAsync(_tcp, cancellationToken);
        Assert.That(await EchoAsync(fresh, "new", cancellationToken), Is.EqualTo("new"), "new connections are served");
        await WaitForAsync(() => _host.Stderr.Contains("boom from connect()", StringComparison.Ordinal), cancellationToken);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TcpWithoutAConnectExportExits2NamingIt(CancellationToken cancellationToken)
    {
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("echo"), "--tcp", "127.0.0.1:0", "--tabs", "1", "--no-spare");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(2));
        Assert.That(host.Stderr, Does.Contain("connect()"));
        Assert.That(host.Stdout, Does.Not.Contain("listening"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ATcpPortInUseExits1NamingIt(CancellationToken cancellationToken)
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var address = taken.LocalEndPoint!.ToString()!;

        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("tcp-echo"), "--tcp", address, "--tabs", "1", "--no-spare");
        Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(1));
        Assert.That(host.Stderr, Does.Contain("--tcp " + address).And.Contain("in use"));
    }

    /// <summary>
    /// Starts the binary and waits for one "listening SCHEME://HOST:PORT" line per listener flag in <paramref name="args"/>.
    /// </summary>
    internal static async Task<(LeanProxyProcess Host, IReadOnlyList<(string Scheme, IPEndPoint EndPoint)> Listeners)> StartListeningAsync(CancellationToken cancellationToken, params string[] args)
    {
        var expected = args.Count(a => a is "--http" or "--tcp" or "--udp");
        var host = LeanProxyProcess.Start(args);
        try
        {
            while (true)
            {
                var lines = host.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Where(l => l.StartsWith("listening ", StringComparison.Ordinal))
                    .ToList();
                if (lines.Count >= expected)
                {
                    return (host, lines.Select(l =>
                    {
                        var uri = new Uri(l["listening ".Length..]);
                        return (uri.Scheme, IPEndPoint.Parse(uri.Authority));
                    }).ToList());
                }

                if (host.HasExited)
                {
                    throw new InvalidOperationException("leanproxy exited before listening:\n" + host.Stderr);
                }

                await Task.Delay(20, cancellationToken);
            }
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    internal static async Task WaitForAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(20, cancellationToken);
        }
    }

    private static async Task<Socket> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    /// <summary>Reads until the server closes its side (EOF) or resets the connection.</summary>
    private static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var count = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (count == 0)
                {
                    break;
                }

                received.Write(buffer, 0, count);
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // A reset ends the stream as well (the handler failed).
        }

        return received.ToArray();
    }

    /// <summary>Sends a short text on an open connection and reads exactly as many bytes back.</summary>
    private static async Task<string> EchoAsync(Socket socket, string text, CancellationToken cancellationToken)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        await socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
        var buffer = new byte[bytes.Length];
        var read = 0;
        while (read < buffer.Length)
        {
            var count = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellationToken);
            if (count == 0)
            {
                break;
            }

            read += count;
        }

        return Encoding.ASCII.GetString(buffer, 0, read);
    }
}
