using System.Net;

namespace LeanProxy.Listener.Udp;

/// <summary>The UDP datagram driver: a datagram is a message as it is (never reassembled or split).</summary>
public sealed class UdpDriver(IProxyDatagramHandler handler) : IDatagramDriver
{
    public string Name => "udp";

    public ValueTask<ReadOnlyMemory<byte>?> HandleAsync(ReadOnlyMemory<byte> datagram, EndPoint remote, CancellationToken cancellationToken) =>
        handler.HandleDatagramAsync(datagram, remote, cancellationToken);
}
