using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using LeanProxy.Listener;
using LeanProxy.Engine.Tabs;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Raw;

/// <summary>
/// One raw TCP connection bound to the tab that runs its <c>connect(socket, env, ctx)</c> for its whole life.
/// <para>Client → page: bytes go as <see cref="HostMessageKind.TcpData"/> items of at most <see cref="MaxChunk"/> bytes, and
/// at most <see cref="Window"/> bytes may be unacknowledged by the page (it acknowledges what its readable hands to the
/// handler): past that the socket is not read, so the kernel's flow control slows the client down.</para>
/// <para>Page → client: the page's writes arrive in order with shutdown-write, close and error; each batch of writes is
/// flushed to the socket and then acknowledged, and the page's writer waits while more than the window is unacknowledged.</para>
/// </summary>
internal sealed class TcpSession
{
    /// <summary>Bytes in flight at most, each way.</summary>
    public const int Window = 256 * 1024;

    /// <summary>Bytes per data item at most.</summary>
    public const int MaxChunk = 64 * 1024;

    private readonly StreamConnection _connection;
    private readonly Tab _tab;
    private readonly ILogger _logger;
    private readonly string _app;
    private readonly Channel<PageMessage> _fromPage = Channel.CreateUnbounded<PageMessage>(new UnboundedChannelOptions { SingleReader = true });
    private TaskCompletionSource? _creditWaiter;
    private long _unacked;
    private string? _abortReason;
    private volatile bool _tabLost;
    private volatile bool _ending;

    public TcpSession(int id, Tab tab, StreamConnection connection, string remoteAddress, int remotePort, ILogger logger, string app)
    {
        Id = id;
        _tab = tab;
        _connection = connection;
        RemoteAddress = remoteAddress;
        RemotePort = remotePort;
        _logger = logger;
        _app = app;
    }

    public int Id { get; }

    public string RemoteAddress { get; }

    public int RemotePort { get; }

    private string Remote => RemoteAddress + ":" + RemotePort;

    /// <summary>
    /// Runs the connection until the page closes it, the client resets it, the server stops or the tab is lost.
    /// False when the tab was gone before the connection could be opened in it (the caller picks another).
    /// </summary>
    public async Task<bool> RunAsync()
    {
        if (!_tab.Router.TryAttach(this))
        {
            return false;
        }

        // AbortAll (a drain that timed out) disposes the socket; make sure both loops notice it too.
        var abortTransport = _connection.Context.AbortTransport;
        _connection.Context.AbortTransport = () =>
        {
            abortTransport?.Invoke();
            Abort("the server stopped");
        };

        EngineLog.ConnectionOpened(_logger, _app, Id, Remote, _tab.Index);
        _tab.Enqueue(TcpMessage.Open(this));
        var reading = ReadLoopAsync();
        var endedByPage = await WriteLoopAsync().ConfigureAwait(false);
        _ending = true;
        _connection.Transport.Input.CancelPendingRead();
        ReleaseCredit();
        await reading.ConfigureAwait(false);
        _tab.Router.Detach(this);
        if (!endedByPage && !_tabLost)
        {
            // The page still has the connection: tell it that it is gone (its streams error, socket.closed rejects).
            _tab.Enqueue(TcpMessage.Abort(this));
        }

        if (_abortReason is { } reason)
        {
            EngineLog.ConnectionAborted(_logger, _app, Id, Remote, reason);
        }
        else
        {
            EngineLog.ConnectionClosed(_logger, _app, Id, Remote);
        }

        await _connection.Transport.Input.CompleteAsync().ConfigureAwait(false);
        await _connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>An item for this connection from the page (called on the CDP receive loop: never blocks).</summary>
    public void OnPageMessage(in PageMessage item)
    {
        if (item.Kind == PageMessageKind.TcpAck)
        {
            Interlocked.Add(ref _unacked, -item.Count);
            ReleaseCredit();
            return;
        }

        _fromPage.Writer.TryWrite(item);
    }

    /// <summary>The tab crashed or closed: the connection ends without telling the page.</summary>
    public void OnTabLost()
    {
        _tabLost = true;
        Abort("its tab ended");
    }

    /// <summary>A batch carrying this connection's messages failed in the page: the byte stream has a hole; end it.</summary>
    public void OnBatchLost() => Abort("a batch carrying its bytes failed in the page");

    private void Abort(string reason)
    {
        Interlocked.CompareExchange(ref _abortReason, reason, null);
        _ending = true;
        _fromPage.Writer.TryComplete();
        ReleaseCredit();
        _connection.Transport.Input.CancelPendingRead();
    }

    private void ReleaseCredit() => Interlocked.Exchange(ref _creditWaiter, null)?.TrySetResult();

    private async Task ReadLoopAsync()
    {
        var input = _connection.Transport.Input;
        try
        {
            while (await WaitForCreditAsync().ConfigureAwait(false))
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    if (_ending)
                    {
                        return;
                    }

                    if (_connection.Context.StopRequested)
                    {
                        Abort("the server is stopping");
                        return;
                    }

                    continue;
                }

                var buffer = result.Buffer;
                var room = Window - Volatile.Read(ref _unacked);
                while (room > 0 && !buffer.IsEmpty)
                {
                    var take = (int)Math.Min(Math.Min(room, MaxChunk), buffer.Length);
                    var chunk = buffer.Slice(0, take).ToArray();
                    Interlocked.Add(ref _unacked, take);
                    _tab.Enqueue(TcpMessage.Bytes(this, chunk));
                    buffer = buffer.Slice(take);
                    room -= take;
                }

                // What is left (no credit) is looked at again once the page acknowledged some bytes.
                input.AdvanceTo(buffer.Start);
                if (result.IsCompleted && buffer.IsEmpty)
                {
                    _tab.Enqueue(TcpMessage.Eof(this));
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Abort("receiving failed: " + ex.Message);
        }
    }

    /// <summary>Waits while the page holds a full window; false once the connection is ending.</summary>
    private async ValueTask<bool> WaitForCreditAsync()
    {
        while (!_ending && Volatile.Read(ref _unacked) >= Window)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _creditWaiter, waiter);
            if (_ending || Volatile.Read(ref _unacked) < Window)
            {
                break;
            }

            await waiter.Task.ConfigureAwait(false);
        }

        return !_ending;
    }

    /// <summary>Writes what the page sends, in order; true when the page ended the connection (close or error).</summary>
    private async Task<bool> WriteLoopAsync()
    {
        var output = _connection.Transport.Output;
        var reader = _fromPage.Reader;
        var sendOpen = true;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                long written = 0;
                while (reader.TryRead(out var item))
                {
                    switch (item.Kind)
                    {
                        case PageMessageKind.TcpWrite:
                            if (sendOpen)
                            {
                                output.Write(item.Data.Span);
                            }

                            written += item.Data.Length;
                            break;
                        case PageMessageKind.TcpShutdownWrite:
                            await FlushAsync(output, written, sendOpen).ConfigureAwait(false);
                            written = 0;
                            if (sendOpen)
                            {
                                sendOpen = false;
                                await output.CompleteAsync().ConfigureAwait(false);
                                _connection.ShutdownSend?.Invoke();
                            }

                            break;
                        case PageMessageKind.TcpClose:
                            await FlushAsync(output, written, sendOpen).ConfigureAwait(false);
                            return true;
                        case PageMessageKind.TcpError:
                            EngineLog.ConnectionHandlerThrew(_logger, _app, Id, Remote, item.ErrorMessage ?? string.Empty, item.ErrorStack ?? string.Empty);
                            Interlocked.CompareExchange(ref _abortReason, "connect() failed", null);
                            return true;
                    }
                }

                await FlushAsync(output, written, sendOpen).ConfigureAwait(false);
            }

            return false;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Abort("sending failed: " + ex.Message);
            return false;
        }
    }

    /// <summary>Sends what was written, then gives the page its credit back (also for bytes dropped after a shutdown).</summary>
    private async ValueTask FlushAsync(PipeWriter output, long written, bool sendOpen)
    {
        if (written == 0)
        {
            return;
        }

        if (sendOpen)
        {
            await output.FlushAsync().ConfigureAwait(false);
        }

        _tab.Enqueue(TcpMessage.Ack(this, written));
    }
}
