using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using LeanProxy.Cdp;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine;

/// <summary>
/// One tab running the app. Requests queue here; adaptive batching sends them: when no call is in flight a request
/// leaves at once, otherwise arrivals wait and leave together in the next <c>Runtime.evaluate</c>. Responses come
/// back in the evaluate result (those finished within the page's current task) or, later, through the binding.
/// </summary>
internal sealed partial class TabWorker
{
    /// <summary>Batch calls in flight per tab at most (the rest queue and go together in the next call).</summary>
    internal const int MaxCallsInFlight = 2;

    private const int MaxBatchCount = 256;
    private const long MaxBatchBodyBytes = 2 * 1024 * 1024;

    private readonly TabPool _pool;
    private readonly ILogger _logger;
    private readonly ConcurrentQueue<TabItem> _queue = new();
    private readonly ConcurrentDictionary<int, PendingCall> _inPage = new();
    private readonly ConcurrentDictionary<int, ChannelWriter<ReadOnlyMemory<byte>>> _streams = new();
    private readonly List<IDisposable> _subscriptions = [];
    private readonly TaskCompletionSource<ControlMessage> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _callsInFlight;
    private int _queued;
    private long _oldestCallStart;
    private volatile bool _dead;

    /// <summary>
    /// Reads a batch reply on the CDP receive loop and completes its requests right there: the waiting HTTP
    /// connections write their responses at once (non-blocking sends) instead of after two thread-pool hops.
    /// </summary>
    private readonly CdpResultReader<BatchResult> _readBatchResult;

    private TabWorker(TabPool pool, int index, CdpSession session, ILogger logger)
    {
        _readBatchResult = json =>
        {
            var result = ResponseReader.ReadEvaluateResult(json);
            Complete(result.Items);
            return result;
        };
        _pool = pool;
        Index = index;
        Session = session;
        _logger = logger;
    }

    public int Index { get; }

    public CdpSession Session { get; }

    public bool IsDead => _dead || Session.IsEnded;

    /// <summary>Queued plus in-page requests: the load the pool balances on.</summary>
    public int Outstanding => Volatile.Read(ref _queued) + Volatile.Read(ref _inPageCount);

    // ConcurrentDictionary.Count takes every lock of the table: the load is counted on the side instead.
    private int _inPageCount;

    /// <summary>
    /// Only calls count as queued work (the load the pool balances on and the queue limit): a connection's messages are
    /// bounded by its credit window and must not make HTTP requests look like a full queue.
    /// </summary>
    private static int Weight(TabItem item) => item is PendingCall ? 1 : 0;

    private void AddInPage(PendingCall request)
    {
        _inPage[request.Id] = request;
        Interlocked.Increment(ref _inPageCount);
    }

    private bool TryTakeInPage(int id, out PendingCall request)
    {
        if (_inPage.TryRemove(id, out request!))
        {
            Interlocked.Decrement(ref _inPageCount);
            return true;
        }

        return false;
    }

    /// <summary>Opens a tab in its own window of the app's browser context, loads the app and waits until it is ready.</summary>
    public static async Task<TabWorker> CreateAsync(TabPool pool, CdpConnection connection, string browserContextId, int index, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        // Open the tab directly on the bootstrap page: the app's modules load while we attach and enable below.
        var target = await connection.SendAsync(
            CdpMethods.TargetCreateTarget,
            new CreateTargetParams(pool.PageServer.BootstrapUrl.ToString(), browserContextId, NewWindow: true),
            CdpJsonContext.Default.CreateTargetParams,
            CdpJsonContext.Default.CreateTargetResult,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        var session = await connection.AttachAsync(target.TargetId, cancellationToken).ConfigureAwait(false);
        var tab = new TabWorker(pool, index, session, pool.Logger);
        try
        {
            // Subscribe before enabling and adding bindings, so that nothing is missed.
            tab.Subscribe();
            await session.SendAsync(CdpMethods.RuntimeEnable, cancellationToken).ConfigureAwait(false);
            await session.SendAsync(CdpMethods.InspectorEnable, cancellationToken).ConfigureAwait(false);
            await session.SendAsync(CdpMethods.RuntimeAddBinding, new AddBindingParams(Bindings.Done), CdpJsonContext.Default.AddBindingParams, cancellationToken).ConfigureAwait(false);
            using var loadTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            loadTimeout.CancelAfter(pool.Options.LoadTimeout);
            ControlMessage control;
            try
            {
                control = await tab.WaitForLoadAsync(loadTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException();
            }

            tab.CheckLoaded(control);
            EngineLog.TabReady(pool.Logger, pool.App.Name, index, stopwatch.ElapsedMilliseconds);
            _ = tab.WatchAsync();
            return tab;
        }
        catch (TimeoutException)
        {
            await tab.CloseAsync().ConfigureAwait(false);
            throw new AppLoadException($"The app did not finish loading within {pool.Options.LoadTimeout.TotalSeconds} s (a top-level await that never settles?).");
        }
        catch
        {
            await tab.CloseAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Asks the page how loading the app went: <c>__lpStatus()</c> resolves once the app is ready or failed. Until the
    /// bootstrap page's own script has run (the tab may still show its initial empty document), it is asked again.
    /// An uncaught exception reported meanwhile (Runtime.exceptionThrown) also settles the load.
    /// </summary>
    private async Task<ControlMessage> WaitForLoadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = Session.SendAsync(
                CdpMethods.RuntimeEvaluate,
                0,
                static (writer, _) =>
                {
                    writer.WriteString("expression"u8, "typeof __lpStatus === 'function' ? __lpStatus() : ''"u8);
                    writer.WriteBoolean("awaitPromise"u8, true);
                    writer.WriteBoolean("returnByValue"u8, true);
                },
                static json => ReadStringResult(json),
                cancellationToken).AsTask();
            var finished = await Task.WhenAny(status, _loaded.Task).ConfigureAwait(false);
            if (finished == _loaded.Task)
            {
                return await _loaded.Task.ConfigureAwait(false);
            }

            var text = await status.ConfigureAwait(false);
            if (!string.IsNullOrEmpty(text))
            {
                return JsonSerializer.Deserialize(text, EngineJsonContext.Default.ControlMessage)
                    ?? throw new AppLoadException("The page reported an unreadable load status.");
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string? ReadStringResult(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("value"u8))
            {
                reader.Read();
                return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
        }

        return null;
    }

    private void CheckLoaded(ControlMessage control)
    {
        var app = _pool.App;
        switch (control.T)
        {
            case "ready":
                var missing = _pool.Options.RequiredExports.Where(e => control.Exports?.GetValueOrDefault(e) != true).ToArray();
                if (missing.Length > 0)
                {
                    throw new MissingExportException(missing, $"{app.Entry} has no export default {{ {string.Join(", ", missing)}() }}, which the configured listeners need.");
                }

                return;
            case "error":
                var location = string.IsNullOrEmpty(control.File) ? app.Entry : _pool.LocalPath(control.File);
                throw new AppLoadException($"{location}:{control.Line}:{control.Column}: {control.Message}");
            default:
                var missingFiles = _pool.PageServer.MissingPaths.Where(p => !p.StartsWith(PageServer.Prefix, StringComparison.Ordinal)).Distinct().ToArray();
                throw new AppLoadException(missingFiles.Length > 0
                    ? $"{app.Entry}: a module could not be loaded; not found in {app.Root}: {string.Join(", ", missingFiles)}"
                    : $"{app.Entry}: the module graph could not be loaded (a network import failed, or a file is not JavaScript).");
        }
    }

    private void Subscribe()
    {
        _subscriptions.Add(Session.Subscribe(CdpEvents.RuntimeBindingCalled, OnBindingCalled));
        _subscriptions.Add(Session.Subscribe(CdpEvents.RuntimeConsoleApiCalled, CdpJsonContext.Default.ConsoleApiCalledEvent, (e, _) => OnConsole(e)));
        _subscriptions.Add(Session.Subscribe(CdpEvents.RuntimeExceptionThrown, CdpJsonContext.Default.ExceptionThrownEvent, (e, _) => OnException(e)));
    }

    /// <summary>The listener gave up a streamed body: chunks that still arrive for it are dropped.</summary>
    public void AbandonStream(int id) => _streams.TryRemove(id, out _);

    public void Enqueue(TabItem request)
    {
        Interlocked.Add(ref _queued, Weight(request));
        _queue.Enqueue(request);
        if (IsDead)
        {
            // The tab died after it was picked: hand back whatever its watcher did not see (a connection's messages
            // die with the tab: its connections are ended by the watcher).
            while (_queue.TryDequeue(out var orphan))
            {
                Interlocked.Add(ref _queued, -Weight(orphan));
                if (_dead)
                {
                    if (orphan is PendingCall call)
                    {
                        _pool.Dispatch(call);
                    }
                }
                else
                {
                    _queue.Enqueue(orphan);
                    Interlocked.Add(ref _queued, Weight(orphan));
                    break;
                }
            }

            return;
        }

        Pump();
    }

    /// <summary>Sends queued requests while fewer than <see cref="MaxCallsInFlight"/> calls are in flight.</summary>
    private void Pump()
    {
        while (!_dead && !_queue.IsEmpty)
        {
            var inFlight = Volatile.Read(ref _callsInFlight);
            if (inFlight >= MaxCallsInFlight)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _callsInFlight, inFlight + 1, inFlight) != inFlight)
            {
                continue;
            }

            // Taking a batch and writing its call happen under one lock, so that calls leave in queue order: a
            // connection's bytes must reach the page in the order they were read.
            lock (_sendLock)
            {
                var batch = TakeBatch();
                if (batch.Count == 0)
                {
                    Interlocked.Decrement(ref _callsInFlight);
                    continue;
                }

                _ = SendBatchAsync(batch);
            }
        }
    }

    private readonly Lock _sendLock = new();

    private List<TabItem> TakeBatch()
    {
        var batch = new List<TabItem>(Math.Min(Volatile.Read(ref _queued), MaxBatchCount));
        long bytes = 0;
        while (batch.Count < MaxBatchCount && bytes < MaxBatchBodyBytes && _queue.TryDequeue(out var item))
        {
            Interlocked.Add(ref _queued, -Weight(item));
            if (item is PendingCall call)
            {
                if (call.IsCompleted)
                {
                    continue;
                }

                call.Attempts++;
                AddInPage(call);
            }

            bytes += item.PayloadLength;
            batch.Add(item);
        }

        return batch;
    }

    private async Task SendBatchAsync(List<TabItem> batch)
    {
        if (Volatile.Read(ref _oldestCallStart) == 0)
        {
            Volatile.Write(ref _oldestCallStart, Environment.TickCount64);
        }

        try
        {
            var expression = PooledBufferWriter.Rent();
            ValueTask<BatchResult> call;
            try
            {
                BatchWriter.Write(expression, batch);
                call = Session.SendAsync(
                    CdpMethods.RuntimeEvaluate,
                    expression,
                    static (writer, buffer) =>
                    {
                        writer.WriteString("expression"u8, buffer.WrittenSpan);
                        writer.WriteBoolean("awaitPromise"u8, true);
                        writer.WriteBoolean("returnByValue"u8, true);
                    },
                    _readBatchResult,
                    CancellationToken.None);
            }
            finally
            {
                PooledBufferWriter.Return(expression);
            }

            var result = await call.ConfigureAwait(false);
            if (result.Exception is not null)
            {
                // The call itself died (e.g. Runtime.terminateExecution stopped a spinning handler): whatever of this
                // batch is still unanswered and within its deadline goes again; its connections end.
                Requeue(batch);
                AbortConnectionsIn(batch);
            }
        }
        catch (CdpClosedException)
        {
            // The tab or the browser went away: OnEnded answers or retries everything in flight.
        }
        catch (CdpException) when (Volatile.Read(ref _terminatedAt) != 0)
        {
            // Runtime.terminateExecution stopped the call ("Internal error"): as above, the rest of the batch goes again.
            Requeue(batch);
            AbortConnectionsIn(batch);
        }
        catch (Exception ex) when (ex is CdpException or JsonException or FormatException or InvalidOperationException)
        {
            EngineLog.BatchFailed(_logger, _pool.App.Name, Index, ex);
            foreach (var item in batch)
            {
                if (item is PendingCall && TryTakeInPage(item.Id, out var request))
                {
                    request.TryFail(502, "Bad Gateway");
                }
            }

            AbortConnectionsIn(batch);
        }
        finally
        {
            var remaining = Interlocked.Decrement(ref _callsInFlight);
            Volatile.Write(ref _oldestCallStart, remaining == 0 ? 0 : Environment.TickCount64);
            Volatile.Write(ref _terminatedAt, 0);
            Volatile.Write(ref _expiredInCall, false);
            Pump();
        }
    }

    private void Requeue(List<TabItem> batch)
    {
        var count = 0;
        foreach (var item in batch)
        {
            if (item is PendingCall && TryTakeInPage(item.Id, out var request) && !request.IsCompleted)
            {
                if (request.Attempts >= 3)
                {
                    request.TryFail(502, "Bad Gateway");
                    continue;
                }

                count++;
                Interlocked.Increment(ref _queued);
                _queue.Enqueue(request);
            }
        }

        if (count > 0)
        {
            EngineLog.Resending(_logger, _pool.App.Name, Index, count);
        }
    }

    private void Complete(List<ResponseItem> items)
    {
        foreach (var item in items)
        {
            switch (item.Kind)
            {
                case ResponseItemKind.Chunk:
                    if (_streams.TryGetValue(item.Id, out var stream))
                    {
                        stream.TryWrite(item.Data);
                    }

                    continue;
                case ResponseItemKind.StreamEnd:
                    if (_streams.TryRemove(item.Id, out var ended))
                    {
                        ended.TryComplete();
                    }

                    continue;
                case ResponseItemKind.StreamFailed:
                    if (_streams.TryRemove(item.Id, out var failed))
                    {
                        failed.TryComplete(new InvalidOperationException("The response body stream failed: " + item.ErrorMessage));
                    }

                    continue;
                case ResponseItemKind.TcpWrite or ResponseItemKind.TcpAck or ResponseItemKind.TcpShutdownWrite or ResponseItemKind.TcpClose or ResponseItemKind.TcpError:
                    CompleteConnectionItem(item);
                    continue;
            }

            if (!TryTakeInPage(item.Id, out var call))
            {
                continue;
            }

            if (call is PendingDatagram datagram)
            {
                CompleteDatagram(datagram, item);
                continue;
            }

            var request = (PendingRequest)call;

            if (item.Response is { } response)
            {
                StreamedBody? body = null;
                if (item.Kind == ResponseItemKind.StreamStart)
                {
                    body = new StreamedBody(this, item.Id);
                    _streams[item.Id] = body.Writer;
                    response.StreamingBody = body;
                }

                if (!request.TryComplete(response))
                {
                    body?.Dispose(); // answered meanwhile (a deadline): nobody will read the body
                }

                continue;
            }

            var method = request.Request.Method;
            var target = request.Request.TargetString;
            if (item.ErrorKind == "type")
            {
                EngineLog.HandlerBadReturn(_logger, _pool.App.Name, request.Id, method, target, item.ErrorMessage ?? string.Empty);
                request.TryComplete(ProxyResponse.Text(500, "Internal Server Error: " + item.ErrorMessage));
            }
            else
            {
                EngineLog.HandlerThrew(_logger, _pool.App.Name, request.Id, method, target, item.ErrorMessage ?? string.Empty, item.ErrorStack ?? string.Empty);
                request.TryComplete(ProxyResponse.Text(500, "Internal Server Error"));
            }
        }
    }

    private void OnBindingCalled(ReadOnlySpan<byte> json, string? sessionId)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read();
        string? name = null;
        byte[]? payload = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = reader.GetString();
            }
            else if (reader.ValueTextEquals("payload"u8))
            {
                reader.Read();
                payload = reader.ValueIsEscaped ? Encoding.UTF8.GetBytes(reader.GetString()!) : reader.ValueSpan.ToArray();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (payload is null)
        {
            return;
        }

        if (name == Bindings.Done)
        {
            var items = new List<ResponseItem>();
            ResponseReader.ReadItems(payload, items);
            Complete(items);
        }

    }

    /// <summary>Waits for the tab's session to end (crash, close, browser gone) and hands its requests back.</summary>
    private async Task WatchAsync()
    {
        var reason = await Session.Ended.ConfigureAwait(false);
        var expected = _dead || _pool.IsStopping;
        _dead = true;
        if (!expected)
        {
            EngineLog.TabEnded(_logger, _pool.App.Name, Index, reason.ToString(), Volatile.Read(ref _inPageCount) + Volatile.Read(ref _queued));
        }
        var orphans = new List<PendingCall>();
        foreach (var (id, request) in _inPage)
        {
            if (TryTakeInPage(id, out _))
            {
                orphans.Add(request);
            }
        }

        while (_queue.TryDequeue(out var item))
        {
            Interlocked.Add(ref _queued, -Weight(item));
            if (item is PendingCall queued)
            {
                queued.Attempts = Math.Max(queued.Attempts - 1, 0); // never reached the page: not an attempt
                orphans.Add(queued);
            }
        }

        LoseConnections();

        foreach (var (id, stream) in _streams)
        {
            if (_streams.TryRemove(id, out _))
            {
                stream.TryComplete(new InvalidOperationException("The tab ended while streaming the response body."));
            }
        }

        DisposeSubscriptions();
        _pool.OnTabEnded(this, reason, orphans);
    }

    /// <summary>Answers 504 to expired requests; a tab whose calls stopped returning gets its script terminated.</summary>
    public void CheckDeadlines(long now)
    {
        foreach (var (id, request) in _inPage)
        {
            if (now >= request.Deadline && TryTakeInPage(id, out _))
            {
                // Remembered until a call returns: the request is answered now, but the call may have been sent less
                // than a second ago, and the check below that terminates the script then passes on a later tick.
                Volatile.Write(ref _expiredInCall, true);
                TimeOut(request);
            }
        }

        var started = Volatile.Read(ref _oldestCallStart);
        var terminated = Volatile.Read(ref _terminatedAt);
        if (terminated != 0 && started != 0 && started <= terminated && now - terminated >= UnresponsiveAfterMs)
        {
            // Runtime.terminateExecution did not bring the calls back: the tab no longer answers. Closing it ends its
            // session; the watcher then hands its requests back (retry or 502) and the spare takes its place.
            Volatile.Write(ref _terminatedAt, 0);
            EngineLog.Unresponsive(_logger, _pool.App.Name, Index);
            _ = CloseAsync();
            return;
        }

        if (Volatile.Read(ref _expiredInCall) && started != 0 && now - started >= 1000 && terminated == 0)
        {
            // A batch call has not come back for a second and a deadline passed: the page's thread is stuck in a handler.
            EngineLog.Terminating(_logger, _pool.App.Name, Index);
            Volatile.Write(ref _terminatedAt, now);
            _ = TerminateAsync();
        }
    }

    /// <summary>How long calls may stay stuck after Runtime.terminateExecution before the tab is given up.</summary>
    private const long UnresponsiveAfterMs = 5000;

    private long _terminatedAt;

    /// <summary>A request expired while calls were in the page and none has returned since.</summary>
    private bool _expiredInCall;

    private void TimeOut(PendingCall call)
    {
        if (call is not PendingRequest request)
        {
            TimeOutDatagram((PendingDatagram)call);
            return;
        }

        if (request.TryComplete(ProxyResponse.Text(504, "Gateway Timeout")))
        {
            EngineLog.RequestTimedOut(_logger, _pool.App.Name, request.Id, request.Request.Method, request.Request.TargetString, _pool.Options.RequestTimeout.TotalSeconds);
        }
    }

    private async Task TerminateAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Session.SendAsync(CdpMethods.RuntimeTerminateExecution, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CdpClosedException or CdpException or OperationCanceledException)
        {
            // The tab is gone, or it did not answer: CheckDeadlines gives it up after UnresponsiveAfterMs.
        }
    }

    public async Task CloseAsync()
    {
        _dead = true;
        DisposeSubscriptions();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await Session.Connection.SendAsync(
                CdpMethods.TargetCloseTarget,
                new CloseTargetParams(Session.TargetId),
                CdpJsonContext.Default.CloseTargetParams,
                cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CdpClosedException or CdpException or OperationCanceledException)
        {
            // Best effort: the browser may be closing already.
        }
    }

    private void DisposeSubscriptions()
    {
        lock (_subscriptions)
        {
            foreach (var subscription in _subscriptions)
            {
                subscription.Dispose();
            }

            _subscriptions.Clear();
        }
    }

    internal static class Bindings
    {
        public const string Done = "__lpDone";
    }
}

/// <summary>The app lacks an export a configured listener needs (exit code 2 in the CLI).</summary>
public sealed class MissingExportException(string[] missing, string message) : Exception(message)
{
    public IReadOnlyList<string> Missing { get; } = missing;
}
