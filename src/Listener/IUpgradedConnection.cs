using System.IO.Pipelines;
using System.Net;

namespace LeanProxy.Listener;

/// <summary>
/// A connection handed over by the HTTP driver after a <c>101 Switching Protocols</c> (the upgrade seam, as Kestrel's
/// upgrade feature): its pipes, with whatever the client sent after the request's head still unread in the input.
/// The session owns it until its task completes; the driver then closes the connection.
/// </summary>
public interface IUpgradedConnection
{
    IDuplexPipe Transport { get; }

    EndPoint? RemoteEndPoint { get; }

    /// <summary>Cancelled when the server stops or the connection is aborted.</summary>
    CancellationToken Stopping { get; }
}
