using System.Collections.Concurrent;

namespace LeanProxy.Listener;

/// <summary>
/// Tracks open connections for one server: one heartbeat timer enforces every connection's deadline (as Kestrel
/// does) instead of a timer per read, and a stop signal reaches every idle connection at once. The heartbeat sleeps
/// while there is no connection (an idle server wakes nobody) and a new connection arms it.
/// </summary>
public sealed class ConnectionManager : IDisposable
{
    private readonly ConcurrentDictionary<long, ConnectionContext> _connections = new();
    private readonly SleepingHeartbeat _heartbeat;
    private long _nextId;

    public ConnectionManager(TimeSpan? heartbeat = null) =>
        _heartbeat = new SleepingHeartbeat(OnHeartbeat, heartbeat ?? TimeSpan.FromMilliseconds(250), armed: false);

    /// <summary>True once <see cref="Stop"/> was called: connections finish their current request and close.</summary>
    public bool Stopping { get; private set; }

    public int Count => _connections.Count;

    public ConnectionContext Register(Action onTimeoutOrStop)
    {
        var context = new ConnectionContext(this, Interlocked.Increment(ref _nextId), onTimeoutOrStop);
        _connections[context.Id] = context;
        _heartbeat.Wake();
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
    public Task<bool> WaitForDrainAsync(TimeSpan timeout) => Polling.UntilAsync(() => _connections.IsEmpty, timeout);

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

        if (_connections.IsEmpty)
        {
            _heartbeat.TrySleep(() => !_connections.IsEmpty);
        }
    }

    /// <summary>The heartbeat sleeps: no connection to watch.</summary>
    internal bool IsAsleep => _heartbeat.IsAsleep;

    public void Dispose() => _heartbeat.Dispose();
}
