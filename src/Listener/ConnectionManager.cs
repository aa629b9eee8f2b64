using System.Collections.Concurrent;

namespace LeanProxy.Listener;

/// <summary>
/// Tracks open connections for one server: one heartbeat timer enforces every connection's deadline (as Kestrel
/// does) instead of a timer per read, and a stop signal reaches every idle connection at once.
/// </summary>
public sealed class ConnectionManager : IDisposable
{
    private readonly ConcurrentDictionary<long, ConnectionContext> _connections = new();
    private readonly Timer _heartbeat;
    private long _nextId;

    public ConnectionManager(TimeSpan? heartbeat = null)
    {
        var period = heartbeat ?? TimeSpan.FromMilliseconds(250);
        _heartbeat = new Timer(static state => ((ConnectionManager)state!).OnHeartbeat(), this, period, period);
    }

    /// <summary>True once <see cref="Stop"/> was called: connections finish their current request and close.</summary>
    public bool Stopping { get; private set; }

    public int Count => _connections.Count;

    public ConnectionContext Register(Action onTimeoutOrStop)
    {
        var context = new ConnectionContext(this, Interlocked.Increment(ref _nextId), onTimeoutOrStop);
        _connections[context.Id] = context;
        if (Stopping)
        {
            context.SignalStop();
        }

        return context;
    }

    internal void Unregister(ConnectionContext context) => _connections.TryRemove(context.Id, out _);

    /// <summary>Asks every connection to finish what it is doing and close; idle ones close at once.</summary>
    public void Stop()
    {
        Stopping = true;
        foreach (var connection in _connections.Values)
        {
            connection.SignalStop();
        }
    }

    /// <summary>Waits until every connection has closed or the timeout passes; false on timeout.</summary>
    public async Task<bool> WaitForDrainAsync(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!_connections.IsEmpty)
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            await Task.Delay(20).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Aborts every remaining connection (after a drain timed out).</summary>
    public void AbortAll()
    {
        foreach (var connection in _connections.Values)
        {
            connection.Abort();
        }
    }

    private void OnHeartbeat()
    {
        var now = Environment.TickCount64;
        foreach (var connection in _connections.Values)
        {
            connection.Tick(now);
        }
    }

    public void Dispose() => _heartbeat.Dispose();
}
