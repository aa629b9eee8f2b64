using System.Diagnostics;
using LeanProxy.Cdp;
using LeanProxy.Engine.Apps;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Tabs;

/// <summary>The pool's tabs past the first ones: taken from the budget while the queue grows, given back when idle.</summary>
internal sealed partial class TabPool
{
    /// <summary>Calls on the least busy tab from which the pool opens one more (two are in the page while more queue).</summary>
    internal const int GrowAt = 4;

    private readonly long[] _idleSince;
    private readonly Lock _budgetLock = new();
    private int _growing;
    private int _extraHeld;
    private bool _released;

    /// <summary>Live tabs now.</summary>
    public int LiveTabs
    {
        get
        {
            var live = 0;
            foreach (var tab in _tabs)
            {
                live += tab is { IsDead: false } ? 1 : 0;
            }

            return live;
        }
    }

    /// <summary>Opens one more tab in the background unless one is on its way, the pool is full or the budget spent.</summary>
    private void Grow()
    {
        if (_stopping || !App.Pages.IsAvailable || Interlocked.CompareExchange(ref _growing, 1, 0) != 0)
        {
            return;
        }

        var slot = Array.FindIndex(_tabs, App.Options.Tabs, t => t is null);
        if (slot < 0 || !TakeExtra())
        {
            Volatile.Write(ref _growing, 0);
            return;
        }

        FireAndForget.Run(GrowAsync(slot), App.Logger, "adding a tab");
    }

    private async Task GrowAsync(int slot)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var timeout = new CancellationTokenSource(App.Options.LoadTimeout);
            var tab = await OpenTabAsync(timeout.Token).ConfigureAwait(false);
            if (_stopping || Volatile.Read(ref _released))
            {
                GiveExtra();
                await tab.CloseAsync().ConfigureAwait(false);
                return;
            }

            _idleSince[slot] = 0;
            Volatile.Write(ref _tabs[slot], tab);
            EngineLog.TabAdded(App.Logger, App.Name, tab.Index, Stopwatch.GetElapsedTime(started).TotalMilliseconds, LiveTabs);
            FlushWaiting();
        }
        catch (Exception ex) when (ex is CdpException or CdpClosedException or AppLoadException or OperationCanceledException or TimeoutException)
        {
            GiveExtra();
            EngineLog.ReplaceFailed(App.Logger, App.Name, -1, ex);
        }
        finally
        {
            Volatile.Write(ref _growing, 0);
        }
    }

    /// <summary>On the heartbeat: a tab past the first ones that had nothing to do for ExtraTabIdle is closed.</summary>
    private void ShrinkIdle(long now)
    {
        for (var slot = App.Options.Tabs; slot < _tabs.Length; slot++)
        {
            if (Volatile.Read(ref _tabs[slot]) is not { IsDead: false } tab)
            {
                continue;
            }

            if (tab.Outstanding > 0 || tab.ConnectionCount > 0)
            {
                _idleSince[slot] = 0;
            }
            else if (_idleSince[slot] == 0)
            {
                _idleSince[slot] = now;
            }
            else if (now - _idleSince[slot] >= App.Options.ExtraTabIdle.TotalMilliseconds)
            {
                Retire(slot, tab, $"nothing to do for {App.Options.ExtraTabIdle.TotalSeconds:0} s");
            }
        }
    }

    /// <summary>Closes the least busy tab past the first ones (for a node whose budget is spent); false when there is none.</summary>
    public bool GiveOneBack()
    {
        var best = -1;
        for (var slot = App.Options.Tabs; slot < _tabs.Length; slot++)
        {
            if (Volatile.Read(ref _tabs[slot]) is { IsDead: false } tab && (best < 0 || tab.Outstanding < _tabs[best]!.Outstanding))
            {
                best = slot;
            }
        }

        return best >= 0 && _tabs[best] is { } chosen && Retire(best, chosen, "another app needed a tab");
    }

    /// <summary>Takes the tab out of the pool (no new work reaches it), gives its budget back, and closes it once its calls are done.</summary>
    private bool Retire(int slot, Tab tab, string why)
    {
        if (Interlocked.CompareExchange(ref _tabs[slot], null, tab) != tab)
        {
            return false;
        }

        GiveExtra();
        EngineLog.TabRemoved(App.Logger, App.Name, tab.Index, why, LiveTabs);
        FireAndForget.Run(CloseWhenDoneAsync(tab), App.Logger, "closing an extra tab");
        return true;
    }

    private async Task CloseWhenDoneAsync(Tab tab)
    {
        await Polling.UntilAsync(() => tab.Outstanding <= 0 || tab.IsDead, App.Options.RequestTimeout, () => App.Now).ConfigureAwait(false);

        await tab.CloseAsync().ConfigureAwait(false);
    }

    /// <summary>A tab past the first ones ended (a crash): its slot is free and its budget given back.</summary>
    private void RemoveExtra(int slot, Tab tab)
    {
        if (Interlocked.CompareExchange(ref _tabs[slot], null, tab) == tab)
        {
            GiveExtra();
        }
    }

    /// <summary>After the browser went away: the tabs past the first ones are not re-created.</summary>
    private void DropExtraTabs()
    {
        for (var slot = App.Options.Tabs; slot < _tabs.Length; slot++)
        {
            if (Volatile.Read(ref _tabs[slot]) is { } tab)
            {
                RemoveExtra(slot, tab);
            }
        }
    }

    private bool TakeExtra()
    {
        lock (_budgetLock)
        {
            if (_released || !(App.Options.Budget?.TryTake(1) ?? true))
            {
                return false;
            }

            _extraHeld++;
            return true;
        }
    }

    private void GiveExtra()
    {
        lock (_budgetLock)
        {
            if (_released)
            {
                return;
            }

            _extraHeld--;
            App.Options.Budget?.Give(1);
        }
    }

    /// <summary>Gives every tab back to the budget (the first ones, charged by whoever started the app, and the extra
    /// ones), once; the pool grows no more.</summary>
    public void ReleaseTabs()
    {
        lock (_budgetLock)
        {
            if (_released)
            {
                return;
            }

            _released = true;
            App.Options.Budget?.Give(App.Options.Tabs + _extraHeld);
        }
    }
}
