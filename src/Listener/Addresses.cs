using System.Net;

namespace LeanProxy.Listener;

/// <summary>Addresses as handlers, logs and the egress policy see them: an IPv4-mapped IPv6 address is the IPv4 it maps.</summary>
public static class Addresses
{
    /// <summary>The address itself, unmapped when it is IPv4-mapped IPv6.</summary>
    public static IPAddress Unmapped(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>The address of <paramref name="endPoint"/> as text (empty when it is not an IP endpoint).</summary>
    public static string Text(EndPoint? endPoint) => endPoint is IPEndPoint ip ? Unmapped(ip.Address).ToString() : string.Empty;

    /// <summary>The port of <paramref name="endPoint"/>, or 0.</summary>
    public static int Port(EndPoint? endPoint) => (endPoint as IPEndPoint)?.Port ?? 0;
}
