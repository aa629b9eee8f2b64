using System.Globalization;
using System.Net;

namespace LeanProxy.Host.Cli;

/// <summary>Parses HOST:PORT for the listener flags (IPv4, [IPv6], or "localhost").</summary>
internal static class EndpointParser
{
    public static IPEndPoint Parse(string flag, string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1)
        {
            throw new UsageException($"{flag} {value}: expected HOST:PORT, e.g. 127.0.0.1:8080.");
        }

        var host = value[..colon];
        var portText = value[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new UsageException($"{flag} {value}: '{portText}' is not a port (0-65535).");
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        if (host == "*")
        {
            return new IPEndPoint(IPAddress.Any, port);
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            throw new UsageException($"{flag} {value}: '{host}' is not an IP address (use e.g. 127.0.0.1, 0.0.0.0, [::1] or localhost).");
        }

        return new IPEndPoint(address, port);
    }

    /// <summary>How an endpoint is printed in the "listening" line.</summary>
    public static string Format(IPEndPoint endPoint) =>
        endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]:{endPoint.Port}" : endPoint.ToString();
}
