using System.Net;

namespace LeanProxy.Listener;

/// <summary>A driver for datagram traffic (UDP): one call per datagram, never reassembled or split.</summary>
public interface IDatagramDriver
{
    /// <summary>Name used in logs and on the command line (e.g. "udp").</summary>
    string Name { get; }

    /// <summary>Handles one datagram; returns the reply to send back to <paramref name="remote"/>, or null for none.</summary>
    ValueTask<ReadOnlyMemory<byte>?> HandleAsync(ReadOnlyMemory<byte> datagram, EndPoint remote, CancellationToken cancellationToken);
}
