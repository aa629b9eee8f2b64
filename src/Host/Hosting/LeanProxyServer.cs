using System.Net;
using System.Net.Sockets;
using LeanProxy.Engine.Apps;
using LeanProxy.Host.Cli;
using LeanProxy.Engine.Browser;
using LeanProxy.Engine.Kv;
using LeanProxy.Store;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;
using LeanProxy.Listener.Tcp;
using LeanProxy.Listener.Udp;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Hosting;

/// <summary>A listener port that could not be bound: the flag that named it, the endpoint and why.</summary>
internal sealed class ListenerBindException(string flag, IPEndPoint endPoint, SocketException inner)
    : Exception($"{flag} {EndpointParser.Format(endPoint)}: {Describe(inner)}", inner)
{
    private static string Describe(SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => "the address is already in use.",
        SocketError.AddressNotAvailable => "the address is not available on this machine.",
        SocketError.AccessDenied => "permission denied (ports below 1024 need privileges).",
        _ => ex.Message,
    };
}

/// <summary>
/// The composition root shared by <c>serve</c> and <c>bench</c>: binds every listener first (so a port in use fails at
/// once, before Chromium starts), then starts the browser host and the app host, then starts accepting. Stopping
/// goes the other way: stop accepting and drain, stop the app host, close the browser.
/// </summary>
internal sealed class LeanProxyServer : IServer, IAsyncDisposable
{
    private readonly ServerPlan _plan;
    private readonly ILoggerFactory _loggerFactory;
    private readonly List<(SocketListener Listener, string Scheme)> _listeners = [];
    private readonly List<UdpListener> _datagramListeners = [];
    private readonly AppRouter _router = new();
    private BrowserHost? _browser;
    private AppHost? _app;
    private SqlAppStore? _kvStore;
    private KvStoreHandle? _kv;
    private SocketListener? _admin;
    private IProxyRequestHandler? _adminHandler;
    private readonly CancellationTokenSource _stopping = new();
    private int _stopped;

    private LeanProxyServer(ServerPlan plan, ILoggerFactory loggerFactory)
    {
        _plan = plan;
        _loggerFactory = loggerFactory;
    }

    public BrowserHost Browser => _browser ?? throw new InvalidOperationException("The server is not started.");

    public AppHost App => _app ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>Every bound listener as scheme://host:port, in the order of the plan.</summary>
    public IEnumerable<string> Endpoints =>
        _listeners.Select(l => $"{l.Scheme}://{EndpointParser.Format(l.Listener.EndPoint)}")
            .Concat(_datagramListeners.Select(l => $"udp://{EndpointParser.Format(l.EndPoint)}"))
            .Concat(_admin is null ? [] : [$"admin http://{EndpointParser.Format(_admin.EndPoint)}"]);

    public IPEndPoint FirstEndPoint => _listeners.Count > 0 ? _listeners[0].Listener.EndPoint : _datagramListeners[0].EndPoint;

    /// <summary>Completes (with the reason) when the node can no longer serve: the browser is gone for good.</summary>
    public Task<string> Failed => Browser.Failed;

    /// <summary>Reads the app and binds every listener; throws <see cref="ListenerBindException"/> naming the flag of a port that cannot be bound.</summary>
    public static async Task<LeanProxyServer> BindAsync(ServerPlan plan, ILoggerFactory loggerFactory)
    {
        var server = new LeanProxyServer(plan, loggerFactory);
        try
        {
            server.BindListeners();
        }
        catch
        {
            await server.DisposeListenersAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    private void BindListeners()
    {
        var logger = _loggerFactory.CreateLogger("LeanProxy.Listener");
        var http = new HttpDriver(_router, _plan.Http, _loggerFactory.CreateLogger("LeanProxy.Http"));
        var tcp = new TcpDriver(new LateBound(this), _loggerFactory.CreateLogger("LeanProxy.Tcp"));
        var udp = new UdpDriver(new LateBound(this));
        foreach (var endPoint in _plan.HttpEndpoints)
        {
            _listeners.Add((Bind("--http", endPoint, () => SocketListener.Bind(endPoint, http, _plan.Http.MaxConnections, logger)), "http"));
        }

        foreach (var endPoint in _plan.TcpEndpoints)
        {
            _listeners.Add((Bind("--tcp", endPoint, () => SocketListener.Bind(endPoint, tcp, _plan.Http.MaxConnections, logger)), "tcp"));
        }

        foreach (var endPoint in _plan.UdpEndpoints)
        {
            _datagramListeners.Add(Bind("--udp", endPoint, () => UdpListener.Bind(endPoint, udp, ServerPlan.UdpMaxInFlight, logger)));
        }

        if (_plan.AdminEndpoint is { } admin)
        {
            var adminHttp = new HttpDriver(new LateHandler(() => _adminHandler, "starting"), new HttpListenerOptions { MaxConnections = 64 },
                _loggerFactory.CreateLogger("LeanProxy.Admin"));
            _admin = Bind("--admin", admin, () => SocketListener.Bind(admin, adminHttp, 64, logger));
        }
    }

    /// <summary>Binds a listener; a socket error becomes a <see cref="ListenerBindException"/> naming the flag (serve and node).</summary>
    internal static T Bind<T>(string flag, IPEndPoint endPoint, Func<T> bind)
    {
        try
        {
            return bind();
        }
        catch (SocketException ex)
        {
            throw new ListenerBindException(flag, endPoint, ex);
        }
    }

    /// <summary>Starts the browser and the app (loaded in every tab), then accepts on every listener.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Chromium starts first (its launch is most of the start-up); the app is read and its imports resolved meanwhile.
        // Called on this thread, not queued to the pool: up to the launch it does no waiting, and the pool has no thread yet.
        var browser = BrowserHost.StartAsync(_plan.Browser, _loggerFactory, cancellationToken);
        AppBundle bundle;
        KvStoreHandle? kv = null;
        try
        {
            bundle = AppBundle.Load(_plan.AppPath);
            _ = bundle.Imports;
            if (_plan.App.KvBindings.Count > 0)
            {
                var uri = _plan.KvStoreUri ?? "sqlite:" + Path.Combine(bundle.SourceRoot!, ".leanproxy", "state", "kv.db");
                _kvStore = (SqlAppStore)AppStores.Open(uri);
                kv = _kv = new KvStoreHandle(_kvStore, _loggerFactory.CreateLogger("LeanProxy.Kv"));
                HostLog.KvStore(_loggerFactory.CreateLogger("LeanProxy"), string.Join(", ", _plan.App.KvBindings), _kvStore.Description);
            }
        }
        catch
        {
            // The app's error is the one to report; the browser, if it started, is ours to stop (StopAsync closes it).
            await ((Task)browser).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _browser = browser.IsCompletedSuccessfully ? await browser.ConfigureAwait(false) : null;
            throw;
        }

        // The app's page server and egress proxy need no browser: they start while Chromium does.
        var app = AppHost.Create(bundle, _plan.App with { RequiredExports = _plan.RequiredExports }, _loggerFactory, kv);
        try
        {
            app.StartServing();
            _browser = await browser.ConfigureAwait(false);
            await app.StartAsync(_browser, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _app = app;
        _router.Swap(app);
        foreach (var (listener, _) in _listeners)
        {
            listener.Start();
        }

        foreach (var listener in _datagramListeners)
        {
            listener.Start();
        }

        if (_admin is not null)
        {
            var status = new ServeStatus(this);
            var auth = new Ops.AdminAuth(_plan.AdminToken is { } token ? Ops.AdminAuth.Hash(token) : null);
            var adminLogger = _loggerFactory.CreateLogger("LeanProxy.Admin");
            _adminHandler = new Ops.AdminListener(status, new Ops.OpsEndpoints(status, auth).Start(), auth,
                new Ops.AppLogCalls(status, adminLogger, _stopping.Token), adminLogger);
            _admin.Start();
        }
    }

    /// <summary>Stops accepting, finishes what is in flight (bounded), then closes the tabs and Chromium (profile deleted).</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false); // live logs end, so that draining does not wait for their readers
        await Task.WhenAll(_listeners.Select(l => l.Listener.StopAsync(drain)).Concat(_datagramListeners.Select(l => l.StopAsync(drain)))
            .Append(_admin?.StopAsync(drain) ?? Task.CompletedTask)).ConfigureAwait(false);
        if (_app is not null)
        {
            await _app.StopAsync(drain).ConfigureAwait(false);
        }

        if (_browser is not null)
        {
            await _browser.DisposeAsync().ConfigureAwait(false);
        }

        if (_kv is not null)
        {
            await _kv.DisposeAsync().ConfigureAwait(false);
        }

        if (_kvStore is not null)
        {
            await _kvStore.DisposeAsync().ConfigureAwait(false);
        }

        await DisposeListenersAsync().ConfigureAwait(false);
    }

    private async Task DisposeListenersAsync()
    {
        foreach (var (listener, _) in _listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var listener in _datagramListeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        if (_admin is not null)
        {
            await _admin.DisposeAsync().ConfigureAwait(false);
            _admin = null;
        }

        _listeners.Clear();
        _datagramListeners.Clear();
    }

    public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);

    /// <summary>The single app as the status page and readiness probe see it.</summary>
    private sealed class ServeStatus(LeanProxyServer server) : Ops.INodeStatus
    {
        public string Mode => "app";

        public string? Store => server._kvStore?.Description;

        public int? BrowserProcessId => server._browser?.Browser.ProcessId;

        public long Revision => 0;

        public IReadOnlyList<string> NotReady()
        {
            var reasons = new List<string>();
            if (server._browser is not { IsRunning: true })
            {
                reasons.Add("the browser is not running");
            }

            return reasons;
        }

        public IReadOnlyList<Ops.StatusApp> Apps() =>
            server._app is { } app ? [new Ops.StatusApp(app.Name, app.Bundle.ContentId[..12])] : [];
    }

    /// <summary>The raw listeners' handler: bound before the app host exists, forwards to it once started.</summary>
    private sealed class LateBound(LeanProxyServer server) : IProxyConnectionHandler, IProxyDatagramHandler
    {
        public ValueTask HandleConnectionAsync(StreamConnection connection, CancellationToken cancellationToken) =>
            server.App.HandleConnectionAsync(connection, cancellationToken);

        public ValueTask<ReadOnlyMemory<byte>?> HandleDatagramAsync(ReadOnlyMemory<byte> datagram, EndPoint remote, CancellationToken cancellationToken) =>
            server.App.HandleDatagramAsync(datagram, remote, cancellationToken);
    }
}
