using System.Collections.Concurrent;
using LeanProxy.Engine.Pages;
using LeanProxy.Engine.Raw;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Tabs;

/// <summary>
/// A tab's queue and adaptive batching: when no call is in flight an item leaves at once (latency); while calls are in
/// flight, arrivals wait and leave together in the next call (throughput). No timers, no fixed batch size. A batch the
/// page stopped (Runtime.terminateExecution) sends its repeatable items again.
/// </summary>
internal sealed class BatchSender
{
    /// <summary>Batch calls in flight per tab at most (the rest queue and go together in the next call).</summary>
    internal const int MaxCallsInFlight = 2;

    /// <summary>How many times a call is sent to a page at most (after that, 502).</summary>
    internal const int MaxAttempts = 3;

    private const int MaxBatchCount = 256;
    private const long MaxBatchBodyBytes = 2 * 1024 * 1024;

    private readonly Tab _tab;
    private readonly ConcurrentQueue<TabItem> _queue = new();

    // Taking a batch and writing its call happen under one lock, so that calls leave in queue order: a connection's
    // bytes must reach the page in the order they were read.
    private readonly Lock _sendLock = new();

    // Held while items are enqueued and while queued calls are taken out (work stealing), so that taking out calls
    // never reorders the messages that stay.
    private readonly Lock _queueLock = new();

    private int _callsInFlight;
    private int _queuedCalls;
    private long _busySince;

    public BatchSender(Tab tab) => _tab = tab;

    /// <summary>Calls waiting in the queue (connection and stream messages are not counted: they are bounded by their windows).</summary>
    public int QueuedCalls => Volatile.Read(ref _queuedCalls);

    /// <summary>Clock time of the last progress while calls are in flight (a call sent or returned); 0 when none is in flight.</summary>
    public long BusySince => Volatile.Read(ref _busySince);

    public void Enqueue(TabItem item)
    {
        lock (_queueLock)
        {
            if (item is PendingCall)
            {
                Interlocked.Increment(ref _queuedCalls);
            }

            _queue.Enqueue(item);
        }

        Pump();
    }

    /// <summary>Takes the calls out of the queue (for another tab, or because this one ended); other messages stay, in order.</summary>
    public List<PendingCall> TakeQueuedCalls()
    {
        var calls = new List<PendingCall>();
        lock (_sendLock)
        {
            lock (_queueLock)
            {
                var count = _queue.Count;
                for (var i = 0; i < count && _queue.TryDequeue(out var item); i++)
                {
                    if (item is PendingCall call)
                    {
                        Interlocked.Decrement(ref _queuedCalls);
                        if (!call.IsCompleted)
                        {
                            calls.Add(call);
                        }
                    }
                    else
                    {
                        _queue.Enqueue(item);
                    }
                }
            }
        }

        return calls;
    }

    /// <summary>Snapshot of the queued calls (for their deadlines).</summary>
    public IEnumerable<PendingCall> QueuedSnapshot => _queue.OfType<PendingCall>();

    /// <summary>Sends queued items while fewer than <see cref="MaxCallsInFlight"/> calls are in flight.</summary>
    public void Pump()
    {
        while (!_tab.IsDead && !_queue.IsEmpty)
        {
            var inFlight = Volatile.Read(ref _callsInFlight);
            if (inFlight >= MaxCallsInFlight)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _callsInFlight, inFlight + 1, inFlight) != inFlight)
            {
                continue;
            }

            lock (_sendLock)
            {
                var batch = TakeBatch();
                if (batch.Count == 0)
                {
                    Interlocked.Decrement(ref _callsInFlight);
                    continue;
                }

                Metrics.EngineMetrics.BatchItems.Observe(batch.Count);

                FireAndForget.Run(SendAsync(batch), _tab.App.Logger, "sending a batch");
            }
        }
    }

    private List<TabItem> TakeBatch()
    {
        var batch = new List<TabItem>(Math.Min(Math.Max(QueuedCalls, 1), MaxBatchCount));
        long bytes = 0;
        while (batch.Count < MaxBatchCount && bytes < MaxBatchBodyBytes && _queue.TryDequeue(out var item))
        {
            if (item is PendingCall call)
            {
                var live = !call.IsCompleted;
                if (live)
                {
                    call.Attempts++;
                    call.TabIndex = _tab.Index;
                    _tab.Calls.Add(call);
                }

                // Counted out of the queue only once it is in the tab's calls: the heartbeat, which sleeps when a
                // pool has nothing outstanding, never sees a call in neither.
                Interlocked.Decrement(ref _queuedCalls);
                if (!live)
                {
                    continue;
                }
            }

            bytes += item.PayloadLength;
            batch.Add(item);
        }

        return batch;
    }

    private async Task SendAsync(List<TabItem> batch)
    {
        if (Volatile.Read(ref _busySince) == 0)
        {
            Volatile.Write(ref _busySince, _tab.App.Now);
        }

        BatchOutcome outcome;
        try
        {
            outcome = await _tab.Page.SendBatchAsync(batch).ConfigureAwait(false);
        }
        finally
        {
            var remaining = Interlocked.Decrement(ref _callsInFlight);
            Volatile.Write(ref _busySince, remaining == 0 ? 0 : _tab.App.Now);
        }

        switch (outcome)
        {
            case BatchOutcome.Stopped:
            case BatchOutcome.Rejected when _tab.Watchdog.IsTerminating:
                // The call died in the page (Runtime.terminateExecution stopped a spinning handler): whatever of this
                // batch is unanswered and repeatable goes again; its connections end (their byte streams have a hole).
                Repeat(batch);
                break;
            case BatchOutcome.Rejected:
                foreach (var item in batch)
                {
                    if (item is PendingCall && _tab.Calls.TryTake(item.Id, out var call))
                    {
                        call.TryFail(502, "Bad Gateway");
                    }
                }

                AbortConnectionsIn(batch);
                break;
            case BatchOutcome.Lost:
                // The tab or the browser went away: the tab's end hands every call in flight back to the pool.
                break;
        }

        _tab.Watchdog.OnCallReturned();
        _tab.OnCallReturned();
        Pump();
    }

    private void Repeat(List<TabItem> batch)
    {
        var count = 0;
        foreach (var item in batch)
        {
            if (item is PendingCall)
            {
                if (!_tab.Calls.TryTake(item.Id, out var call) || call.IsCompleted)
                {
                    continue;
                }

                if (call.Attempts >= MaxAttempts)
                {
                    call.TryFail(502, "Bad Gateway");
                    continue;
                }

                count++;
                Enqueue(call);
            }
            else if (item.IsRepeatable)
            {
                Enqueue(item);
            }
        }

        AbortConnectionsIn(batch);
        if (count > 0)
        {
            EngineLog.Resending(_tab.App.Logger, _tab.App.Name, _tab.Index, count);
        }
    }

    /// <summary>A batch that carried connection messages died in the page: those connections cannot go on reliably.</summary>
    private static void AbortConnectionsIn(List<TabItem> batch)
    {
        foreach (var item in batch)
        {
            if (item is TcpMessage message && message.Kind != HostMessageKind.TcpAbort)
            {
                message.Session.OnBatchLost();
            }
        }
    }

    /// <summary>The tab ended: everything still queued leaves (calls are returned; other messages die with the tab).</summary>
    public List<PendingCall> DrainForEnd()
    {
        var calls = new List<PendingCall>();
        lock (_queueLock)
        {
            while (_queue.TryDequeue(out var item))
            {
                if (item is PendingCall call)
                {
                    Interlocked.Decrement(ref _queuedCalls);
                    calls.Add(call);
                }
            }
        }

        return calls;
    }
}
