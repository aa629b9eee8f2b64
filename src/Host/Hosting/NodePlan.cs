using System.Net;
using LeanProxy.Engine.Browser;
using LeanProxy.Host.Cli;
using LeanProxy.Host.Node;
using LeanProxy.Listener;
using LeanProxy.Store;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Hosting;

/// <summary>What a node runs: its store, browser, public listeners and admin listener.</summary>
internal sealed record NodePlan
{
    public required string StoreUri { get; init; }

    public BrowserOptions Browser { get; init; } = new();

    public NodeOptions Node { get; init; } = new();

    public HttpListenerOptions Http { get; init; } = new();

    public IReadOnlyList<IPEndPoint> HttpEndpoints { get; init; } = [];

    public IPEndPoint? AdminEndpoint { get; init; }

    /// <summary>The admin token; null only for a loopback admin listener.</summary>
    public string? AdminToken { get; init; }
}
