using System.Text.Json;
using LeanProxy.Cdp;
using LeanProxy.Engine.Browser;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Pages;

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
            FireAndForget.Run(taken.DisposeAsync().AsTask(), _logger, "disposing a prepared context");
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
