using System.Collections.Concurrent;

namespace LeanProxy.Engine.Tabs;

/// <summary>The calls a tab has sent to its page and not yet had answered, by id.</summary>
internal sealed class CallTable
{
    private readonly ConcurrentDictionary<int, PendingCall> _calls = new();

    // ConcurrentDictionary.Count takes every lock of the table: the count is kept on the side instead.
    private int _count;

    private long _added;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Calls handed to the page since the tab opened (what its subrequest budget grows with).</summary>
    public long Added => Interlocked.Read(ref _added);

    public void Add(PendingCall call)
    {
        _calls[call.Id] = call;
        Interlocked.Increment(ref _count);
        Interlocked.Increment(ref _added);
    }

    /// <summary>Takes the call out; false when it was taken already (answered, expired, orphaned).</summary>
    public bool TryTake(int id, out PendingCall call)
    {
        if (_calls.TryRemove(id, out call!))
        {
            Interlocked.Decrement(ref _count);
            return true;
        }

        return false;
    }

    /// <summary>A snapshot of the calls in the page (enumerating never blocks the receive loop).</summary>
    public IEnumerable<PendingCall> Snapshot => _calls.Values;

    public List<PendingCall> TakeAll()
    {
        var taken = new List<PendingCall>();
        foreach (var id in _calls.Keys)
        {
            if (TryTake(id, out var call))
            {
                taken.Add(call);
            }
        }

        return taken;
    }
}
