using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Listener;

/// <summary>
/// Accepts TCP connections on one endpoint and runs a stream driver for each, at most
/// <see cref="HttpListenerOptions.MaxConnections"/> at a time (beyond that, new connections wait in the backlog).
/// </summary>
public sealed class SocketListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly IStreamDriver _driver;
    private readonly ILogger _logger;
    private readonly ConnectionManager _connections;
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _running = [];
    private readonly Lock _runningLock = new();
    private Task? _acceptLoop;

    private SocketListener(Socket socket, IStreamDriver driver, int maxConnections, ConnectionManager connections, ILogger logger)
    {
        _socket = socket;
        _driver = driver;
        _connections = connections;
        _logger = logger;
        _slots = new SemaphoreSlim(maxConnections, maxConnections);
    }

    /// <summary>The bound endpoint (with the real port when 0 was asked for).</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>
    /// Binds without listening: until <see cref="Start"/>, connection attempts are refused rather than queued.
    /// Throws <see cref="SocketException"/> when the address is in use.
    /// </summary>
    public static SocketListener Bind(IPEndPoint endPoint, IStreamDriver driver, int maxConnections, ILogger? logger = null, int backlog = 512)
    {
        var socket = BoundSocket.Bind(endPoint, SocketType.Stream, ProtocolType.Tcp);
        return new SocketListener(socket, driver, maxConnections, new ConnectionManager(), logger ?? NullLogger.Instance) { _backlog = backlog };
    }

    private int _backlog = 512;

    /// <summary>Starts listening and accepting connections.</summary>
    public void Start()
    {
        if (_acceptLoop is not null)
        {
            return;
        }

        _socket.Listen(_backlog);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _slots.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Socket client;
            try
            {
                client = await _socket.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || (ex is SocketException && token.IsCancellationRequested))
            {
                _slots.Release();
                return;
            }
            catch (SocketException ex)
            {
                // Transient (e.g. EMFILE, a connection reset before accept): log and go on.
                _slots.Release();
                ListenerLog.AcceptFailed(_logger, EndPoint.ToString(), ex);
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            var task = RunConnectionAsync(client);
            lock (_runningLock)
            {
                _running.Add(task);
                if (_running.Count > 64)
                {
                    _running.RemoveAll(static t => t.IsCompleted);
                }
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031", Justification = "A driver's failure is logged and ends only its own connection.")]
    private async Task RunConnectionAsync(Socket client)
    {
        await Task.Yield();
        client.NoDelay = true;
        var stream = new NetworkStream(client, ownsSocket: true);
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 8192, minimumReadSize: 2048, leaveOpen: true));
        var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 8192, leaveOpen: true));
        var context = _connections.Register(input.CancelPendingRead);
        context.AbortTransport = () => client.Dispose();
        var connection = new StreamConnection(new DuplexPipe(input, output), context, client.LocalEndPoint, client.RemoteEndPoint)
        {
            ShutdownSend = () => client.Shutdown(SocketShutdown.Send),
        };
        try
        {
            await _driver.RunAsync(connection, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ListenerLog.DriverFailed(_logger, context.Id, _driver.Name, ex);
        }
        finally
        {
            context.Dispose();
            try
            {
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Best effort: the peer may have reset the connection already.
            }

            await stream.DisposeAsync().ConfigureAwait(false);
            _slots.Release();
        }
    }

    /// <summary>Stops accepting; open connections finish their current request (up to <paramref name="drain"/>) and close.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            _socket.Dispose();
        }

        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        _connections.Stop();
        if (!await _connections.WaitForDrainAsync(drain).ConfigureAwait(false))
        {
            _connections.AbortAll();
        }

        Task[] running;
        lock (_runningLock)
        {
            running = [.. _running];
        }

        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _connections.Dispose();
        _stop.Dispose();
        _slots.Dispose();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
