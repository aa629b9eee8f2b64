using System.Diagnostics;
using System.Net;
using LeanProxy.Engine.Browser;
using LeanProxy.Host.Admin;
using LeanProxy.Host.Cli;
using LeanProxy.Host.Node;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;
using LeanProxy.Store;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Hosting;

/// <summary>The store could not be reached when the node started (exit 1).</summary>
internal sealed class StoreStartException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The composition of a node (<c>serve --store</c>): binds the public and admin listeners first, reaches the store
/// (retrying for a stated window), starts the browser, loads the app list, then accepts. Requests are routed by Host.
/// </summary>
internal sealed class NodeServer : IServer, IAsyncDisposable
{
    private readonly NodePlan _plan;
    private readonly ILoggerFactory _loggerFactory;
    private readonly List<SocketListener> _public = [];
    private SocketListener? _admin;
    private IAppStore? _store;
    private BrowserHost? _browser;
    private NodeApps? _apps;
    private LogRelay? _relay;
    private readonly CancellationTokenSource _stopping = new();
    private int _stopped;

    private NodeServer(NodePlan plan, ILoggerFactory loggerFactory)
    {
        _plan = plan;
        _loggerFactory = loggerFactory;
    }

    public IEnumerable<string> Endpoints =>
        _public.Select(l => $"http://{EndpointParser.Format(l.EndPoint)}")
            .Concat(_admin is null ? [] : [$"admin http://{EndpointParser.Format(_admin.EndPoint)}"]);

    /// <summary>The node's apps once started (for <c>leanproxy bench --apps</c>).</summary>
    internal NodeApps? Apps => _apps;

    /// <summary>The browser once started.</summary>
    internal BrowserHost? Browser => _browser;

    /// <summary>The first public listener's address.</summary>
    internal IPEndPoint FirstEndPoint => _public[0].EndPoint;

    public Task<string> Failed => _browser?.Failed ?? new TaskCompletionSource<string>().Task;

    /// <summary>Opens the store (not yet connected) and binds every listener; throws
    /// <see cref="ListenerBindException"/> or <see cref="ArgumentException"/>.</summary>
    public static async Task<NodeServer> BindAsync(NodePlan plan, ILoggerFactory loggerFactory)
    {
        var server = new NodeServer(plan, loggerFactory);
        try
        {
            server._store = AppStores.Open(plan.StoreUri);
            var logger = loggerFactory.CreateLogger("LeanProxy.Listener");
            var router = new LateHandler(() => server._apps?.Router, "the node is starting");
            var http = new HttpDriver(router, plan.Http, loggerFactory.CreateLogger("LeanProxy.Http"));
            foreach (var endPoint in plan.HttpEndpoints)
            {
                server._public.Add(LeanProxyServer.Bind("--http", endPoint, () => SocketListener.Bind(endPoint, http, plan.Http.MaxConnections, logger)));
            }

            if (plan.AdminEndpoint is { } admin)
            {
                var adminHttp = new HttpDriver(new LateHandler(() => server.AdminHandler, "the node is starting"),
                    new HttpListenerOptions { MaxBodyBytes = plan.Node.MaxBundleBytes, MaxConnections = 64 }, loggerFactory.CreateLogger("LeanProxy.Admin"));
                server._admin = LeanProxyServer.Bind("--admin", admin, () => SocketListener.Bind(admin, adminHttp, 64, logger));
            }
        }
        catch
        {
            await server.DisposeListenersAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    private Ops.AdminListener? AdminHandler { get; set; }

    /// <summary>Reaches the store (retrying within the plan's window), starts the browser and the node's apps, then accepts.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var store = _store!;
        var logger = _loggerFactory.CreateLogger("LeanProxy.Node");
        _browser = await BrowserHost.StartAsync(_plan.Browser, _loggerFactory, cancellationToken).ConfigureAwait(false);
        var apps = new NodeApps(store, _browser, _plan.Node, _loggerFactory);
        var window = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await apps.StartAsync(cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && window.Elapsed < _plan.Node.StartRetryWindow)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new StoreStartException($"the store {store.Description} is unreachable ({ex.GetBaseException().Message}); gave up after " +
                    $"{_plan.Node.StartRetryWindow.TotalSeconds:0} s.", ex);
            }
        }

        _apps = apps;
        if (store is ILogRelayStore relay)
        {
            _relay = new LogRelay(relay, logger);
            _relay.Start();
        }
        var publicPort = _public.Count > 0 ? _public[0].EndPoint.Port : 80;
        var domain = _plan.Node.Domain;
        if (_admin is not null)
        {
            if (_plan.AdminToken is null)
            {
                NodeLog.NoToken(logger, EndpointParser.Format(_admin.EndPoint));
            }

            var auth = new Ops.AdminAuth(_plan.AdminToken is { } token ? Ops.AdminAuth.Hash(token) : null);
            var status = new NodeStatus(apps, _browser);
            var api = new AdminApi(apps, _browser, _plan.Node,
                name => publicPort == 80 ? $"http://{name}.{domain}/" : $"http://{name}.{domain}:{publicPort}/", _loggerFactory, _stopping.Token);
            AdminHandler = new Ops.AdminListener(status, new Ops.OpsEndpoints(status, auth).Start(), auth, api, _loggerFactory.CreateLogger("LeanProxy.Admin"));
        }

        foreach (var listener in _public)
        {
            listener.Start();
        }

        _admin?.Start();
    }

    public async Task StopAsync(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false); // live logs end, so that draining does not wait for their readers
        await Task.WhenAll(_public.Append(_admin).OfType<SocketListener>().Select(l => l.StopAsync(drain))).ConfigureAwait(false);
        if (_relay is not null)
        {
            await _relay.DisposeAsync().ConfigureAwait(false);
        }

        if (_apps is not null)
        {
            await _apps.StopAsync(drain).ConfigureAwait(false);
        }

        if (_browser is not null)
        {
            await _browser.DisposeAsync().ConfigureAwait(false);
        }

        if (_store is not null)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }

        await DisposeListenersAsync().ConfigureAwait(false);
    }

    private async Task DisposeListenersAsync()
    {
        foreach (var listener in _public.Append(_admin).OfType<SocketListener>())
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        _public.Clear();
        _admin = null;
    }

    public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
}
