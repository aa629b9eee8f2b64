using System.Net;
using System.Net.Sockets;

namespace LeanProxy.Listener;

/// <summary>The bind every listener does: dual-mode on <c>[::]</c>, no address reuse, the socket disposed if the bind fails.</summary>
internal static class BoundSocket
{
    /// <summary>
    /// A socket bound to <paramref name="endPoint"/>. No ReuseAddress: on Linux .NET maps it to SO_REUSEPORT too, which
    /// lets a second process bind the same port and take half the connections (for UDP, share the port instead of
    /// failing); for TCP the runtime already sets SO_REUSEADDR, so a restart rebinds past TIME_WAIT.
    /// </summary>
    public static Socket Bind(IPEndPoint endPoint, SocketType type, ProtocolType protocol)
    {
        var socket = new Socket(endPoint.AddressFamily, type, protocol);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
