using System.Net;
using LeanProxy.Cdp;
using LeanProxy.Cdp.Launch;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Engine;

/// <summary>
/// The engine: owns the browser (launched or attached), the app's page server and its tab pool, and implements
/// the listener seam. Every request gets exactly one response: the handler's, 503 when the queue is full,
/// 504 past its deadline, or 502 when its tab crashed and it could not be retried. A raw TCP connection lives on one
/// tab (the one with the fewest connections when it opens) and ends with it; a datagram is answered like a request,
/// but every failure means no reply.
/// </summary>
public sealed class ProxyEngine : IProxyRequestHandler, IProxyConnectionHandler, IProxyDatagramHandler, IAsyncDisposable
{
    private readonly PageServer _pageServer;
    private readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILoggerFactory _loggerFactory;
    private ChromeBrowser _browser;
    private volatile bool _stopping;
    private readonly TabPool _pool;
    private readonly ILogger _logger;
    private int _nextRequestId;
    private int _disposed;

    private ProxyEngine(EngineOptions options, AppSource app, ChromeBrowser browser, PageServer pageServer, TabPool pool, ILoggerFactory loggerFactory, ILogger logger)
    {
        _loggerFactory = loggerFactory;
        Options = options;
        App = app;
        _browser = browser;
        _pageServer = pageServer;
        _pool = pool;
        _logger = logger;
    }

    public EngineOptions Options { get; }

    public AppSource App { get; }

    public ChromeBrowser Browser => Volatile.Read(ref _browser);

    /// <summary>Completes (with the reason) when the engine can no longer serve: the browser is gone for good.</summary>
    public Task<string> Failed => _failed.Task;

    internal TabPool Pool => _pool;

    /// <summary>Starts the browser, the page server and every tab; returns once the app is loaded in all of them.</summary>
    public static async Task<ProxyEngine> StartAsync(EngineOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        var logger = loggerFactory.CreateLogger("LeanProxy.Engine");
        var app = AppSource.Resolve(options.AppPath);
        var pageServer = new PageServer(app, options.Variables, loggerFactory.CreateLogger("LeanProxy.PageServer"));
        pageServer.Start();
        ChromeBrowser? browser = null;
        try
        {
            browser = await OpenBrowserAsync(options, loggerFactory, cancellationToken).ConfigureAwait(false);
            var pool = await TabPool.CreateAsync(browser.Connection, pageServer, app, options, logger, cancellationToken).ConfigureAwait(false);
            var engine = new ProxyEngine(options, app, browser, pageServer, pool, loggerFactory, logger);
            _ = engine.SuperviseAsync();
            return engine;
        }
        catch
        {
            if (browser is not null)
            {
                await browser.DisposeAsync().ConfigureAwait(false);
            }

            await pageServer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<ChromeBrowser> OpenBrowserAsync(EngineOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ChromeBrowser browser;
        if (options.BrowserUrl is not null)
        {
            browser = await ChromeBrowser.AttachAsync(options.BrowserUrl, loggerFactory, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var launch = new ChromeLaunchOptions { ExecutablePath = options.ChromePath, TempDirectory = options.TempDirectory };
            launch.ExtraArguments.AddRange(options.ChromeArguments);
            browser = await ChromeLauncher.LaunchAsync(launch, loggerFactory, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await browser.Connection.SendAsync(
                CdpMethods.TargetSetDiscoverTargets,
                new SetDiscoverTargetsParams(true),
                CdpJsonContext.Default.SetDiscoverTargetsParams,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await browser.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return browser;
    }

    /// <summary>
    /// Relaunches a browser we own when it dies; requests meanwhile wait in the pool (each within its deadline).
    /// An attached browser cannot be relaunched: its loss ends the engine.
    /// </summary>
    private async Task SuperviseAsync()
    {
        while (true)
        {
            var browser = Browser;
            var reason = await browser.Connection.Closed.ConfigureAwait(false);
            if (_stopping)
            {
                return;
            }

            if (!browser.IsOwned)
            {
                _failed.TrySetResult($"the attached browser went away ({reason})");
                return;
            }

            EngineLog.BrowserGone(_logger, App.Name, reason.ToString());
            await browser.DisposeAsync().ConfigureAwait(false);
            ChromeBrowser? next = null;
            for (var attempt = 1; attempt <= 5 && next is null && !_stopping; attempt++)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                    next = await OpenBrowserAsync(Options, _loggerFactory, timeout.Token).ConfigureAwait(false);
                    await _pool.RebindAsync(next.Connection, timeout.Token).ConfigureAwait(false);
                    Volatile.Write(ref _browser, next);
                    EngineLog.BrowserRelaunched(_logger, App.Name, attempt);
                }
                catch (Exception ex) when (ex is ChromeLaunchException or CdpException or CdpClosedException or AppLoadException or OperationCanceledException or IOException)
                {
                    EngineLog.RelaunchFailed(_logger, App.Name, attempt, ex);
                    if (next is not null)
                    {
                        await next.DisposeAsync().ConfigureAwait(false);
                        next = null;
                    }

                    await Task.Delay(TimeSpan.FromSeconds(attempt)).ConfigureAwait(false);
                }
            }

            if (next is null)
            {
                _failed.TrySetResult("the browser died and could not be relaunched");
                return;
            }
        }
    }

    public ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken)
    {
        if (_pool.Outstanding >= Options.QueueLimit)
        {
            EngineLog.QueueFull(_logger, App.Name, Options.QueueLimit);
            var busy = ProxyResponse.Text(503, "Service Unavailable: the request queue is full");
            busy.Headers.Add(new("Retry-After", "1"));
            return ValueTask.FromResult(busy);
        }

        var id = Interlocked.Increment(ref _nextRequestId);
        var pending = new PendingRequest(id, request, Environment.TickCount64 + (long)Options.RequestTimeout.TotalMilliseconds);
        _pool.Dispatch(pending);
        return new ValueTask<ProxyResponse>(pending.Task);
    }

    /// <summary>Runs one raw TCP connection in a tab's <c>connect(socket, env, ctx)</c> until either side ends it.</summary>
    public async ValueTask HandleConnectionAsync(StreamConnection connection, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextRequestId);
        var (address, port) = Describe(connection.RemoteEndPoint);

        // No live tab (a replacement or a relaunched browser is coming): wait for one, within the request deadline.
        var deadline = Environment.TickCount64 + (long)Options.RequestTimeout.TotalMilliseconds;
        while (!_stopping && !cancellationToken.IsCancellationRequested)
        {
            if (_pool.PickForConnection() is { } tab
                && await new TcpSession(id, tab, connection, address, port, _logger, App.Name).RunAsync().ConfigureAwait(false))
            {
                return;
            }

            if (Environment.TickCount64 >= deadline || connection.Context.StopRequested)
            {
                EngineLog.NoTabForConnection(_logger, App.Name, id, address + ":" + port, Options.RequestTimeout.TotalSeconds);
                return;
            }

            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Hands one datagram to a tab's <c>datagram(message, info, env, ctx)</c>; the reply, or null for none.</summary>
    public ValueTask<ReadOnlyMemory<byte>?> HandleDatagramAsync(ReadOnlyMemory<byte> datagram, EndPoint remote, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextRequestId);
        var (address, port) = Describe(remote);
        var pending = new PendingDatagram(id, datagram, address, port, Environment.TickCount64 + (long)Options.RequestTimeout.TotalMilliseconds);
        _pool.Dispatch(pending);
        return new ValueTask<ReadOnlyMemory<byte>?>(pending.Task);
    }

    /// <summary>The client's address as text (IPv4-mapped IPv6 shown as IPv4) and port, as a request's ctx has them.</summary>
    private static (string Address, int Port) Describe(EndPoint? endPoint) => endPoint is IPEndPoint ip
        ? ((ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address).ToString(), ip.Port)
        : (string.Empty, 0);

    /// <summary>Waits (bounded) for requests in flight, then closes the tabs, the browser and the page server.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        await _pool.DrainAsync(drain).ConfigureAwait(false);
        await _pool.DisposeAsync().ConfigureAwait(false);
        await Browser.DisposeAsync().ConfigureAwait(false);
        await _pageServer.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
}
