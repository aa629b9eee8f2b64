using System.Net;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Browser;
using LeanProxy.Listener;

namespace LeanProxy.Host.Hosting;

/// <summary>What to run: the browser, the app and its listeners. Built from the command line by <c>serve</c> and <c>bench</c>.</summary>
internal sealed record ServerPlan
{
    /// <summary>Datagrams handled at the same time per UDP listener at most; more are dropped and counted.</summary>
    public const int UdpMaxInFlight = 1024;

    public required string AppPath { get; init; }

    public BrowserOptions Browser { get; init; } = new();

    public AppOptions App { get; init; } = new();

    /// <summary>Where the app's KV values are kept; null: an SQLite file in the app folder's .leanproxy/state.</summary>
    public string? KvStoreUri { get; init; }

    public HttpListenerOptions Http { get; init; } = new();

    /// <summary>The operators' listener (/healthz, /readyz, /metrics, the status page); null: none.</summary>
    public IPEndPoint? AdminEndpoint { get; init; }

    /// <summary>The admin listener's token; null only for a loopback admin listener.</summary>
    public string? AdminToken { get; init; }

    public IReadOnlyList<IPEndPoint> HttpEndpoints { get; init; } = [];

    public IReadOnlyList<IPEndPoint> TcpEndpoints { get; init; } = [];

    public IReadOnlyList<IPEndPoint> UdpEndpoints { get; init; } = [];

    /// <summary>The exports the app needs for these listeners: fetch for HTTP, connect for TCP, datagram for UDP.</summary>
    public IReadOnlyList<string> RequiredExports =>
    [
        .. HttpEndpoints.Count > 0 ? ["fetch"] : Array.Empty<string>(),
        .. TcpEndpoints.Count > 0 ? ["connect"] : Array.Empty<string>(),
        .. UdpEndpoints.Count > 0 ? ["datagram"] : Array.Empty<string>(),
    ];
}
