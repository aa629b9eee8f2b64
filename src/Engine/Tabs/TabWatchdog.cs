using LeanProxy.Listener;

namespace LeanProxy.Engine.Tabs;

/// <summary>
/// A tab's deadlines, checked on the pool's heartbeat: an expired call is answered (504, or no reply for a datagram);
/// a tab whose calls stopped returning past a deadline gets its script terminated (Runtime.terminateExecution), and
/// is closed when even that does not bring its calls back.
/// </summary>
internal sealed class TabWatchdog(Tab tab)
{
    /// <summary>A call in flight this long after a deadline passed means the page's thread is stuck in a handler.</summary>
    internal const long TerminateAfterMs = 1000;

    /// <summary>How long calls may stay stuck after Runtime.terminateExecution before the tab is given up.</summary>
    internal const long UnresponsiveAfterMs = 5000;

    /// <summary>No call came back for this long while calls are in flight: the tab is stalled, its queued calls move to other tabs.</summary>
    internal const long StallAfterMs = 500;

    private long _terminatedAt;

    /// <summary>A call expired while calls were in the page and none has returned since.</summary>
    private bool _expiredInCall;

    /// <summary>Runtime.terminateExecution was sent and no call has returned since.</summary>
    public bool IsTerminating => Volatile.Read(ref _terminatedAt) != 0;

    /// <summary>Whether the tab's page has not answered for <see cref="StallAfterMs"/> while calls are in flight, or is being terminated.</summary>
    public bool IsStalled(long now)
    {
        var busySince = tab.Sender.BusySince;
        return IsTerminating || (busySince != 0 && now - busySince >= StallAfterMs);
    }

    /// <summary>A batch call returned: the page is answering again.</summary>
    public void OnCallReturned()
    {
        Volatile.Write(ref _terminatedAt, 0);
        Volatile.Write(ref _expiredInCall, false);
    }

    public void Check(long now)
    {
        foreach (var call in tab.Calls.Snapshot)
        {
            if (now >= call.Deadline && tab.Calls.TryTake(call.Id, out _))
            {
                // Remembered until a call returns: the call is answered now, but the batch may have been sent less
                // than a second ago, and the check below that terminates the script then passes on a later tick.
                Volatile.Write(ref _expiredInCall, true);
                TimeOut(call);
            }
        }

        // Enumerating a ConcurrentQueue makes its next enqueues allocate new segments: only when calls are queued.
        if (tab.Sender.QueuedCalls > 0)
        {
            foreach (var call in tab.Sender.QueuedSnapshot)
            {
                if (now >= call.Deadline)
                {
                    TimeOut(call); // still queued: the sender skips it once it is completed
                }
            }
        }

        var busySince = tab.Sender.BusySince;
        var terminated = Volatile.Read(ref _terminatedAt);
        if (terminated != 0 && busySince != 0 && busySince <= terminated && now - terminated >= UnresponsiveAfterMs)
        {
            // Runtime.terminateExecution did not bring the calls back: the tab no longer answers. Closing it ends its
            // page; the tab's end then hands its calls back (retry or 502) and the spare takes its place.
            Volatile.Write(ref _terminatedAt, 0);
            EngineLog.Unresponsive(tab.App.Logger, tab.App.Name, tab.Index);
            FireAndForget.Run(tab.CloseAsync(), tab.App.Logger, "closing an unresponsive tab");
            return;
        }

        if (Volatile.Read(ref _expiredInCall) && busySince != 0 && now - busySince >= TerminateAfterMs && terminated == 0)
        {
            EngineLog.Terminating(tab.App.Logger, tab.App.Name, tab.Index);
            tab.App.Stats.TabTerminated();
            Volatile.Write(ref _terminatedAt, now);
            FireAndForget.Run(tab.Page.TerminateAsync(), tab.App.Logger, "terminating a tab's script");
        }
    }

    private void TimeOut(PendingCall call)
    {
        var app = tab.App;
        var seconds = app.Options.RequestTimeout.TotalSeconds;
        switch (call)
        {
            case PendingRequest request when request.TryComplete(ProxyResponse.Text(504, "Gateway Timeout")):
                EngineLog.RequestTimedOut(app.Logger, app.Name, request.Id, request.Request.Method, request.Request.TargetString, seconds);
                break;
            case PendingDatagram datagram when datagram.TryComplete(null):
                EngineLog.DatagramTimedOut(app.Logger, app.Name, datagram.Id, datagram.Remote, seconds);
                break;
        }
    }
}
