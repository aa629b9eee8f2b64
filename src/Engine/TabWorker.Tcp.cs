using System.Collections.Concurrent;

namespace LeanProxy.Engine;

/// <summary>The raw TCP connections a tab runs: each stays on its tab for its life and ends with it.</summary>
internal sealed partial class TabWorker
{
    private readonly ConcurrentDictionary<int, TcpSession> _connections = new();
    private int _connectionCount;

    /// <summary>Open connections on this tab (the pool spreads new ones by it).</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>Binds a new connection to this tab; false when the tab is dead already.</summary>
    public bool TryAttach(TcpSession session)
    {
        if (IsDead)
        {
            return false;
        }

        _connections[session.Id] = session;
        Interlocked.Increment(ref _connectionCount);

        // The watcher may have swept the connections just before the add: then nobody else ends this one.
        if (_dead && _connections.TryRemove(session.Id, out _))
        {
            Interlocked.Decrement(ref _connectionCount);
            return false;
        }

        return true;
    }

    public void Detach(TcpSession session)
    {
        if (_connections.TryRemove(session.Id, out _))
        {
            Interlocked.Decrement(ref _connectionCount);
        }
    }

    /// <summary>Routes a connection item from the page (on the CDP receive loop); items of closed connections are dropped.</summary>
    private void CompleteConnectionItem(in ResponseItem item)
    {
        if (_connections.TryGetValue(item.Id, out var session))
        {
            session.OnPageItem(item);
        }
    }

    /// <summary>The tab ended: every connection on it ends too.</summary>
    private void LoseConnections()
    {
        foreach (var (id, session) in _connections)
        {
            if (_connections.TryRemove(id, out _))
            {
                Interlocked.Decrement(ref _connectionCount);
                session.OnTabLost();
            }
        }
    }

    /// <summary>A batch that carried connection messages died in the page: those connections cannot go on reliably.</summary>
    private static void AbortConnectionsIn(List<TabItem> batch)
    {
        foreach (var item in batch)
        {
            if (item is TcpMessage message && message.Kind != ItemKinds.TcpAbort)
            {
                message.Session.OnBatchLost();
            }
        }
    }
}
