using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Listener.Udp;

/// <summary>
/// Receives datagrams on one endpoint and hands each to a datagram driver, sending back the reply it returns. At most
/// <see cref="MaxInFlight"/> datagrams are being handled at a time: beyond that new ones are dropped (as the network
/// would) and counted, never queued; the count is logged at Warning once per <see cref="DropReportInterval"/>.
/// </summary>
public sealed class UdpListener : IAsyncDisposable
{
    /// <summary>The largest UDP payload (IPv4: 65535 - 8 - 20).</summary>
    private const int MaxDatagram = 65527;

    private readonly Socket _socket;
    private readonly IDatagramDriver _driver;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Timer _report;
    private readonly string _name;
    private Task? _receiveLoop;
    private int _inFlight;
    private long _dropped;
    private long _droppedReported;
    private int _stopped;

    private UdpListener(Socket socket, IDatagramDriver driver, int maxInFlight, TimeSpan dropReportInterval, ILogger logger)
    {
        _socket = socket;
        _driver = driver;
        _logger = logger;
        MaxInFlight = maxInFlight;
        DropReportInterval = dropReportInterval;
        _name = EndPoint.ToString();
        _report = new Timer(static state => ((UdpListener)state!).ReportDrops(), this, dropReportInterval, dropReportInterval);
    }

    /// <summary>The bound endpoint (with the real port when 0 was asked for).</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Datagrams handled at the same time at most; more are dropped.</summary>
    public int MaxInFlight { get; }

    public TimeSpan DropReportInterval { get; }

    /// <summary>Datagrams dropped because <see cref="MaxInFlight"/> were being handled.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Binds the socket; datagrams wait in the kernel's buffer until <see cref="Start"/>. Throws when the address is in use.</summary>
    public static UdpListener Bind(IPEndPoint endPoint, IDatagramDriver driver, int maxInFlight = 1024, ILogger? logger = null,
        TimeSpan? dropReportInterval = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        var socket = BoundSocket.Bind(endPoint, SocketType.Dgram, ProtocolType.Udp);
        return new UdpListener(socket, driver, maxInFlight, dropReportInterval ?? TimeSpan.FromSeconds(10), logger ?? NullLogger.Instance);
    }

    public void Start()
    {
        _receiveLoop ??= Task.Run(ReceiveLoopAsync);
    }

    private async Task ReceiveLoopAsync()
    {
        var token = _stop.Token;
        var buffer = GC.AllocateUninitializedArray<byte>(MaxDatagram + 1, pinned: true);
        EndPoint any = EndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        while (!token.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (!token.IsCancellationRequested)
            {
                // E.g. an ICMP error for an earlier reply: it concerns that peer only.
                ListenerLog.DatagramReceiveFailed(_logger, _name, ex);
                continue;
            }

            if (Interlocked.Increment(ref _inFlight) > MaxInFlight)
            {
                Interlocked.Decrement(ref _inFlight);
                Interlocked.Increment(ref _dropped);
                continue;
            }

            FireAndForget.Run(HandleAsync(buffer.AsSpan(0, received.ReceivedBytes).ToArray(), received.RemoteEndPoint), _logger, "a datagram's handling");
        }
    }

    /// <summary>Handles one datagram and sends the reply; observes every failure (fire-and-forget from the receive loop).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031", Justification = "A driver's failure is logged and loses only its own datagram.")]
    private async Task HandleAsync(byte[] datagram, EndPoint remote)
    {
        try
        {
            var reply = await _driver.HandleAsync(datagram, remote, CancellationToken.None).ConfigureAwait(false);
            if (reply is { } bytes)
            {
                await _socket.SendToAsync(bytes, SocketFlags.None, remote).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            ListenerLog.DatagramReplyFailed(_logger, _name, remote.ToString() ?? string.Empty, ex);
        }
        catch (Exception ex)
        {
            ListenerLog.DatagramDriverFailed(_logger, _name, _driver.Name, ex);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private void ReportDrops()
    {
        var total = Volatile.Read(ref _dropped);
        var since = total - Interlocked.Exchange(ref _droppedReported, total);
        if (since > 0)
        {
            ListenerLog.DatagramsDropped(_logger, _name, since, MaxInFlight, total);
        }
    }

    /// <summary>Stops receiving; datagrams being handled get up to <paramref name="drain"/> to send their replies.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_receiveLoop is not null)
        {
            await _receiveLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await Polling.UntilAsync(() => Volatile.Read(ref _inFlight) == 0, drain).ConfigureAwait(false);

        await _report.DisposeAsync().ConfigureAwait(false);
        ReportDrops();
        _socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stop.Dispose();
    }
}
