using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Net;
using System.Text;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Egress;

/// <summary>
/// The HTTP proxy an app's browser context is given (Target.createBrowserContext's proxyServer, loopback included),
/// so that everything the app's pages reach — fetch, WebSocket, XHR, images, imports from a CDN — is decided here by
/// <see cref="EgressPolicy"/> on the addresses this proxy resolved itself and then connects to. HTTPS and WebSocket
/// come as CONNECT (refused: 403, which the page sees as a network error); plain HTTP comes in absolute form (refused:
/// the connection is closed without an answer, so that fetch fails with a TypeError instead of returning a response).
/// One request per connection upstream (Connection: close), so a kept-alive connection cannot carry a request to
/// another host. Listens on 127.0.0.1 only. At most <see cref="MaxConnections"/> connections at once per app (Chromium
/// has its own, lower limits per proxy; this one holds whatever the browser does): one more is refused like a refused
/// destination and logged at most once every ten seconds.
/// </summary>
internal sealed class EgressProxy : IAsyncDisposable
{
    /// <summary>Connections one app's pages may have open through the proxy at once.</summary>
    public const int MaxConnections = 256;
    private const int MaxHead = 16 * 1024;
    private const long CappedLogEveryMs = 10_000;
    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _listener;
    private volatile EgressPolicy _policy;
    private volatile string _app;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, byte> _logged = new(StringComparer.Ordinal);
    private readonly Task _accepting;
    private int _open;
    private long _cappedLoggedAt = -CappedLogEveryMs; // never

    private EgressProxy(EgressPolicy policy, string app, ILogger logger)
    {
        _policy = policy;
        _app = app;
        _logger = logger;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(256);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _accepting = AcceptAsync();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>What Target.createBrowserContext takes as proxyServer.</summary>
    public string ProxyServer => $"http://127.0.0.1:{EndPoint.Port}";

    public static EgressProxy Start(EgressPolicy policy, string app, ILogger logger) => new(policy, app, logger);

    /// <summary>A proxy prepared ahead (<see cref="Apps.PreparedContext"/>) becomes the app's: its policy and its name in the log.</summary>
    public void Assign(EgressPolicy policy, string app)
    {
        _policy = policy;
        _app = app;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            FireAndForget.Run(HandleAsync(client), _logger, "an egress connection");
        }
    }

    private async Task HandleAsync(Socket client)
    {
        using var _ = client;
        client.NoDelay = true;
        if (Interlocked.Increment(ref _open) > MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            LogCapped();
            return; // closed at once: the page's fetch fails (a TypeError), its WebSocket gets an error
        }

        try
        {
            using var headTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            headTimeout.CancelAfter(HeadTimeout);
            var (head, extra) = await ReadHeadAsync(client, headTimeout.Token).ConfigureAwait(false);
            if (head is null || !TryParse(head, out var request))
            {
                await SendAsync(client, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").ConfigureAwait(false);
                return;
            }

            var (addresses, refusal) = await _policy.ResolveAsync(request.Host, request.Port, headTimeout.Token).ConfigureAwait(false);
            if (refusal is not null)
            {
                if (_logged.Count < 1000 && _logged.TryAdd(request.Host + ":" + request.Port, 0))
                {
                    EngineLog.EgressRefused(_logger, _app, refusal);
                }

                if (request.Connect)
                {
                    await SendAsync(client, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").ConfigureAwait(false);
                }

                return; // plain HTTP: closed without an answer, so the page's fetch fails (a TypeError)
            }

            using var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                connectTimeout.CancelAfter(ConnectTimeout);
                try
                {
                    await upstream.ConnectAsync(addresses, request.Port, connectTimeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                {
                    if (request.Connect)
                    {
                        await SendAsync(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").ConfigureAwait(false);
                    }

                    return;
                }
            }

            if (request.Connect)
            {
                await SendAsync(client, "HTTP/1.1 200 Connection Established\r\n\r\n").ConfigureAwait(false);
            }
            else
            {
                await upstream.SendAsync(Encoding.Latin1.GetBytes(request.ForwardHead!), SocketFlags.None).ConfigureAwait(false);
            }

            if (extra.Length > 0)
            {
                await upstream.SendAsync(extra, SocketFlags.None).ConfigureAwait(false);
            }

            await Task.WhenAll(PumpAsync(client, upstream), PumpAsync(upstream, client)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The page or the destination went away: nothing to answer.
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    private void LogCapped()
    {
        var now = Environment.TickCount64;
        var last = Volatile.Read(ref _cappedLoggedAt);
        if (now - last >= CappedLogEveryMs && Interlocked.CompareExchange(ref _cappedLoggedAt, now, last) == last)
        {
            EngineLog.EgressCapped(_logger, _app, MaxConnections);
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        try
        {
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private static async Task<(string? Head, byte[] Extra)> ReadHeadAsync(Socket client, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxHead];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return (null, []);
            }

            length += read;
            var end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return (Encoding.Latin1.GetString(buffer, 0, end + 4), buffer[(end + 4)..length]);
            }
        }

        return (null, []);
    }

    /// <summary>A proxy request: CONNECT host:port, or METHOD http://host[:port]/path (rewritten to origin form).</summary>
    internal readonly record struct ProxyRequest(bool Connect, string Host, int Port, string? ForwardHead);

    internal static bool TryParse(string head, out ProxyRequest request)
    {
        request = default;
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return false;
        }

        if (parts[0] == "CONNECT")
        {
            if (!Uri.TryCreate("tcp://" + parts[1], UriKind.Absolute, out var authority) || authority.Port <= 0 || authority.PathAndQuery != "/")
            {
                return false;
            }

            request = new ProxyRequest(true, authority.Host.Trim('[', ']'), authority.Port, null);
            return true;
        }

        if (!Uri.TryCreate(parts[1], UriKind.Absolute, out var target) || target.Scheme != "http" || !string.IsNullOrEmpty(target.UserInfo))
        {
            return false;
        }

        var forward = new StringBuilder();
        forward.Append(parts[0]).Append(' ').Append(target.PathAndQuery).Append(' ').Append(parts[2]).Append("\r\n");
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var name = line.Split(':', 2)[0].Trim();
            if (name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            forward.Append(line).Append("\r\n");
        }

        forward.Append("Connection: close\r\n\r\n");
        request = new ProxyRequest(false, target.Host.Trim('[', ']'), target.Port, forward.ToString());
        return true;
    }

    private static Task<int> SendAsync(Socket socket, string text) => socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
