using System.Collections.Concurrent;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Browser;
using LeanProxy.Listener;
using LeanProxy.Store;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Node;

/// <summary>
/// A node's apps: what the store says (each app's active version) and what runs here (an app host per app that was
/// requested). Follows the store's revision and applies every change without a restart: a new version is started
/// first and then routed to (blue/green), the old one drains; a deleted app stops being routed. While the store is
/// unreachable the node serves what it has, says it is not ready, and catches up when the store is back.
/// </summary>
internal sealed partial class NodeApps : IAppHostSource, IAsyncDisposable
{
    private readonly IAppStore _store;
    private readonly BrowserHost _browser;
    private readonly NodeOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, NodeApp> _apps = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _sync = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _following;
    private long _revision;
    private volatile bool _storeReachable = true;
    private readonly TabBudget _budget;
    private readonly LeanProxy.Engine.Pages.SpareContexts? _spares;

    public NodeApps(IAppStore store, BrowserHost browser, NodeOptions options, ILoggerFactory loggerFactory)
    {
        _store = store;
        _browser = browser;
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("LeanProxy.Node");
        _budget = new TabBudget(options.MaxTabs);
        _spares = options.PrepareContext ? new LeanProxy.Engine.Pages.SpareContexts(browser, loggerFactory) : null;
        Router = AppRouter.ByHost(options.Domain, this);
        Kv = store is SqlAppStore sql ? new LeanProxy.Engine.Kv.KvStoreHandle(sql, loggerFactory.CreateLogger("LeanProxy.Kv")) : null;
    }

    public AppRouter Router { get; }

    /// <summary>The KV values of the node's apps, in the node's store.</summary>
    public LeanProxy.Engine.Kv.KvStoreHandle? Kv { get; }

    public IAppStore Store => _store;

    public bool StoreReachable => _storeReachable;

    public long Revision => Interlocked.Read(ref _revision);

    /// <summary>Tabs held by the app hosts (see <see cref="TabBudget"/>).</summary>
    public int RunningTabs => _budget.InUse;

    /// <summary>Every app the store has (not deleted), with its active version, by name.</summary>
    public IReadOnlyList<(string Name, int Version)> Known() =>
        [.. _apps.Values.Select(a => a.Desired).Where(a => !a.Deleted).Select(a => (a.Name, a.ActiveVersion)).OrderBy(a => a.Name, StringComparer.Ordinal)];

    /// <summary>The version of NAME running on this node, if it runs here.</summary>
    public int? RunningVersion(string name) => _apps.TryGetValue(name, out var app) && app.Running is not null ? app.RunningVersion : null;

    /// <summary>Reads every app from the store (the schema migrated first); then follows the store in the background.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        var changes = await _store.GetChangesAsync(0, cancellationToken).ConfigureAwait(false);
        foreach (var app in changes.Apps.Where(a => !a.Deleted))
        {
            _apps[app.Name] = new NodeApp(app);
        }

        Interlocked.Exchange(ref _revision, changes.Revision);
        NodeLog.Loaded(_logger, _store.Description, changes.Revision, _apps.Count);
        foreach (var app in _apps.Values.Where(a => a.Desired.Warm))
        {
            KeepWarm(app.Desired.Name);
        }

        _following = FollowAsync(_stop.Token);
        _spares?.Prepare();
    }

    /// <summary>Starts an app kept warm in the background (its failure is logged by <see cref="GetAsync"/>).</summary>
    private void KeepWarm(string name) => _ = Task.Run(async () =>
    {
        try
        {
            await GetAsync(name, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AppUnavailableException or OperationCanceledException)
        {
            // Logged where it failed; its first request tries again.
        }
    });

    /// <summary>Reads the store's changes now and applies them (the node that took a deploy serves it when it answers).</summary>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        await _sync.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var changes = await _store.GetChangesAsync(Revision, cancellationToken).ConfigureAwait(false);
            if (!_storeReachable)
            {
                _storeReachable = true;
                NodeLog.StoreBack(_logger, _store.Description, Revision);
            }

            foreach (var app in changes.Apps)
            {
                await ApplyAsync(app).ConfigureAwait(false);
            }

            Interlocked.Exchange(ref _revision, changes.Revision);
        }
        finally
        {
            _sync.Release();
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031",
        Justification = "Any failure of the store is logged and retried with a backoff; the follower never stops.")]
    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.Zero;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await SyncAsync(cancellationToken).ConfigureAwait(false);
                await StopIdleAsync().ConfigureAwait(false);
                backoff = TimeSpan.Zero;
                await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Any failure of the store (connection refused, a timeout, a server going away mid-query): logged once
                // until it is reachable again, never once per poll; counted every time.
                Ops.HostMetrics.StorePollFailed();
                if (_storeReachable)
                {
                    _storeReachable = false;
                    NodeLog.StoreUnreachable(_logger, _store.Description, ex.GetBaseException().Message);
                }

                backoff = TimeSpan.FromMilliseconds(Math.Min(Math.Max(backoff.TotalMilliseconds * 2, 500), 5000));
                try
                {
                    await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Applies one app's change: a new active version (started here only if the app runs here), or a delete.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000",
        Justification = "The new version's host goes to the router; the old one is retired (disposed) once drained.")]
    private async Task ApplyAsync(StoredApp change)
    {
        if (change.Deleted)
        {
            if (_apps.TryRemove(change.Name, out var gone))
            {
                await gone.Gate.WaitAsync().ConfigureAwait(false);
                try
                {
                    Router.Remove(change.Name);
                    NodeLog.Deleted(_logger, change.Name);
                    if (gone.Running is { } host)
                    {
                        gone.Running = null;
                        FireAndForget.Run(RetireAsync(host), _logger, "retiring a version of " + change.Name);
                    }
                }
                finally
                {
                    gone.Gate.Release();
                }
            }

            return;
        }

        var app = _apps.GetOrAdd(change.Name, _ => new NodeApp(change));
        await app.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            app.Desired = change;
            if (app.Running is null)
            {
                if (change.Warm)
                {
                    KeepWarm(change.Name);
                }

                return; // not running here: its next request starts the new version
            }

            if (app.RunningIdentity == Identity(change))
            {
                return; // the same content, variables and bindings (a version number alone can come back after a delete)
            }

            AppHost next;
            try
            {
                // The old version gives its tabs back right after the switch: the new one may pass the budget meanwhile.
                _budget.Take(_options.App.Tabs);
                next = await StartVersionAsync(change, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // One app that does not start (its module, the browser, the store) keeps its running version; the
                // node goes on applying the other changes.
                NodeLog.StartFailed(_logger, change.Name, change.ActiveVersion, ex);
                return;
            }

            var previous = app.RunningVersion;
            var old = Router.Swap(change.Name, next);
            app.Running = next;
            app.RunningVersion = change.ActiveVersion;
            app.RunningIdentity = Identity(change);
            NodeLog.Switched(_logger, change.Name, change.ActiveVersion, previous);
            if (old is not null)
            {
                FireAndForget.Run(RetireAsync(old), _logger, "retiring a version of " + change.Name);
            }
        }
        finally
        {
            app.Gate.Release();
        }
    }

    /// <summary>The router asks for an app it does not route yet: start its active version here.</summary>
    public async ValueTask<AppHost?> GetAsync(string name, CancellationToken cancellationToken)
    {
        if (!_apps.TryGetValue(name, out var app))
        {
            return null;
        }

        await app.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (app.Running is { } running)
            {
                return running;
            }

            if (!_apps.TryGetValue(name, out var current) || !ReferenceEquals(current, app))
            {
                return null; // deleted (and perhaps deployed again) meanwhile: the next request starts what is current
            }

            // Within the budget, taking tabs from the least recently used apps when it is spent.
            while (!_budget.TryTake(_options.App.Tabs))
            {
                if (!await EvictLeastRecentlyUsedAsync(name).ConfigureAwait(false))
                {
                    throw new AppUnavailableException($"the node's tab budget (--max-tabs {_options.MaxTabs}) is spent on apps kept warm or starting");
                }
            }

            var desired = app.Desired;
            var host = await StartVersionAsync(desired, CancellationToken.None).ConfigureAwait(false); // not one client's to cancel
            app.Running = host;
            app.RunningVersion = desired.ActiveVersion;
            app.RunningIdentity = Identity(desired);
            Router.Swap(name, host);
            return host;
        }
        catch (Exception ex) when (ex is AppLoadException or MissingExportException or BundleArchiveException)
        {
            NodeLog.StartFailed(_logger, name, app.Desired.ActiveVersion, ex);
            throw new AppUnavailableException("its active version does not load: " + ex.Message, ex);
        }
        finally
        {
            app.Gate.Release();
        }
    }

    /// <summary>Stops following the store and every app host (each drains within <paramref name="drain"/>).</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_following is not null)
        {
            await _following.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await Task.WhenAll(_apps.Values.Select(a => a.Running).OfType<AppHost>().Select(h => h.StopAsync(drain))).ConfigureAwait(false);
        if (_spares is not null)
        {
            await _spares.DisposeAsync().ConfigureAwait(false);
        }

        if (Kv is not null)
        {
            await Kv.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stop.Dispose();
        _sync.Dispose();
    }

    private sealed class NodeApp(StoredApp desired)
    {
        public StoredApp Desired { get; set; } = desired;

        public AppHost? Running { get; set; }

        public int RunningVersion { get; set; }

        /// <summary>What the running version is (see <see cref="Identity"/>).</summary>
        public string? RunningIdentity { get; set; }

        public SemaphoreSlim Gate { get; } = new(1, 1);
    }
}
