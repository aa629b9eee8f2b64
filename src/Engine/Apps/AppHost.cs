using System.Net;
using LeanProxy.Engine.Browser;
using LeanProxy.Engine.Kv;
using LeanProxy.Engine.Pages;
using LeanProxy.Engine.Raw;
using LeanProxy.Engine.Tabs;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Engine.Apps;

/// <summary>
/// One app version, served: its bundle, its page server (hence its origin), its tab pool and queue, its options and
/// variables. Implements the listener seams, so a router hands it requests and a TCP or UDP listener is bound to it.
/// Every request gets exactly one response: the handler's, 503 when the queue is full, 504 past its deadline, or 502
/// when its tab crashed and it could not be retried. A raw TCP connection lives on one tab (the one with the fewest
/// connections when it opens) and ends with it; a datagram is answered like a request, but every failure means no reply.
/// </summary>
public sealed class AppHost : IProxyRequestHandler, IProxyConnectionHandler, IProxyDatagramHandler, IBrowserClient, IAsyncDisposable
{
    private readonly AppBundle _bundle;
    private readonly AppOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly KvStoreHandle? _kv;
    private KvBinding? _kvBinding;
    private Egress.EgressProxy? _egress;
    private Fetch.FetchBinding? _fetchBinding;
    private AppScope? _app;
    private PageServer? _pageServer;
    private BrowserHost? _browser;
    private TabPool? _pool;
    private int _nextId;
    private long _lastActivity = Environment.TickCount64;
    private int _stopped;
    private volatile bool _stopping;

    private AppHost(AppBundle bundle, AppOptions options, ILoggerFactory loggerFactory, AppScope? app, KvStoreHandle? kv = null)
    {
        _kv = kv;
        _bundle = bundle;
        _options = options;
        _loggerFactory = loggerFactory;
        _app = app;
    }

    public string Name => _bundle.Name;

    public AppBundle Bundle => _bundle;

    public AppOptions Options => _options;

    internal TabPool Pool => _pool ?? throw new InvalidOperationException("The app host is not started.");

    private AppScope App => _app ?? throw new InvalidOperationException("The app host is not started.");

    /// <summary>An app host for one app version; <see cref="StartAsync(BrowserHost, CancellationToken)"/> opens its tabs.</summary>
    public static AppHost Create(AppBundle bundle, AppOptions options, ILoggerFactory? loggerFactory = null, KvStoreHandle? kv = null)
    {
        if (options.KvBindings.Count > 0 && kv is null)
        {
            throw new ArgumentException("KV bindings need a store.");
        }

        return new(bundle, options, loggerFactory ?? NullLoggerFactory.Instance, null, kv);
    }

    /// <summary>An app host over pages of the caller's making (the tests' scripted fake pages).</summary>
    internal static AppHost Create(AppScope app) => new(app.Bundle, app.Options, NullLoggerFactory.Instance, app);

    /// <summary>
    /// Starts the app's page server and egress proxy, which need no browser: called while Chromium starts (serve APP),
    /// so that only the context and the tabs remain for <see cref="StartAsync(BrowserHost, CancellationToken)"/>.
    /// </summary>
    public void StartServing()
    {
        if (_pageServer is not null)
        {
            return;
        }

        _egress = Egress.EgressProxy.Start(new Egress.EgressPolicy(_options.AllowNet), _bundle.Name, _loggerFactory.CreateLogger("LeanProxy.Egress"));
        _pageServer = new PageServer(_bundle, _options.Variables, _loggerFactory.CreateLogger("LeanProxy.PageServer"), _options.KvBindings);
        _pageServer.Start();

        // First uses that load and compile code (~25 ms here: the metrics registry, the JSON reader of a page's load
        // status) happen now, while Chromium starts, instead of between its answer and the first tab.
        Metrics.EngineMetrics.Touch();
        _ = System.Text.Json.JsonSerializer.Deserialize("""{"t":"ready","exports":{"fetch":true}}""", EngineJsonContext.Default.PageLoadStatus);
    }

    /// <summary>Starts the page server and opens the tabs in <paramref name="browser"/>; returns once the app is loaded in its first tab.</summary>
    public Task StartAsync(BrowserHost browser, CancellationToken cancellationToken = default) => StartAsync(browser, null, cancellationToken);

    /// <summary>
    /// Starts the app; with a <paramref name="prepared"/> context (a node's cold start) its page server, proxy, context
    /// and first tab become the app's, so that only the app's modules remain to load.
    /// </summary>
    public async Task StartAsync(BrowserHost browser, PreparedContext? prepared, CancellationToken cancellationToken = default)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // Imports that cannot work in a page are refused with the app's own file:line before any tab opens.
        var imports = _bundle.Imports;
        if (imports.ImportMapJson is not null)
        {
            var logger = _loggerFactory.CreateLogger("LeanProxy.Engine");
            EngineLog.ImportsResolved(logger, _bundle.Name, imports.Modules, imports.Packages, imports.Elapsed.TotalMilliseconds);
            EngineLog.ImportMap(logger, _bundle.Name, imports.ImportMapJson);
        }

        var problems = imports.Problems;
        if (problems.Count > 0)
        {
            throw new AppLoadException(problems[0] + (problems.Count == 1 ? string.Empty : $" (and {problems.Count - 1} more such import(s))"));
        }

        PageServer pageServer;
        var policy = new Egress.EgressPolicy(_options.AllowNet);
        if (_pageServer is not null && _egress is not null)
        {
            pageServer = _pageServer; // started ahead (StartServing), while the browser started
        }
        else if (prepared is not null && prepared.IsUsable(browser) && prepared.TryAdopt())
        {
            pageServer = prepared.PageServer;
            pageServer.Assign(_bundle, _options.Variables, _options.KvBindings);
            _egress = prepared.Egress;
            _egress.Assign(policy, _bundle.Name);
        }
        else
        {
            prepared = null;
            pageServer = new PageServer(_bundle, _options.Variables, _loggerFactory.CreateLogger("LeanProxy.PageServer"), _options.KvBindings);
            _egress = Egress.EgressProxy.Start(policy, _bundle.Name, _loggerFactory.CreateLogger("LeanProxy.Egress"));
            pageServer.Start();
        }

        _app = new AppScope
        {
            Name = _bundle.Name,
            Bundle = _bundle,
            Options = _options,
            Logger = new AppLogger(_loggerFactory.CreateLogger("LeanProxy.Engine"), _bundle.Name, _options.Version ?? _bundle.ContentId[..12]),
            Bindings = PageBindings.Create(Bindings()),
            Subrequests = _fetchBinding,
            Pages = new CdpPageFactory(browser, pageServer, _egress, prepared),
        };
        _pageServer = pageServer;
        try
        {
            _pool = await TabPool.CreateAsync(_app, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await pageServer.DisposeAsync().ConfigureAwait(false);
            if (_egress is not null)
            {
                await _egress.DisposeAsync().ConfigureAwait(false);
            }

            (_pageServer, _egress) = (null, null);
            throw;
        }

        _browser = browser;
        browser.Register(this);
        var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        EngineLog.AppStarted(_app.Logger, _app.Name, took.TotalMilliseconds, _options.Tabs, prepared is null ? string.Empty : ", in a context prepared ahead");
        if (!_options.Candidate)
        {
            _app.Stats.ColdStart(took);
            Metrics.EngineMetrics.Started(this);
            Metrics.NodeEvents.Add("start", _app.Name, $"started in {took.TotalMilliseconds:0} ms");
        }
    }

    /// <summary>The page → host bindings: the handler's fetch to other servers, and KV when the app has KV bindings.</summary>
    private Dictionary<string, PageBindingHandler> Bindings()
    {
        var fetch = new Fetch.FetchBinding(_options, _bundle.Name, _loggerFactory.CreateLogger("LeanProxy.Fetch"), Metrics.AppStats.For(_bundle.Name));
        _fetchBinding = fetch;
        var bindings = new Dictionary<string, PageBindingHandler> { [Fetch.FetchBinding.Name] = fetch.Handle };
        if (_kv is null || _options.KvBindings.Count == 0)
        {
            return bindings;
        }

        var binding = new Kv.KvBinding(_kv, _kv.AppPrefix + _bundle.Name, _options.KvBindings.ToHashSet(StringComparer.Ordinal),
            _loggerFactory.CreateLogger("LeanProxy.Kv"),
            _kv.AppPrefix.Length == 0 ? Metrics.AppStats.For(_bundle.Name) : null);
        _kvBinding = binding;
        bindings[Kv.KvBinding.Name] = binding.Handle;
        return bindings;
    }

    /// <summary>Opens the tabs of an app host made with <see cref="Create(AppScope)"/>; without a heartbeat the test
    /// calls <see cref="TabPool.Tick"/>.</summary>
    internal async Task StartAsync(bool heartbeat, CancellationToken cancellationToken) =>
        _pool = await TabPool.CreateAsync(App, cancellationToken, heartbeat).ConfigureAwait(false);

    Task IBrowserClient.OnBrowserRelaunchedAsync(CancellationToken cancellationToken) => Pool.RebindAsync(cancellationToken);

    /// <summary>When a request, connection or datagram last arrived (Environment.TickCount64): what a node's LRU and idle timeout read.</summary>
    public long LastActivity => Volatile.Read(ref _lastActivity);

    /// <summary>Calls waiting for or running in a tab.</summary>
    public int Outstanding => _pool?.Outstanding ?? 0;

    /// <summary>Live tabs now (between <see cref="AppOptions.Tabs"/> and <see cref="AppOptions.MaxTabs"/>).</summary>
    public int LiveTabs => _pool?.LiveTabs ?? 0;

    /// <summary>Closes one tab past <see cref="AppOptions.Tabs"/> (the least busy; its calls finish first) and gives it
    /// to the budget; false when it has none.</summary>
    public bool GiveOneTabBack() => _pool?.GiveOneBack() ?? false;

    /// <summary>Gives all of the app's tabs back to <see cref="AppOptions.Budget"/>, once (see <see cref="ITabBudget"/>); the pool grows no more.</summary>
    public void ReleaseTabs() => _pool?.ReleaseTabs();

    public ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        var pool = Pool;
        if (pool.Outstanding >= App.Options.QueueLimit)
        {
            EngineLog.QueueFull(App.Logger, App.Name, App.Options.QueueLimit);
            App.Stats.Http(503, System.Diagnostics.Stopwatch.GetTimestamp());
            var busy = ProxyResponse.Text(503, "Service Unavailable: the request queue is full");
            busy.Headers.Add(new("Retry-After", "1"));
            return ValueTask.FromResult(busy);
        }

        var pending = new PendingRequest(Interlocked.Increment(ref _nextId), request, App.DeadlineFromNow(), App.Stats);
        pool.Dispatch(pending);
        return new ValueTask<ProxyResponse>(pending.Task);
    }

    /// <summary>Runs one raw TCP connection in a tab's <c>connect(socket, env, ctx)</c> until either side ends it.</summary>
    public async ValueTask HandleConnectionAsync(StreamConnection connection, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        var id = Interlocked.Increment(ref _nextId);
        var (address, port) = Describe(connection.RemoteEndPoint);
        App.Stats.Connection();

        // No live tab (a replacement or a relaunched browser is coming): wait for one, within the request deadline.
        var deadline = App.DeadlineFromNow();
        while (!_stopping && !cancellationToken.IsCancellationRequested)
        {
            if (Pool.PickForConnection() is { } tab
                && await new TcpSession(id, tab, connection, address, port, App.Logger, App.Name).RunAsync().ConfigureAwait(false))
            {
                return;
            }

            if (App.Now >= deadline || connection.Context.StopRequested)
            {
                EngineLog.NoTabForConnection(App.Logger, App.Name, id, address + ":" + port, App.Options.RequestTimeout.TotalSeconds);
                return;
            }

            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Hands one datagram to a tab's <c>datagram(message, info, env, ctx)</c>; the reply, or null for none.</summary>
    public ValueTask<ReadOnlyMemory<byte>?> HandleDatagramAsync(ReadOnlyMemory<byte> datagram, EndPoint remote, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        var (address, port) = Describe(remote);
        var pending = new PendingDatagram(Interlocked.Increment(ref _nextId), datagram, address, port, App.DeadlineFromNow(), App.Stats);
        Pool.Dispatch(pending);
        return new ValueTask<ReadOnlyMemory<byte>?>(pending.Task);
    }

    /// <summary>The client's address as text (IPv4-mapped IPv6 shown as IPv4) and port, as a request's ctx has them.</summary>
    private static (string Address, int Port) Describe(EndPoint? endPoint) => (Addresses.Text(endPoint), Addresses.Port(endPoint));

    /// <summary>Waits (bounded) for requests in flight, then closes the tabs and the page server.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _stopping = true;
        _browser?.Unregister(this);
        Metrics.EngineMetrics.Stopped(this);
        if (_pool is { } pool)
        {
            pool.ReleaseTabs();
            await pool.DrainAsync(drain).ConfigureAwait(false);
            await pool.DisposeAsync().ConfigureAwait(false);
        }

        _kvBinding?.Dispose();
        _fetchBinding?.Dispose();
        if (_egress is not null)
        {
            await _egress.DisposeAsync().ConfigureAwait(false);
        }

        if (_pageServer is not null)
        {
            await _pageServer.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The app's tabs and queue now (for the metrics and the status page); null before it started.</summary>
    public TabSnapshot? Snapshot()
    {
        if (_pool is not { } pool)
        {
            return null;
        }

        int serving = 0, stalled = 0;
        foreach (var tab in pool.Tabs)
        {
            if (tab is null || tab.IsDead)
            {
                continue;
            }

            if (tab.IsStalled)
            {
                stalled++;
            }
            else
            {
                serving++;
            }
        }

        return new TabSnapshot(serving, stalled, pool.Spare is { IsDead: false } ? 1 : 0, pool.Outstanding);
    }

    public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
}

/// <summary>An app version's tabs by state, and its calls waiting for or running in a tab.</summary>
public readonly record struct TabSnapshot(int Serving, int Stalled, int Spare, int Outstanding);
