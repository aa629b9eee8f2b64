using LeanProxy.Engine.Pages;

namespace LeanProxy.Engine.Tabs;

/// <summary>
/// The pool's heartbeat: deadlines, stalls and work stealing, the extra tabs' idle time, the console's dropped lines.
/// It sleeps while there is nothing to watch, so that an idle app wakes nobody; work reaching a tab arms it again.
/// </summary>
internal sealed partial class TabPool
{
    /// <summary>
    /// The heartbeat: every tab checks its deadlines and whether it is stalled; a stalled tab's queued calls move to a
    /// tab that answers (work stealing); held calls past their deadline get 504, the others are dispatched again.
    /// </summary>
    public void Tick()
    {
        var now = App.Now;
        foreach (var tab in _tabs)
        {
            tab?.Tick(now);
        }

        if (_tabs.Length > App.Options.Tabs)
        {
            ShrinkIdle(now);
        }

        if (App.Console.Flush() is > 0 and var dropped)
        {
            EngineLog.ConsoleDropped(App.Logger, App.Name, dropped, ConsoleBudget.LinesPerSecond);
        }

        foreach (var tab in _tabs)
        {
            if (tab is { IsStalled: true, Sender.QueuedCalls: > 0 } && TabPicker.ForCall(_tabs, exclude: tab) is { IsStalled: false })
            {
                var moved = tab.Sender.TakeQueuedCalls();
                foreach (var call in moved)
                {
                    // Picked again one by one, so that the moved calls spread over the tabs that answer.
                    (TabPicker.ForCall(_tabs, exclude: tab) ?? tab).Enqueue(call);
                }

                if (moved.Count > 0)
                {
                    EngineLog.WorkMoved(App.Logger, App.Name, tab.Index, moved.Count);
                }
            }
        }

        if (!_waiting.IsEmpty)
        {
            var count = _waiting.Count;
            for (var i = 0; i < count && _waiting.TryDequeue(out var call); i++)
            {
                if (now >= call.Deadline)
                {
                    call.TryFail(504, "Gateway Timeout");
                }
                else
                {
                    Dispatch(call);
                }
            }
        }

        if (!_stopping && !NeedsWatching())
        {
            _heartbeat.TrySleep(NeedsWatching); // asleep until work reaches a tab
        }
    }

    /// <summary>The heartbeat sleeps: nothing to watch until work reaches a tab.</summary>
    internal bool IsAsleep => _heartbeat.IsAsleep;

    /// <summary>Arms the heartbeat if it sleeps.</summary>
    public void Watch() => _heartbeat.Wake();

    /// <summary>Whether the heartbeat has something to do: deadlines, stalls, an extra tab to close, lines to report.</summary>
    private bool NeedsWatching()
    {
        if (!_waiting.IsEmpty || App.Console.HasDropped)
        {
            return true;
        }

        for (var i = 0; i < _tabs.Length; i++)
        {
            if (_tabs[i] is { } tab && (i >= App.Options.Tabs || tab.Outstanding > 0 || tab.Sender.BusySince != 0 || tab.Watchdog.IsTerminating))
            {
                return true;
            }
        }

        return false;
    }
}
