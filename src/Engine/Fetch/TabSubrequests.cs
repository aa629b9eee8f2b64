namespace LeanProxy.Engine.Fetch;

/// <summary>
/// One tab's subrequests: those running, those waiting for a free slot (at most so many open at once), and its credit
/// for <see cref="AppOptions.MaxSubrequests"/>: every request handed to the tab adds that many, and the credit never
/// exceeds that many per request in the page now — so no request can use another's (see <see cref="FetchBinding"/>).
/// </summary>
internal sealed class TabSubrequests
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Subrequest> _running = [];
    private readonly Queue<Subrequest> _waiting = new();
    private long _credit;
    private long _added;
    private bool _ended;

    /// <summary>
    /// Null when one more may start, now that <paramref name="requests"/> are in the tab's page and
    /// <paramref name="added"/> were handed to it in all; else why not.
    /// </summary>
    public string? Admit(int requests, long added, int maxPerRequest)
    {
        lock (_lock)
        {
            if (_ended)
            {
                return "The tab that made this subrequest has ended.";
            }

            var fresh = Math.Max(0, added - _added);
            _added = Math.Max(_added, added);
            _credit = Math.Min(_credit + (fresh * maxPerRequest), (long)maxPerRequest * Math.Max(1, requests));
            if (_credit < 1)
            {
                return $"Too many subrequests: more than {maxPerRequest} for one request (--max-subrequests).";
            }

            _credit--;
            return null;
        }
    }

    /// <summary>Runs it now (true) or keeps it until a slot frees (false): at most <paramref name="open"/> run at once.</summary>
    public bool Queue(Subrequest subrequest, int open)
    {
        lock (_lock)
        {
            if (_running.Count < open && _waiting.Count == 0)
            {
                _running[subrequest.Id] = subrequest;
                return true;
            }

            _waiting.Enqueue(subrequest);
            return false;
        }
    }

    /// <summary>It ended: the ones that may run now in its place.</summary>
    public List<Subrequest> Done(Subrequest subrequest, int open)
    {
        var next = new List<Subrequest>();
        lock (_lock)
        {
            _running.Remove(subrequest.Id);
            while (_running.Count < open && _waiting.TryDequeue(out var waiting))
            {
                _running[waiting.Id] = waiting;
                next.Add(waiting);
            }
        }

        return next;
    }

    /// <summary>A running or waiting one (a streamed body's pieces may come before it runs).</summary>
    public Subrequest? Find(int id)
    {
        lock (_lock)
        {
            if (_running.TryGetValue(id, out var running))
            {
                return running;
            }

            foreach (var waiting in _waiting)
            {
                if (waiting.Id == id)
                {
                    return waiting;
                }
            }

            return null;
        }
    }

    /// <summary>The page gave one up: a running one stops, a waiting one never starts.</summary>
    public void Abort(int id)
    {
        Subrequest? running;
        lock (_lock)
        {
            if (!_running.TryGetValue(id, out running))
            {
                foreach (var waiting in _waiting)
                {
                    if (waiting.Id == id)
                    {
                        waiting.Abort();
                    }
                }
            }
        }

        running?.Abort();
    }

    /// <summary>The tab ended (or the app stops): every subrequest of it stops.</summary>
    public void AbortAll()
    {
        List<Subrequest> all;
        lock (_lock)
        {
            _ended = true;
            all = [.. _running.Values, .. _waiting];
        }

        foreach (var subrequest in all)
        {
            subrequest.Abort();
        }
    }
}
