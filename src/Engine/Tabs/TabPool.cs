using System.Collections.Concurrent;
using LeanProxy.Cdp;
using LeanProxy.Engine.Apps;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Tabs;

/// <summary>
/// The lifecycle of an app version's tabs: opens them, keeps a warm spare so that a crashed tab is replaced at once,
/// replaces tabs that end, re-creates all of them after a browser relaunch, holds calls while no tab is live (a
/// replacement or a relaunched browser is coming) instead of failing them, and runs the heartbeat that enforces
/// deadlines and moves queued work off stalled tabs. Which tab takes a call is <see cref="TabPicker"/>'s.
/// Between <see cref="AppOptions.Tabs"/> and <see cref="AppOptions.MaxTabs"/> it grows — one tab at a time, while even
/// the least busy tab has <see cref="GrowAt"/> calls — and shrinks again, closing a tab past the first ones once it had
/// nothing to do for <see cref="AppOptions.ExtraTabIdle"/> (the growth and the shrinking are in TabPool.Growth.cs).
/// The heartbeat sleeps while there is nothing to watch (no call outstanding, no extra tab, no console lines to
/// report), so that an idle app wakes nobody; work reaching a tab wakes it (<see cref="Watch"/>).
/// </summary>
internal sealed partial class TabPool : ITabOwner, IAsyncDisposable
{
    /// <summary>How often deadlines and stalls are checked.</summary>
    internal static readonly TimeSpan HeartbeatPeriod = TimeSpan.FromMilliseconds(100);

    private readonly Tab?[] _tabs;
    private readonly ConcurrentQueue<PendingCall> _waiting = new();
    private readonly SleepingHeartbeat _heartbeat;
    private readonly Lock _spareLock = new();
    private Tab? _spare;
    private Task? _spareCreation;
    private int _nextTabIndex;
    private volatile bool _stopping;

    private TabPool(AppScope app, bool heartbeat)
    {
        App = app;
        _tabs = new Tab?[Math.Max(app.Options.Tabs, app.Options.MaxTabs)];
        _idleSince = new long[_tabs.Length];
        _heartbeat = new SleepingHeartbeat(Tick, HeartbeatPeriod, armed: true, withTimer: heartbeat);
        if (heartbeat)
        {
            app.Console.FirstDropped = Watch;
        }
    }

    public AppScope App { get; }

    public ReadOnlySpan<Tab?> Tabs => _tabs;

    /// <summary>The warm spare, when one is ready.</summary>
    public Tab? Spare => Volatile.Read(ref _spare);

    /// <summary>The spare being opened, if one is.</summary>
    internal Task? SpareCreation => _spareCreation;

    public bool IsStopping => _stopping;

    /// <summary>Calls queued in tabs, in pages, or waiting for a tab.</summary>
    public int Outstanding
    {
        get
        {
            var total = _waiting.Count;
            foreach (var tab in _tabs)
            {
                total += tab?.Outstanding ?? 0;
            }

            return total;
        }
    }

    /// <summary>Opens every tab; returns once the app is loaded in all of them. <paramref name="heartbeat"/> false: the
    /// caller calls <see cref="Tick"/>.</summary>
    public static async Task<TabPool> CreateAsync(AppScope app, CancellationToken cancellationToken, bool heartbeat = true)
    {
        var pool = new TabPool(app, heartbeat);
        try
        {
            await app.Pages.ResetContextAsync(cancellationToken).ConfigureAwait(false);
            await pool.FillAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await pool.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return pool;
    }

    /// <summary>
    /// Opens the first tab and returns once it has loaded the app: it serves while the others load, each taking its slot
    /// when it is ready (one that fails is logged and opened again). The others open after the first, not with it:
    /// tabs loading at once share the cores, so that on a small machine the first would serve ~100 ms later. If the
    /// first fails, the app does not load and the failure is thrown. The spare starts a second later.
    /// </summary>
    private async Task FillAsync(CancellationToken cancellationToken)
    {
        _tabs[0] = await OpenTabAsync(cancellationToken).ConfigureAwait(false);
        FlushWaiting();
        for (var slot = 1; slot < App.Options.Tabs; slot++)
        {
            FireAndForget.Run(TakeSlotAsync(slot, OpenTabAsync(cancellationToken)), App.Logger, "opening a tab");
        }

        // The spare is not needed to serve: start it once the first requests had the machine to themselves.
        if (App.Options.WarmSpare)
        {
            FireAndForget.Run(Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None).ContinueWith(_ => EnsureSpare(), TaskScheduler.Default), App.Logger,
                "making a spare tab");
        }
    }

    /// <summary>A tab that was still loading when the pool started serving takes its slot.</summary>
    private async Task TakeSlotAsync(int slot, Task<Tab> opening)
    {
        try
        {
            var tab = await opening.ConfigureAwait(false);
            if (_stopping)
            {
                await tab.CloseAsync().ConfigureAwait(false);
                return;
            }

            _tabs[slot] = tab;
            FlushWaiting();
        }
        catch (Exception ex) when (ex is CdpException or CdpClosedException or AppLoadException or OperationCanceledException or TimeoutException)
        {
            EngineLog.LateTabFailed(App.Logger, App.Name, ex);
            if (!_stopping && App.Pages.IsAvailable)
            {
                await ReplaceAsync(slot).ConfigureAwait(false);
            }
        }
    }

    private Task<Tab> OpenTabAsync(CancellationToken cancellationToken) =>
        Tab.OpenAsync(App, Interlocked.Increment(ref _nextTabIndex) - 1, this, cancellationToken);

    /// <summary>After the browser was relaunched: a new context and new tabs; calls held meanwhile go to them.</summary>
    public async Task RebindAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _spare, null);
        DropExtraTabs();
        await App.Pages.ResetContextAsync(cancellationToken).ConfigureAwait(false);
        await FillAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a call to the best tab, or holds it until a tab is live.</summary>
    public void Dispatch(PendingCall call)
    {
        if (TabPicker.ForCall(_tabs) is { } tab)
        {
            tab.Enqueue(call);
            if (tab.Outstanding >= GrowAt && _tabs.Length > App.Options.Tabs)
            {
                Grow();
            }
        }
        else
        {
            _waiting.Enqueue(call);
            Watch();
        }
    }

    /// <summary>The live tab a new connection should live on; null when none is live.</summary>
    public Tab? PickForConnection() => TabPicker.ForConnection(_tabs);

    void ITabOwner.Redispatch(PendingCall call) => Dispatch(call);

    void ITabOwner.OnTabProgress(Tab tab)
    {
        if (!_waiting.IsEmpty)
        {
            FlushWaiting();
        }
    }

    void ITabOwner.OnTabEnded(Tab tab, string reason, List<PendingCall> orphans)
    {
        if (Spare == tab)
        {
            Volatile.Write(ref _spare, null);
            EnsureSpare();
            return;
        }

        // Promote the spare first, so that retried calls find a live tab. A tab past the first ones is not replaced:
        // the pool grows again if its queue does.
        var slot = Array.IndexOf(_tabs, tab);
        if (slot >= App.Options.Tabs)
        {
            RemoveExtra(slot, tab);
        }
        else if (slot >= 0 && !_stopping)
        {
            var spare = Interlocked.Exchange(ref _spare, null);
            if (spare is not null && !spare.IsDead)
            {
                _tabs[slot] = spare;
                EnsureSpare();
            }
            else if (App.Pages.IsAvailable)
            {
                FireAndForget.Run(ReplaceAsync(slot), App.Logger, "replacing a tab");
            }
        }

        foreach (var call in orphans)
        {
            if (call.IsCompleted)
            {
                continue;
            }

            if (call.MayRetry && !_stopping)
            {
                Dispatch(call);
            }
            else
            {
                call.TryFail(502, "Bad Gateway: the tab handling this request crashed");
            }
        }

        FireAndForget.Run(tab.CloseAsync(), App.Logger, "closing a tab");
    }

    private async Task ReplaceAsync(int slot)
    {
        try
        {
            using var timeout = new CancellationTokenSource(App.Options.LoadTimeout);
            _tabs[slot] = await OpenTabAsync(timeout.Token).ConfigureAwait(false);
            FlushWaiting();
        }
        catch (Exception ex) when (ex is CdpException or CdpClosedException or AppLoadException or OperationCanceledException or TimeoutException)
        {
            EngineLog.ReplaceFailed(App.Logger, App.Name, slot, ex);
        }
    }

    /// <summary>Starts opening a spare tab unless one exists or is on its way.</summary>
    internal void EnsureSpare()
    {
        if (!App.Options.WarmSpare || _stopping || !App.Pages.IsAvailable)
        {
            return;
        }

        lock (_spareLock)
        {
            if (Volatile.Read(ref _spare) is not null || _spareCreation is { IsCompleted: false })
            {
                return;
            }

            _spareCreation = CreateSpareAsync();
        }
    }

    private async Task CreateSpareAsync()
    {
        await Task.Yield();
        try
        {
            using var timeout = new CancellationTokenSource(App.Options.LoadTimeout);
            var spare = await OpenTabAsync(timeout.Token).ConfigureAwait(false);
            if (_stopping)
            {
                await spare.CloseAsync().ConfigureAwait(false);
                return;
            }

            Volatile.Write(ref _spare, spare);

            // A tab may have died while the spare was loading: fill its slot now.
            for (var i = 0; i < _tabs.Length; i++)
            {
                if (_tabs[i] is null or { IsDead: true } && Interlocked.Exchange(ref _spare, null) is { } promoted)
                {
                    _tabs[i] = promoted;
                    FlushWaiting();
                    EnsureSpare();
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is CdpException or CdpClosedException or AppLoadException or OperationCanceledException or TimeoutException)
        {
            EngineLog.ReplaceFailed(App.Logger, App.Name, -1, ex);
        }
    }

    private void FlushWaiting()
    {
        var count = _waiting.Count;
        for (var i = 0; i < count && _waiting.TryDequeue(out var waiting); i++)
        {
            Dispatch(waiting);
        }
    }

    /// <summary>Waits until no call is outstanding in any tab, or the timeout passes.</summary>
    public Task DrainAsync(TimeSpan timeout)
    {
        _stopping = true;
        return Polling.UntilAsync(() => Outstanding <= 0, timeout);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        await _heartbeat.DisposeAsync().ConfigureAwait(false);

        while (_waiting.TryDequeue(out var call))
        {
            call.TryFail(503, "Service Unavailable: shutting down");
        }

        if (_spareCreation is { } spareCreation)
        {
            await spareCreation.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await Task.WhenAll(_tabs.Append(Spare).OfType<Tab>().Select(t => t.CloseAsync())).ConfigureAwait(false);
        await App.Pages.DisposeContextAsync().ConfigureAwait(false);
    }
}
