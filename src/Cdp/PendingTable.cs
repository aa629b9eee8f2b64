namespace LeanProxy.Cdp;

/// <summary>
/// The connection's calls awaiting a reply, by id. A dictionary under a lock rather than a ConcurrentDictionary: the
/// latter allocates a node per add, this one reuses its entries, so registering a call allocates nothing. Adds come
/// from senders and removals from the receive loop, each a few dozen nanoseconds under the lock.
/// </summary>
internal sealed class PendingTable
{
    private readonly Dictionary<int, PendingCall> _calls = [];
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _calls.Count;
            }
        }
    }

    public void Add(int id, PendingCall call)
    {
        lock (_lock)
        {
            _calls.Add(id, call);
        }
    }

    public bool TryRemove(int id, out PendingCall call)
    {
        lock (_lock)
        {
            return _calls.Remove(id, out call!);
        }
    }

    /// <summary>Removes every call that <paramref name="match"/> selects (all when null) and returns them; the caller completes them.</summary>
    public List<PendingCall> RemoveAll(Func<PendingCall, bool>? match)
    {
        var removed = new List<PendingCall>();
        lock (_lock)
        {
            foreach (var (id, call) in _calls)
            {
                if (match is null || match(call))
                {
                    removed.Add(call);
                }
            }

            foreach (var call in removed)
            {
                _calls.Remove(call.Id);
            }
        }

        return removed;
    }
}
