using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LeanProxy.Engine.Egress;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Tests;

/// <summary>The egress proxy with real sockets: the cap on connections one app's pages hold open at once.</summary>
public sealed class EgressProxyTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task ConnectionsPastTheCapAreClosedAtOnceAndAdmittedAgainWhenSomeClose(CancellationToken cancellationToken)
    {
        // A destination, opened to the app with --allow-net, that holds every connection until its client closes it.
        using var destination = new TcpListener(IPAddress.Loopback, 0);
        destination.Start(1024);
        _ = Task.Run(async () =>
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                _ = HoldAsync(await destination.AcceptSocketAsync(cancellationToken), cancellationToken);
            }
        }, cancellationToken);
        var port = ((IPEndPoint)destination.LocalEndpoint).Port;
        var log = new ListLogger();
        await using var proxy = EgressProxy.Start(new EgressPolicy([AllowedDestination.Parse($"127.0.0.1:{port}")]), "greedy", log);

        var clients = new List<(Socket Socket, string Answer)>();
        for (var i = 0; i < EgressProxy.MaxConnections + 44; i++)
        {
            clients.Add(await ConnectAsync(proxy.EndPoint, port, cancellationToken));
        }

        var established = clients.Where(c => c.Answer.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)).ToList();
        Assert.That(established, Has.Count.EqualTo(EgressProxy.MaxConnections));
        Assert.That(clients.Skip(EgressProxy.MaxConnections).Select(c => c.Answer), Is.All.EqualTo("closed"), "one more is closed without an answer");
        Assert.That(log.Lines.Count(l => l.Contains("App greedy: its pages have 256 connections open; refusing more", StringComparison.Ordinal)), Is.EqualTo(1), "logged once, not 44 times");

        foreach (var (socket, _) in established.Take(10))
        {
            socket.Dispose();
        }

        // The proxy sees the closes a moment later: admitted again once it has.
        var again = await ConnectAsync(proxy.EndPoint, port, cancellationToken);
        for (var attempt = 0; again.Answer == "closed" && attempt < 100; attempt++)
        {
            await Task.Delay(50, cancellationToken);
            again.Socket.Dispose();
            again = await ConnectAsync(proxy.EndPoint, port, cancellationToken);
        }

        Assert.That(again.Answer, Does.StartWith("HTTP/1.1 200"));
        again.Socket.Dispose();
        foreach (var (socket, _) in clients)
        {
            socket.Dispose();
        }
    }

    private static async Task HoldAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var _ = socket;
        var buffer = new byte[256];
        try
        {
            while (await socket.ReceiveAsync(buffer, cancellationToken) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
        }
    }

    private static async Task<(Socket Socket, string Answer)> ConnectAsync(IPEndPoint proxy, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(proxy, cancellationToken);
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"), cancellationToken);
            var buffer = new byte[256];
            var read = await socket.ReceiveAsync(buffer, cancellationToken);
            return (socket, read == 0 ? "closed" : Encoding.ASCII.GetString(buffer, 0, read));
        }
        catch (SocketException)
        {
            return (socket, "closed"); // closed with the request unread: a reset
        }
    }

    private sealed class ListLogger : ILogger
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));
    }
}
