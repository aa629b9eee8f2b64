namespace LeanProxy.Engine.Tabs;

/// <summary>What a tab tells the pool it belongs to (the pool's lifecycle and dispatch stay the pool's).</summary>
internal interface ITabOwner
{
    /// <summary>The tab's page is gone; <paramref name="orphans"/> are its calls without an answer (retry or 502).</summary>
    void OnTabEnded(Tab tab, string reason, List<PendingCall> orphans);

    /// <summary>A batch call of the tab returned: calls held for a free tab may go now.</summary>
    void OnTabProgress(Tab tab);

    /// <summary>Sends a call the tab cannot take (it died after it was picked) to another tab.</summary>
    void Redispatch(PendingCall call);

    /// <summary>Work reached the tab: the pool's heartbeat, asleep while there is nothing to watch, must run.</summary>
    void Watch();

    /// <summary>The pool is shutting down: tabs ending now is expected.</summary>
    bool IsStopping { get; }
}
