using System.Net;

namespace LeanProxy.Listener;

/// <summary>The seam for datagram traffic (the UDP driver): implemented by the engine, called once per datagram.</summary>
public interface IProxyDatagramHandler
{
    /// <summary>
    /// Handles one datagram; the result is the reply to send back to <paramref name="remote"/> (possibly empty), or
    /// null for none. <paramref name="datagram"/> stays valid until the returned task completes. Implementations never
    /// throw for handler-level failures: they return null instead.
    /// </summary>
    ValueTask<ReadOnlyMemory<byte>?> HandleDatagramAsync(ReadOnlyMemory<byte> datagram, EndPoint remote, CancellationToken cancellationToken);
}
