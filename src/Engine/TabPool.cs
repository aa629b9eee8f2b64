using System.Collections.Concurrent;
using LeanProxy.Cdp;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine;

/// <summary>
/// The tabs of one app, in the app's own browser context (own origin, storage and renderers). Dispatches each
/// request to the live tab with the least outstanding work; keeps a warm spare tab so that a crashed tab is
/// replaced at once; holds requests while no tab is live (a replacement or a relaunched browser is coming)
/// instead of failing them; enforces every request's deadline from one heartbeat.
/// </summary>
internal sealed class TabPool : IAsyncDisposable
{
    private readonly TabWorker?[] _tabs;
    private readonly ConcurrentQueue<PendingCall> _waiting = new();
    private readonly Timer _heartbeat;
    private readonly Lock _lock = new();
    private CdpConnection _connection;
    private string _browserContextId;
    private TabWorker? _spare;
    private Task? _spareCreation;
    private int _nextTabNumber;
    private volatile bool _stopping;

    private TabPool(CdpConnection connection, string browserContextId, PageServer pageServer, AppSource app, EngineOptions options, ILogger logger)
    {
        _connection = connection;
        _browserContextId = browserContextId;
        PageServer = pageServer;
        App = app;
        Options = options;
        Logger = logger;
        _tabs = new TabWorker?[options.Tabs];
        _heartbeat = new Timer(static state => ((TabPool)state!).OnHeartbeat(), this, 100, 100);
    }

    public CdpConnection Connection => Volatile.Read(ref _connection);

    public PageServer PageServer { get; }

    public AppSource App { get; }

    public EngineOptions Options { get; }

    public ILogger Logger { get; }

    public IReadOnlyList<TabWorker?> Tabs => _tabs;

    /// <summary>The warm spare, when one is ready.</summary>
    public TabWorker? Spare => Volatile.Read(ref _spare);

    /// <summary>The pool is shutting down: tabs ending now is expected.</summary>
    public bool IsStopping => _stopping;

    public static async Task<TabPool> CreateAsync(CdpConnection connection, PageServer pageServer, AppSource app, EngineOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var context = await CreateContextAsync(connection, cancellationToken).ConfigureAwait(false);
        var pool = new TabPool(connection, context, pageServer, app, options, logger);
        try
        {
            await pool.FillAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await pool.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return pool;
    }

    private static async Task<string> CreateContextAsync(CdpConnection connection, CancellationToken cancellationToken)
    {
        var context = await connection.SendAsync(
            CdpMethods.TargetCreateBrowserContext,
            new CreateBrowserContextParams(),
            CdpJsonContext.Default.CreateBrowserContextParams,
            CdpJsonContext.Default.CreateBrowserContextResult,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return context.BrowserContextId;
    }

    /// <summary>Opens every tab (in parallel) on the current connection, then starts the spare in the background.</summary>
    private async Task FillAsync(CancellationToken cancellationToken)
    {
        var connection = Connection;
        var context = _browserContextId;
        var tabs = await Task.WhenAll(Enumerable.Range(0, _tabs.Length)
            .Select(_ => TabWorker.CreateAsync(this, connection, context, Interlocked.Increment(ref _nextTabNumber) - 1, cancellationToken))).ConfigureAwait(false);
        for (var i = 0; i < tabs.Length; i++)
        {
            _tabs[i] = tabs[i];
        }

        FlushWaiting();

        // The spare is not needed to serve: start it once the first requests had the machine to themselves.
        _ = Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None).ContinueWith(_ => EnsureSpare(), TaskScheduler.Default);
    }

    /// <summary>After the browser was relaunched: a new context and new tabs; requests held meanwhile go to them.</summary>
    public async Task RebindAsync(CdpConnection connection, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _connection, connection);
        Volatile.Write(ref _spare, null);
        _browserContextId = await CreateContextAsync(connection, cancellationToken).ConfigureAwait(false);
        await FillAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Requests queued in tabs or waiting for a tab.</summary>
    public int Outstanding
    {
        get
        {
            var total = _waiting.Count;
            foreach (var tab in _tabs)
            {
                total += tab?.Outstanding ?? 0;
            }

            return total;
        }
    }

    public void Dispatch(PendingCall request)
    {
        TabWorker? best = null;
        foreach (var tab in _tabs)
        {
            if (tab is null || tab.IsDead)
            {
                continue;
            }

            if (best is null || tab.Outstanding < best.Outstanding)
            {
                best = tab;
            }
        }

        if (best is null)
        {
            _waiting.Enqueue(request);
            return;
        }

        best.Enqueue(request);
    }

    /// <summary>The live tab a new connection should live on: the one with the fewest connections, then the least work; null when none is live.</summary>
    public TabWorker? PickForConnection()
    {
        TabWorker? best = null;
        foreach (var tab in _tabs)
        {
            if (tab is null || tab.IsDead)
            {
                continue;
            }

            if (best is null || tab.ConnectionCount < best.ConnectionCount
                || (tab.ConnectionCount == best.ConnectionCount && tab.Outstanding < best.Outstanding))
            {
                best = tab;
            }
        }

        return best;
    }

    internal void OnTabEnded(TabWorker tab, CdpCloseReason reason, List<PendingCall> orphans)
    {
        if (Spare == tab)
        {
            Volatile.Write(ref _spare, null);
            EnsureSpare();
            return;
        }

        // Promote the spare first, so that retried requests find a live tab.
        var slot = Array.IndexOf(_tabs, tab);
        if (slot >= 0 && !_stopping)
        {
            var spare = Interlocked.Exchange(ref _spare, null);
            if (spare is not null && !spare.IsDead)
            {
                _tabs[slot] = spare;
                EnsureSpare();
            }
            else if (!Connection.IsClosed)
            {
                _ = ReplaceAsync(slot);
            }
        }

        foreach (var request in orphans)
        {
            if (request.IsCompleted)
            {
                continue;
            }

            if (request.MayRetry && !_stopping)
            {
                Dispatch(request);
            }
            else
            {
                request.TryFail(502, "Bad Gateway: the tab handling this request crashed");
            }
        }

        _ = tab.CloseAsync();
    }

    private async Task ReplaceAsync(int slot)
    {
        try
        {
            using var timeout = new CancellationTokenSource(Options.LoadTimeout);
            var replacement = await TabWorker.CreateAsync(this, Connection, _browserContextId, Interlocked.Increment(ref _nextTabNumber) - 1, timeout.Token).ConfigureAwait(false);
            _tabs[slot] = replacement;
            FlushWaiting();
        }
        catch (Exception ex) when (ex is CdpException or CdpClosedException or AppLoadException or OperationCanceledException or TimeoutException)
        {
            EngineLog.ReplaceFailed(Logger, App.Name, slot, ex);
        }
    }

    /// <summary>Starts creating a spare tab unless one exists or is on its way.</summary>
    private void EnsureSpare()
    {
        if (!Options.WarmSpare || _stopping || Connection.IsClosed)
        {
            return;
        }

        lock (_lock)
        {
            if (Volatile.Read(ref _spare) is not null || _spareCreation is { IsCompleted: false })
            {
                return;
            }

            _spareCreation = CreateSpareAsync();
        }
    }

    private async Task CreateSpareAsync()
    {
        await Task.Yield();
        try
        {
            using var timeout = new CancellationTokenSource(Options.LoadTimeout);
            var spare = await TabWorker.CreateAsync(this, Connection, _browserContextId, Interlocked.Increment(ref _nextTabNumber) - 1, timeout.Token).ConfigureAwait(false);
            if (_stopping)
            {
                await spare.CloseAsync().ConfigureAwait(false);
                return;
            }

            Volatile.Write(ref _spare, spare);

            // A tab may have died while the spare was loading: fill its slot now.
            for (var i = 0; i < _tabs.Length; i++)
            {
                if (_tabs[i] is null or { IsDead: true } && Interlocked.Exchange(ref _spare, null) is { } promoted)
                {
                    _tabs[i] = promoted;
                    FlushWaiting();
                    EnsureSpare();
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is CdpException or CdpClosedException or AppLoadException or OperationCanceledException or TimeoutException)
        {
            EngineLog.ReplaceFailed(Logger, App.Name, -1, ex);
        }
    }

    private void FlushWaiting()
    {
        var count = _waiting.Count;
        for (var i = 0; i < count && _waiting.TryDequeue(out var waiting); i++)
        {
            Dispatch(waiting);
        }
    }

    private void OnHeartbeat()
    {
        var now = Environment.TickCount64;
        foreach (var tab in _tabs)
        {
            tab?.CheckDeadlines(now);
        }

        if (!_waiting.IsEmpty)
        {
            var count = _waiting.Count;
            for (var i = 0; i < count && _waiting.TryDequeue(out var request); i++)
            {
                if (now >= request.Deadline)
                {
                    request.TryFail(504, "Gateway Timeout");
                }
                else
                {
                    Dispatch(request);
                }
            }
        }
    }

    /// <summary>Maps a page URL (http://127.0.0.1:port/x.js) back to the app file, for error messages.</summary>
    public string LocalPath(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Port == PageServer.Origin.Port)
        {
            return Path.Combine(App.Root, Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')));
        }

        return url;
    }

    /// <summary>Waits until no request is outstanding in any tab, or the timeout passes.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        _stopping = true;
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Environment.TickCount64 < deadline && Outstanding > 0)
        {
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        await _heartbeat.DisposeAsync().ConfigureAwait(false);
        while (_waiting.TryDequeue(out var request))
        {
            request.TryFail(503, "Service Unavailable: shutting down");
        }

        var spareCreation = _spareCreation;
        if (spareCreation is not null)
        {
            await spareCreation.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        var closing = _tabs.Append(Spare).Where(t => t is not null).Select(t => t!.CloseAsync());
        await Task.WhenAll(closing).ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await Connection.SendAsync(
                CdpMethods.TargetDisposeBrowserContext,
                new DisposeBrowserContextParams(_browserContextId),
                CdpJsonContext.Default.DisposeBrowserContextParams,
                cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CdpClosedException or CdpException or OperationCanceledException)
        {
            // Best effort: the browser is about to close anyway.
        }
    }
}
