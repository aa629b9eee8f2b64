using LeanProxy.Engine.Metrics;
using LeanProxy.Host.Ops;
using LeanProxy.Store;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Node;

/// <summary>
/// A node's side of <c>leanproxy tail</c>: every second it asks the store which apps are tailed (by a reader on any
/// node); for those it reads the app's live log here and appends it to the store every 250 ms. Nothing is read or
/// written for apps nobody tails. Bounded like every reader of a live log: a store that is slow or away makes lines
/// drop (counted in a "dropped" line), never pile up.
/// </summary>
internal sealed class LogRelay(ILogRelayStore store, ILogger logger) : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private readonly Dictionary<string, TailSubscription> _tails = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public void Start() => _loop = RunAsync();

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Tick);
        var ticks = 0;
        var failing = false;
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    if (ticks++ % 4 == 0)
                    {
                        await RefreshAsync().ConfigureAwait(false);
                    }

                    await FlushAsync().ConfigureAwait(false);
                    failing = false;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    if (!failing)
                    {
                        failing = true;
                        NodeLog.RelayFailed(logger, ex.GetBaseException().Message);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RefreshAsync()
    {
        var tailed = (await store.TailedAppsAsync(DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            _stop.Token).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
        foreach (var app in _tails.Keys.Where(a => !tailed.Contains(a)).ToList())
        {
            _tails[app].Dispose();
            _tails.Remove(app);
        }

        foreach (var app in tailed.Where(a => !_tails.ContainsKey(a)))
        {
            _tails[app] = AppStats.For(app).Tail();
        }
    }

    private async Task FlushAsync()
    {
        if (_tails.Count == 0)
        {
            return;
        }

        var lines = new List<(string App, string Node, long At, string Line)>();
        foreach (var (app, tail) in _tails)
        {
            while (lines.Count < 5000 && tail.Lines.TryRead(out var line))
            {
                lines.Add((app, line.Node, line.At.ToUnixTimeSeconds(), TailFormat.Json(line)));
            }

            if (tail.TakeDropped() is > 0 and var dropped)
            {
                var notice = TailFormat.Dropped(app, dropped);
                lines.Add((app, notice.Node, notice.At.ToUnixTimeSeconds(), TailFormat.Json(notice)));
            }
        }

        await store.AppendLogsAsync(lines, _stop.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        foreach (var tail in _tails.Values)
        {
            tail.Dispose();
        }
    }
}
