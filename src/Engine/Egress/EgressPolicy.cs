using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Egress;

/// <summary>
/// Where a handler may connect (fetch, WebSocket, anything its page loads): public addresses, yes; loopback, private
/// (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), link-local (169.254/16, fe80::/10), unspecified, multicast and
/// this machine's own addresses, no — whatever name led there — unless <c>--allow-net</c> names the destination. The
/// decision is made on the addresses the proxy itself resolved and then connects to, so a name cannot be rebound
/// between the check and the connection.
/// </summary>
public sealed class EgressPolicy(IReadOnlyList<AllowedDestination> allowed)
{
    private static readonly Lazy<HashSet<IPAddress>> OwnAddresses = new(ReadOwnAddresses);

    public IReadOnlyList<AllowedDestination> Allowed => allowed;

    /// <summary>Null when <paramref name="address"/> may be reached for <paramref name="host"/>:<paramref name="port"/>; otherwise why not.</summary>
    public string? Refusal(string host, int port, IPAddress address)
    {
        if (allowed.Any(a => a.Matches(host, port) || a.Matches(address.ToString(), port)))
        {
            return null;
        }

        return WhyRefused(address) is { } reason ? $"{host}:{port} is {reason}" : null;
    }

    /// <summary>What kind of address this is when handlers may not reach it (null: a public address).</summary>
    public static string? WhyRefused(IPAddress address)
    {
        address = Addresses.Unmapped(address);
        if (IPAddress.IsLoopback(address))
        {
            return "a loopback address";
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.None))
        {
            return "an unspecified address";
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            if (b[0] == 10 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168) || (b[0] == 100 && b[1] is >= 64 and <= 127))
            {
                return "a private address";
            }

            if (b[0] == 169 && b[1] == 254)
            {
                return "a link-local address";
            }

            if (b[0] == 0 || b[0] >= 224)
            {
                return "a reserved or multicast address";
            }
        }
        else if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            if ((b[0] & 0xFE) == 0xFC)
            {
                return "a private address";
            }

            if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal)
            {
                return "a link-local address";
            }

            if (address.IsIPv6Multicast)
            {
                return "a multicast address";
            }
        }

        return OwnAddresses.Value.Contains(address) ? "an address of this node" : null;
    }

    private static HashSet<IPAddress> ReadOwnAddresses()
    {
        var own = new HashSet<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    own.Add(unicast.Address);
                }
            }
        }
        catch (NetworkInformationException)
        {
        }

        return own;
    }
}
