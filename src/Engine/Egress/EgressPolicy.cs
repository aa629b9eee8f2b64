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

    /// <summary>
    /// Resolves <paramref name="host"/> (a literal address as itself; <c>localhost</c> and every <c>*.localhost</c> as
    /// loopback, as Chromium resolves them) and decides on what it resolved to: the addresses to connect to, or why
    /// not. Both ways out of a page take this decision — the egress proxy's and the host's own <c>fetch</c> — and
    /// connect only to the addresses it returns, so a name cannot be rebound between the check and the connection.
    /// </summary>
    public async Task<EgressDecision> ResolveAsync(string host, int port, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(host, out var literal) ? [literal]
                : host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
                    ? [IPAddress.Loopback]
                    : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException)
        {
            addresses = [];
        }

        if (addresses.Length == 0)
        {
            return new EgressDecision([], $"{host} does not resolve");
        }

        // Every address must pass: a name that resolves to a public and a private address is refused, not tried in turn.
        foreach (var address in addresses)
        {
            if (Refusal(host, port, address) is { } refusal)
            {
                return new EgressDecision([], refusal);
            }
        }

        return new EgressDecision(addresses, null);
    }

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
