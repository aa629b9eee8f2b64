using LeanProxy.Cdp.Launch;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Cdp;
using LeanProxy.Engine.Apps;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Browser;

/// <summary>
/// Owns the browser every app host of a node shares: launches it (or attaches to one), holds the CDP connection,
/// relaunches it after a crash and then has every registered app host re-create its tabs. Requests meanwhile wait in
/// their app's pool, each within its deadline. An attached browser cannot be relaunched: its loss ends the node.
/// </summary>
public sealed class BrowserHost : IAsyncDisposable
{
    private readonly BrowserOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<IBrowserClient> _clients = [];
    private ChromeBrowser _browser;
    private volatile bool _stopping;
    private int _disposed;

    private BrowserHost(BrowserOptions options, ChromeBrowser browser, ILoggerFactory loggerFactory)
    {
        _options = options;
        _browser = browser;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("LeanProxy.Browser");
        Metrics.EngineMetrics.Started(this);
    }

    // CDP messages of the connections to browsers that died (a relaunch starts a new connection).
    private long _sentBefore;
    private long _receivedBefore;

    /// <summary>CDP commands sent and messages received since the start, over every browser launched.</summary>
    public (long Sent, long Received) CdpMessages
    {
        get
        {
            var connection = Connection;
            return (Interlocked.Read(ref _sentBefore) + connection.CommandsSent, Interlocked.Read(ref _receivedBefore) + connection.MessagesReceived);
        }
    }

    public ChromeBrowser Browser => Volatile.Read(ref _browser);

    public CdpConnection Connection => Browser.Connection;

    /// <summary>The browser is there and connected (false while it is relaunched, or once it is gone for good).</summary>
    public bool IsRunning => !_failed.Task.IsCompleted && !Connection.IsClosed;

    /// <summary>Completes (with the reason) when the browser is gone for good.</summary>
    public Task<string> Failed => _failed.Task;

    public static async Task<BrowserHost> StartAsync(BrowserOptions options, ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        var browser = await OpenAsync(options, loggerFactory, cancellationToken).ConfigureAwait(false);
        var host = new BrowserHost(options, browser, loggerFactory);
        FireAndForget.Run(host.SuperviseAsync(), host._logger, "supervising the browser");
        return host;
    }

    internal void Register(IBrowserClient client)
    {
        lock (_clients)
        {
            _clients.Add(client);
        }
    }

    internal void Unregister(IBrowserClient client)
    {
        lock (_clients)
        {
            _clients.Remove(client);
        }
    }

    private static async Task<ChromeBrowser> OpenAsync(BrowserOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ChromeBrowser browser;
        if (options.BrowserUrl is not null)
        {
            browser = await ChromeBrowser.AttachAsync(options.BrowserUrl, loggerFactory, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var launch = new ChromeLaunchOptions { ExecutablePath = options.ChromePath, TempDirectory = options.TempDirectory };
            foreach (var argument in options.ChromeArguments)
            {
                launch.ExtraArguments.Add(argument);
            }

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

    private async Task SuperviseAsync()
    {
        try
        {
            await FollowAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Not one of the failures a relaunch handles: the server must not run on without its browser's supervision.
            _failed.TrySetResult("supervising the browser failed: " + ex.Message);
            throw;
        }
    }

    private async Task FollowAsync()
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

            EngineLog.BrowserGone(_logger, reason.ToString());
            await browser.DisposeAsync().ConfigureAwait(false);
            if (!await RelaunchAsync().ConfigureAwait(false))
            {
                _failed.TrySetResult("the browser died and could not be relaunched");
                return;
            }
        }
    }

    private async Task<bool> RelaunchAsync()
    {
        for (var attempt = 1; attempt <= _options.RelaunchAttempts && !_stopping; attempt++)
        {
            ChromeBrowser? next = null;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                next = await OpenAsync(_options, _loggerFactory, timeout.Token).ConfigureAwait(false);
                var previous = Connection;
                Interlocked.Add(ref _sentBefore, previous.CommandsSent);
                Interlocked.Add(ref _receivedBefore, previous.MessagesReceived);
                Volatile.Write(ref _browser, next);
                IBrowserClient[] clients;
                lock (_clients)
                {
                    clients = [.. _clients];
                }

                await Task.WhenAll(clients.Select(c => c.OnBrowserRelaunchedAsync(timeout.Token))).ConfigureAwait(false);
                EngineLog.BrowserRelaunched(_logger, attempt, clients.Length);
                Metrics.EngineMetrics.BrowserRelaunches.Inc();
                Metrics.NodeEvents.Add("relaunch", string.Empty, $"the browser was launched again (attempt {attempt})");
                return true;
            }
            catch (Exception ex) when (ex
                is ChromeLaunchException or CdpException or CdpClosedException or AppLoadException or OperationCanceledException or IOException)
            {
                EngineLog.RelaunchFailed(_logger, attempt, ex);
                if (next is not null)
                {
                    await next.DisposeAsync().ConfigureAwait(false);
                }

                await Task.Delay(TimeSpan.FromSeconds(attempt)).ConfigureAwait(false);
            }
        }

        return false;
    }

    /// <summary>Closes the browser (its profile is deleted); app hosts are stopped before.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        Metrics.EngineMetrics.Stopped(this);
        await Browser.DisposeAsync().ConfigureAwait(false);
    }
}
