using LeanProxy.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using LeanProxy.Cdp.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Cdp;

/// <summary>
/// One CDP connection to a browser: a connection-wide id counter, pending commands registered before they are
/// sent, flat sessions, events routed by session and method, and an idempotent close that fails every pending
/// command with the reason. Each incoming frame is scanned once; its payload is deserialized once.
/// </summary>
public sealed partial class CdpConnection : IAsyncDisposable
{
    private long _received;

    /// <summary>Commands sent on this connection (for the metrics).</summary>
    public long CommandsSent => Volatile.Read(ref _nextId);

    /// <summary>Messages (replies and events) received on this connection (for the metrics).</summary>
    public long MessagesReceived => Volatile.Read(ref _received);

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly ICdpTransport _transport;
    private readonly ILogger _logger;
    private readonly PendingTable _pending = new();
    private readonly TaskCompletionSource<CdpCloseReason> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _receiveCancellation = new();
    private int _nextId;
    private int _closing;
    private Exception? _closeException;
    private Task? _receiveLoop;

    public CdpConnection(ICdpTransport transport, ILogger? logger = null)
    {
        _transport = transport;
        _logger = logger ?? NullLogger.Instance;
        _eventLookup = _events.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Completes when the connection is closed (by us, by the browser or by a transport failure).</summary>
    public Task<CdpCloseReason> Closed => _closed.Task;

    public bool IsClosed => Volatile.Read(ref _closing) != 0;

    /// <summary>Number of commands waiting for a reply (for tests and diagnostics).</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Starts the receive loop. Subscribe to events you need first.</summary>
    public void Start()
    {
        _receiveLoop ??= Task.Run(ReceiveLoopAsync);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031",
        Justification = "Any failure of the transport closes the connection with it as the reason.")]
    private async Task ReceiveLoopAsync()
    {
        try
        {
            await _transport.ReceiveLoopAsync(OnMessage, _receiveCancellation.Token).ConfigureAwait(false);
            Close(CdpCloseReason.BrowserGone, null);
        }
        catch (OperationCanceledException) when (_receiveCancellation.IsCancellationRequested)
        {
            Close(CdpCloseReason.Closed, null);
        }
        catch (Exception ex)
        {
            Close(CdpCloseReason.TransportError, ex);
        }
    }

    /// <summary>Sends a command whose params are written by <paramref name="writeParams"/> and whose result is read by <paramref name="readResult"/>.</summary>
    /// <remarks>The returned <see cref="ValueTask{TResult}"/> must be awaited exactly once (its call is pooled).</remarks>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000",
        Justification = "The buffer goes back to its pool (PooledBufferWriter.Return) on every path, here or once sent.")]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1849",
        Justification = "A synchronous method: the registration of a call that is still pending has no callback running to wait for.")]
    public ValueTask<TResult> SendAsync<TState, TResult>(
        string method,
        TState state,
        CdpParamsWriter<TState>? writeParams,
        CdpResultReader<TResult> readResult,
        string? sessionId,
        CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        cancellationToken.ThrowIfCancellationRequested();
        var id = Interlocked.Increment(ref _nextId);
        var pending = PendingCall<TResult>.Rent(id, method, sessionId, readResult);
        _pending.Add(id, pending);
        if (cancellationToken.CanBeCanceled)
        {
            pending.Registration = cancellationToken.UnsafeRegister(
                static (state, token) =>
                {
                    var (connection, call) = ((CdpConnection, PendingCall))state!;
                    if (connection._pending.TryRemove(call.Id, out _))
                    {
                        call.Cancel(token);
                    }
                },
                (this, (PendingCall)pending));
        }

        if (IsClosed && _pending.TryRemove(id, out _))
        {
            // Closed between the check and the registration: the close did not see this call.
            pending.Fail(CreateClosedException());
            return pending.Task;
        }

        var buffer = PooledBufferWriter.Rent();
        try
        {
            WriteCommand(buffer, id, method, sessionId, state, writeParams);
            if (_logger.IsEnabled(LogLevel.Trace))
            {
                CdpLog.Sent(_logger, System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
            }
        }
        catch
        {
            _pending.TryRemove(id, out _);
            pending.Registration.Dispose();
            PooledBufferWriter.Return(buffer);
            throw;
        }

        ValueTask send;
        try
        {
            send = _transport.SendAsync(buffer.WrittenMemory, CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.WebSockets.WebSocketException or InvalidOperationException)
        {
            // A synchronous transport (the pipe) fails here, e.g. EPIPE when the browser has exited.
            PooledBufferWriter.Return(buffer);
            if (_pending.TryRemove(id, out _))
            {
                pending.Fail(new CdpClosedException(CdpCloseReason.TransportError, $"{method}: the connection failed while sending", ex));
            }

            return pending.Task;
        }

        if (send.IsCompletedSuccessfully)
        {
            PooledBufferWriter.Return(buffer);
            return pending.Task;
        }

        return AwaitSendAsync(send, buffer, pending);
    }

    private async ValueTask<TResult> AwaitSendAsync<TResult>(ValueTask send, PooledBuffer buffer, PendingCall<TResult> pending)
    {
        try
        {
            await send.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.WebSockets.WebSocketException or InvalidOperationException)
        {
            if (_pending.TryRemove(pending.Id, out _))
            {
                pending.Fail(new CdpClosedException(CdpCloseReason.TransportError, $"{pending.Method}: the connection failed while sending", ex));
            }
        }
        finally
        {
            PooledBufferWriter.Return(buffer);
        }

        return await pending.Task.ConfigureAwait(false);
    }

    /// <summary>Sends a command with typed params and a typed result.</summary>
    public Task<TResult> SendAsync<TParams, TResult>(
        string method,
        TParams parameters,
        JsonTypeInfo<TParams> paramsType,
        JsonTypeInfo<TResult> resultType,
        string? sessionId = null,
        CancellationToken cancellationToken = default) =>
        SendAsync(
            method,
            (parameters, paramsType),
            static (writer, state) => WriteMembers(writer, state.parameters, state.paramsType),
            json => JsonSerializer.Deserialize(json, resultType)!,
            sessionId,
            cancellationToken).AsTask();

    /// <summary>Sends a command with typed params, ignoring the result.</summary>
    public Task SendAsync<TParams>(
        string method,
        TParams parameters,
        JsonTypeInfo<TParams> paramsType,
        string? sessionId = null,
        CancellationToken cancellationToken = default) =>
        SendAsync(
            method,
            (parameters, paramsType),
            static (writer, state) => WriteMembers(writer, state.parameters, state.paramsType),
            static _ => true,
            sessionId,
            cancellationToken).AsTask();

    /// <summary>Sends a command without params, ignoring the result.</summary>
    public Task SendAsync(string method, string? sessionId = null, CancellationToken cancellationToken = default) =>
        SendAsync<object?, bool>(method, null, null, static _ => true, sessionId, cancellationToken).AsTask();

    /// <summary>Sends a command without params with a typed result.</summary>
    public Task<TResult> SendAsync<TResult>(string method, JsonTypeInfo<TResult> resultType, string? sessionId = null,
        CancellationToken cancellationToken = default) =>
        SendAsync<object?, TResult>(method, null, null, json => JsonSerializer.Deserialize(json, resultType)!, sessionId, cancellationToken).AsTask();

    private static void WriteMembers<TParams>(Utf8JsonWriter writer, TParams parameters, JsonTypeInfo<TParams> type)
    {
        // Serialize the object, then copy its members into the open params object of the command.
        var bytes = JsonSerializer.SerializeToUtf8Bytes(parameters, type);
        using var document = JsonDocument.Parse(bytes);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            property.WriteTo(writer);
        }
    }

    private static void WriteCommand<TState>(PooledBuffer buffer, int id, string method, string? sessionId, TState state, CdpParamsWriter<TState>? writeParams)
    {
        var writer = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteNumber("id"u8, id);
        writer.WriteString("method"u8, method);
        if (sessionId is not null)
        {
            writer.WriteString("sessionId"u8, sessionId);
        }

        if (writeParams is not null)
        {
            writer.WriteStartObject("params"u8);
            writeParams(writer, state);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.Flush();
        writer.Reset(PooledBufferWriter.Nowhere);
    }

    private void ThrowIfClosed()
    {
        if (IsClosed)
        {
            throw CreateClosedException();
        }
    }

    private CdpClosedException CreateClosedException()
    {
        var reason = _closed.Task.IsCompletedSuccessfully ? _closed.Task.Result : CdpCloseReason.Closed;
        return new CdpClosedException(reason, $"The CDP connection is closed ({reason})", _closeException);
    }

    /// <summary>Fails every pending command of a session (its target crashed or detached: Chromium never answers them).</summary>
    public void FailSession(string sessionId, CdpCloseReason reason, string message)
    {
        foreach (var call in _pending.RemoveAll(call => call.SessionId == sessionId))
        {
            call.Fail(new CdpClosedException(reason, $"{call.Method}: {message}"));
        }
    }

    /// <summary>Closes the connection; idempotent. Every pending command fails with the reason.</summary>
    public void Close(CdpCloseReason reason, Exception? exception)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        _closeException = exception;
        CdpLog.Closed(_logger, reason);
        _closed.TrySetResult(reason);
        foreach (var call in _pending.RemoveAll(null))
        {
            call.Fail(new CdpClosedException(reason, $"{call.Method}: the CDP connection closed ({reason})", exception));
        }

        foreach (var session in _sessions.Values)
        {
            session.End(reason);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Close(CdpCloseReason.Closed, null);
        await _receiveCancellation.CancelAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        if (_receiveLoop is not null)
        {
            await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _receiveCancellation.Dispose();
    }
}
