using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Pages;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Tabs;

/// <summary>
/// One tab running an app version: its page (<see cref="IPageChannel"/>), its queue and batching
/// (<see cref="BatchSender"/>), the calls in its page (<see cref="CallTable"/>), the routing of what the page sends
/// (<see cref="PageMessageRouter"/>) and its deadlines (<see cref="TabWatchdog"/>). This type owns the tab's life:
/// open, close, and what happens when the page ends (crash, close, browser gone).
/// </summary>
internal sealed class Tab
{
    private readonly ITabOwner _owner;
    private IPageChannel? _page;
    private volatile bool _dead;

    private Tab(AppScope app, int index, ITabOwner owner)
    {
        App = app;
        Index = index;
        _owner = owner;
        Calls = new CallTable();
        Sender = new BatchSender(this);
        Router = new PageMessageRouter(this);
        Watchdog = new TabWatchdog(this);
        Data = new DataPlane.TabDataPlane(app.Name, index, app.Logger, OnDataPlaneLost, app.Options.InlineBodyMax);
    }

    public AppScope App { get; }

    public int Index { get; }

    public IPageChannel Page => _page ?? throw new InvalidOperationException("The tab's page is not open yet.");

    public CallTable Calls { get; }

    public BatchSender Sender { get; }

    public PageMessageRouter Router { get; }

    public TabWatchdog Watchdog { get; }

    /// <summary>The tab's data plane: bodies beside CDP, once the page has connected it.</summary>
    public DataPlane.TabDataPlane Data { get; }

    public bool IsDead => _dead || (_page?.IsEnded ?? false);

    /// <summary>Set on the pool's heartbeat: the page has not answered for a while (see
    /// <see cref="TabWatchdog.IsStalled"/>); new work goes elsewhere.</summary>
    public bool IsStalled { get; set; }

    /// <summary>Queued plus in-page calls: the load the pool balances on.</summary>
    public int Outstanding => Sender.QueuedCalls + Calls.Count;

    public int ConnectionCount => Router.ConnectionCount;

    /// <summary>Opens a tab (its page loads the app) and starts watching for its end.</summary>
    public static async Task<Tab> OpenAsync(AppScope app, int index, ITabOwner owner, CancellationToken cancellationToken)
    {
        var tab = new Tab(app, index, owner);
        tab._page = await app.Pages.OpenAsync(tab, cancellationToken).ConfigureAwait(false);
        FireAndForget.Run(tab.WatchAsync(), app.Logger, "watching a tab for its end");
        return tab;
    }

    public void Enqueue(TabItem item)
    {
        Sender.Enqueue(item);
        _owner.Watch();
        if (_dead)
        {
            // The tab ended after it was picked and its end has swept the queue: hand back what came after (a
            // connection's messages die with the tab: its connections were ended by the sweep).
            foreach (var call in Sender.DrainForEnd())
            {
                _owner.Redispatch(call);
            }
        }
    }

    /// <summary>Called by the sender when a batch call returned.</summary>
    internal void OnCallReturned()
    {
        IsStalled = false;
        _owner.OnTabProgress(this);
    }

    /// <summary>The heartbeat: deadlines, termination, stall detection.</summary>
    public void Tick(long now)
    {
        if (IsDead)
        {
            return;
        }

        Watchdog.Check(now);
        IsStalled = Watchdog.IsStalled(now);
    }

    public async Task CloseAsync()
    {
        _dead = true;
        if (_page is { } page)
        {
            await page.CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The data plane ended while the tab lives: what was given to the page or announced by it may be cut, so
    /// the tab is given up (its calls go back to the pool) rather than trusted with a hole.</summary>
    private void OnDataPlaneLost(string reason)
    {
        if (!IsDead && !_owner.IsStopping && _page is { } page)
        {
            FireAndForget.Run(page.CloseAsync(), App.Logger, "closing a tab whose data plane ended");
        }
    }

    /// <summary>Waits for the page to end and hands its calls back to the pool.</summary>
    private async Task WatchAsync()
    {
        var reason = await Page.Ended.ConfigureAwait(false);
        var expected = _dead || _owner.IsStopping;
        _dead = true;
        var orphans = Calls.TakeAll();
        orphans.AddRange(Sender.DrainForEnd());
        if (!expected)
        {
            EngineLog.TabEnded(App.Logger, App.Name, Index, reason, orphans.Count);
            App.Stats.TabCrashed();
            Metrics.NodeEvents.Add("crash", App.Name, $"tab {Index} ended: {reason}");
        }

        Router.OnTabEnded();
        _owner.OnTabEnded(this, reason, orphans);
        await Data.DisposeAsync().ConfigureAwait(false);
    }
}
