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
/// 504 past its deadline, or 502 when its tab crashed and it could not be retried.
/// </summary>
public sealed class ProxyEngine : IProxyRequestHandler, IAsyncDisposable
{
    private readonly ChromeBrowser _browser;
    private readonly PageServer _pageServer;
    private readonly TabPool _pool;
    private readonly ILogger _logger;
    private int _nextRequestId;
    private int _disposed;

    private ProxyEngine(EngineOptions options, AppSource app, ChromeBrowser browser, PageServer pageServer, TabPool pool, ILogger logger)
    {
        Options = options;
        App = app;
        _browser = browser;
        _pageServer = pageServer;
        _pool = pool;
        _logger = logger;
    }

    public EngineOptions Options { get; }

    public AppSource App { get; }

    public ChromeBrowser Browser => _browser;

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

            await browser.Connection.SendAsync(
                CdpMethods.TargetSetDiscoverTargets,
                new SetDiscoverTargetsParams(true),
                CdpJsonContext.Default.SetDiscoverTargetsParams,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            var pool = await TabPool.CreateAsync(browser.Connection, pageServer, app, options, logger, cancellationToken).ConfigureAwait(false);
            return new ProxyEngine(options, app, browser, pageServer, pool, logger);
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

    /// <summary>Waits (bounded) for requests in flight, then closes the tabs, the browser and the page server.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _pool.DrainAsync(drain).ConfigureAwait(false);
        await _pool.DisposeAsync().ConfigureAwait(false);
        await _browser.DisposeAsync().ConfigureAwait(false);
        await _pageServer.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
}
