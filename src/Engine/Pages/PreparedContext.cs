using System.Text.Json;
using LeanProxy.Cdp;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Engine.Browser;
using LeanProxy.Engine.Egress;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Pages;

/// <summary>
/// A browser context prepared ahead for the next app a node starts (a cold start): its page server (no app yet), its
/// egress proxy (refusing everything it would refuse for any app), the context with its network through that proxy,
/// and one tab on which the page runtime is loaded. <see cref="Apps.AppHost"/> turns it into an app's: the server
/// serves the app's bundle, the proxy takes the app's policy and name, and the tab only imports the app's modules.
/// </summary>
public sealed class PreparedContext : IAsyncDisposable
{
    private CdpSession? _tab;
    private int _adopted;

    private PreparedContext(PageServer pageServer, EgressProxy egress, CdpConnection connection, string contextId)
    {
        PageServer = pageServer;
        Egress = egress;
        Connection = connection;
        ContextId = contextId;
    }

    internal PageServer PageServer { get; }

    internal EgressProxy Egress { get; }

    internal CdpConnection Connection { get; }

    internal string ContextId { get; }

    /// <summary>Its browser is still the one running and its tab is alive.</summary>
    internal bool IsUsable(BrowserHost browser) =>
        Volatile.Read(ref _adopted) == 0 && browser.Connection == Connection && !Connection.IsClosed && Volatile.Read(ref _tab) is { IsEnded: false };

    /// <summary>Prepares a context in <paramref name="browser"/>; returns once the runtime is loaded in its tab.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000",
        Justification = "The prepared context owns the page server and egress proxy; the catch disposes them when it was not made.")]
    public static async Task<PreparedContext> PrepareAsync(BrowserHost browser, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var pageServer = new PageServer(loggerFactory.CreateLogger("LeanProxy.PageServer"));
        pageServer.Start();
        var egress = EgressProxy.Start(new EgressPolicy([]), "(prepared)", loggerFactory.CreateLogger("LeanProxy.Egress"));
        var connection = browser.Connection;
        PreparedContext? prepared = null;
        try
        {
            prepared = new PreparedContext(pageServer, egress, connection,
                await CdpPageFactory.CreateContextAsync(connection, pageServer, egress, cancellationToken).ConfigureAwait(false));
            var tab = await CdpPageFactory.OpenTargetAsync(connection, pageServer.BootstrapUrl, prepared.ContextId, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref prepared._tab, tab);
            await WaitForRuntimeAsync(tab, cancellationToken).ConfigureAwait(false);
            return prepared;
        }
        catch
        {
            if (prepared is not null)
            {
                await prepared.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await pageServer.DisposeAsync().ConfigureAwait(false);
                await egress.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>The app host takes it over (once): false when it was taken or disposed before.</summary>
    internal bool TryAdopt() => Interlocked.Exchange(ref _adopted, 1) == 0;

    /// <summary>The prepared tab, for the app's first tab (once).</summary>
    internal CdpSession? TakeTab() => Interlocked.Exchange(ref _tab, null);

    private static async Task WaitForRuntimeAsync(CdpSession tab, CancellationToken cancellationToken)
    {
        while (true)
        {
            var ready = await tab.SendAsync(
                CdpMethods.RuntimeEvaluate,
                0,
                static (writer, _) =>
                {
                    writer.WriteString("expression"u8, "typeof __lpAdopt === 'function'"u8);
                    writer.WriteBoolean("returnByValue"u8, true);
                },
                static json => json.IndexOf("\"value\":true"u8) >= 0,
                cancellationToken).ConfigureAwait(false);
            if (ready)
            {
                return;
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Closes what was prepared, unless an app host took it over.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!TryAdopt())
        {
            return;
        }

        if (!Connection.IsClosed)
        {
            await CdpPageFactory.DisposeContextAsync(Connection, ContextId).ConfigureAwait(false);
        }

        await PageServer.DisposeAsync().ConfigureAwait(false);
        await Egress.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// The node's prepared context for its next cold start (one at a time): taken by the app host that starts, then the
/// next one is prepared in the background once the start had the machine to itself. One prepared at a time costs one
/// renderer with the runtime loaded (see docs/PERFORMANCE.md).
/// </summary>
public sealed class SpareContexts(BrowserHost browser, ILoggerFactory loggerFactory) : IAsyncDisposable
{
    private static readonly TimeSpan After = TimeSpan.FromMilliseconds(500);
    private readonly Lock _lock = new();
    private readonly ILogger _logger = loggerFactory.CreateLogger("LeanProxy.Engine");
    private readonly CancellationTokenSource _stop = new();
    private Task<PreparedContext?>? _next;
    private bool _stopped;

    /// <summary>Starts preparing one unless one is ready or on its way.</summary>
    public void Prepare(TimeSpan delay = default)
    {
        lock (_lock)
        {
            if (_stopped || _next is { IsCompleted: false } or { IsCompletedSuccessfully: true, Result: not null })
            {
                return;
            }

            _next = PrepareAsync(delay);
        }
    }

    private async Task<PreparedContext?> PrepareAsync(TimeSpan delay)
    {
        try
        {
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var prepared = await PreparedContext.PrepareAsync(browser, loggerFactory, timeout.Token).ConfigureAwait(false);
            EngineLog.Prepared(_logger, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return prepared;
        }
        catch (Exception ex) when (ex is CdpException or CdpClosedException or OperationCanceledException or TimeoutException or JsonException)
        {
            if (!_stop.IsCancellationRequested)
            {
                EngineLog.PrepareFailed(_logger, ex.Message);
            }

            return null;
        }
    }

    /// <summary>The prepared context when one is ready and usable (the next is prepared meanwhile); null: start the usual way.</summary>
    public PreparedContext? TryTake()
    {
        var taken = TakeReady();
        if (taken is not null && !taken.IsUsable(browser))
        {
            _ = taken.DisposeAsync().AsTask();
            taken = null;
        }

        Prepare(After);
        return taken;
    }

    private PreparedContext? TakeReady()
    {
        lock (_lock)
        {
            if (_next is not { IsCompletedSuccessfully: true, Result: { } ready })
            {
                return null;
            }

            _next = null;
            return ready;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task<PreparedContext?>? next;
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            next = _next;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (next is not null)
        {
            await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (next.IsCompletedSuccessfully && await next.ConfigureAwait(false) is { } prepared)
            {
                await prepared.DisposeAsync().ConfigureAwait(false);
            }
        }

    }
}
