using System.IO.Pipelines;
using System.Net;

namespace LeanProxy.Listener;

/// <summary>An accepted connection as a stream driver sees it: a duplex pipe, its endpoints and its deadlines.</summary>
public sealed class StreamConnection(IDuplexPipe transport, ConnectionContext context, EndPoint? localEndPoint, EndPoint? remoteEndPoint)
{
    /// <summary>Process-wide connection number, for logs.</summary>
    public long Id => Context.Id;

    public IDuplexPipe Transport { get; } = transport;

    /// <summary>Deadlines and the stop signal; its signal cancels the transport's pending read.</summary>
    public ConnectionContext Context { get; } = context;

    public EndPoint? LocalEndPoint { get; } = localEndPoint;

    public EndPoint? RemoteEndPoint { get; } = remoteEndPoint;

    /// <summary>
    /// Shuts down the send side of the underlying socket (a TCP FIN; reading goes on), for drivers that pass a
    /// half-close through. Complete <see cref="Transport"/>'s output first. Null when the transport has no such notion.
    /// </summary>
    public Action? ShutdownSend { get; init; }
}
