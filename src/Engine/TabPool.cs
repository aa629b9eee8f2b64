using System.Collections.Concurrent;
using LeanProxy.Cdp;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine;

/// <summary>
/// The tabs of one app, in the app's own browser context (own origin, storage and renderers). Dispatches each
/// request to the live tab with the least outstanding work; replaces tabs that crash; holds requests while no
/// tab is live instead of failing them; enforces every request's deadline from one heartbeat.
/// </summary>
internal sealed class TabPool : IAsyncDisposable
{
    private readonly TabWorker?[] _tabs;
    private readonly ConcurrentQueue<PendingRequest> _waiting = new();
    private readonly Timer _heartbeat;
    private volatile bool _stopping;

    private TabPool(CdpConnection connection, string browserContextId, PageServer pageServer, AppSource app, EngineOptions options, ILogger logger)
    {
        Connection = connection;
        BrowserContextId = browserContextId;
        PageServer = pageServer;
        App = app;
        Options = options;
        Logger = logger;
        _tabs = new TabWorker?[options.Tabs];
        _heartbeat = new Timer(static state => ((TabPool)state!).OnHeartbeat(), this, 100, 100);
    }

    public CdpConnection Connection { get; }

    public string BrowserContextId { get; }

    public PageServer PageServer { get; }

    public AppSource App { get; }

    public EngineOptions Options { get; }

    public ILogger Logger { get; }

    public IReadOnlyList<TabWorker?> Tabs => _tabs;

    /// <summary>The pool is shutting down: tabs ending now is expected.</summary>
    public bool IsStopping => _stopping;

    public static async Task<TabPool> CreateAsync(CdpConnection connection, PageServer pageServer, AppSource app, EngineOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var context = await connection.SendAsync(
            CdpMethods.TargetCreateBrowserContext,
            new CreateBrowserContextParams(),
            CdpJsonContext.Default.CreateBrowserContextParams,
            CdpJsonContext.Default.CreateBrowserContextResult,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        var pool = new TabPool(connection, context.BrowserContextId, pageServer, app, options, logger);
        try
        {
            var tabs = await Task.WhenAll(Enumerable.Range(0, options.Tabs).Select(i => TabWorker.CreateAsync(pool, i, cancellationToken))).ConfigureAwait(false);
            for (var i = 0; i < tabs.Length; i++)
            {
                pool._tabs[i] = tabs[i];
            }
        }
        catch
        {
            await pool.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return pool;
    }

    /// <summary>Requests queued in tabs or waiting for a tab (not yet in a page).</summary>
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

    public void Dispatch(PendingRequest request)
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

    internal void OnTabEnded(TabWorker tab, CdpCloseReason reason, List<PendingRequest> orphans)
    {
        foreach (var request in orphans)
        {
            if (request.IsCompleted)
            {
                continue;
            }

            var retry = request.Attempts == 0
                || (request.Attempts == 1 && HttpMethods.IsIdempotentSafe(request.Request.KnownMethod));
            if (retry && !_stopping)
            {
                Dispatch(request);
            }
            else
            {
                request.TryComplete(ProxyResponse.Text(502, "Bad Gateway: the tab handling this request crashed"));
            }
        }

        if (!_stopping && !Connection.IsClosed)
        {
            _ = ReplaceAsync(tab);
        }
    }

    private async Task ReplaceAsync(TabWorker tab)
    {
        try
        {
            await tab.CloseAsync().ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(Options.LoadTimeout);
            var replacement = await TabWorker.CreateAsync(this, tab.Index, timeout.Token).ConfigureAwait(false);
            _tabs[tab.Index] = replacement;
            while (_waiting.TryDequeue(out var waiting))
            {
                Dispatch(waiting);
            }
        }
        catch (Exception ex) when (ex is CdpException or CdpClosedException or AppLoadException or OperationCanceledException or TimeoutException)
        {
            EngineLog.ReplaceFailed(Logger, App.Name, tab.Index, ex);
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
                    request.TryComplete(ProxyResponse.Text(504, "Gateway Timeout"));
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
            request.TryComplete(ProxyResponse.Text(503, "Service Unavailable: shutting down"));
        }

        await Task.WhenAll(_tabs.Where(t => t is not null).Select(t => t!.CloseAsync())).ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await Connection.SendAsync(
                CdpMethods.TargetDisposeBrowserContext,
                new DisposeBrowserContextParams(BrowserContextId),
                CdpJsonContext.Default.DisposeBrowserContextParams,
                cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CdpClosedException or CdpException or OperationCanceledException)
        {
            // Best effort: the browser is about to close anyway.
        }
    }
}
