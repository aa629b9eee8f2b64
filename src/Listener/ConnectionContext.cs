namespace LeanProxy.Listener;

/// <summary>Per-connection deadline and stop signal, driven by the <see cref="ConnectionManager"/> heartbeat.</summary>
public sealed class ConnectionContext : IDisposable
{
    private readonly ConnectionManager _manager;
    private readonly Action _signal;
    private long _deadline = long.MaxValue;
    private int _kind;
    private int _expired;
    private int _stopRequested;

    internal ConnectionContext(ConnectionManager manager, long id, Action signal)
    {
        _manager = manager;
        Id = id;
        _signal = signal;
    }

    public long Id { get; }

    /// <summary>The server is stopping: finish the current exchange, then close.</summary>
    public bool StopRequested => Volatile.Read(ref _stopRequested) != 0;

    /// <summary>Which deadline fired (or <see cref="TimeoutKind.None"/>).</summary>
    public TimeoutKind Expired => (TimeoutKind)Volatile.Read(ref _expired);

    /// <summary>Aborts the connection's transport (set by the listener).</summary>
    public Action? AbortTransport { get; set; }

    /// <summary>Whether the connection waits for a new request with nothing buffered (safe to close on stop).</summary>
    public bool Idle { get; set; }

    /// <summary>Arms a deadline; the signal fires if it passes before <see cref="ClearTimeout"/>.</summary>
    public void SetTimeout(TimeoutKind kind, TimeSpan timeout)
    {
        Volatile.Write(ref _kind, (int)kind);
        Volatile.Write(ref _deadline, Environment.TickCount64 + (long)timeout.TotalMilliseconds);
    }

    public void ClearTimeout()
    {
        Volatile.Write(ref _deadline, long.MaxValue);
        Volatile.Write(ref _kind, (int)TimeoutKind.None);
    }

    internal void Tick(long now)
    {
        if (now >= Volatile.Read(ref _deadline))
        {
            Volatile.Write(ref _deadline, long.MaxValue);
            Volatile.Write(ref _expired, Volatile.Read(ref _kind));
            _signal();
        }
    }

    internal void SignalStop()
    {
        Volatile.Write(ref _stopRequested, 1);
        if (Idle)
        {
            _signal();
        }
    }

    internal void Abort() => AbortTransport?.Invoke();

    public void Dispose() => _manager.Unregister(this);
}

public enum TimeoutKind
{
    None,
    KeepAlive,
    Headers,
    Body,
    Write,
}
