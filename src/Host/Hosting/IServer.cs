namespace LeanProxy.Host.Hosting;

/// <summary>What <c>serve</c> runs, a single app (<see cref="LeanProxyServer"/>) or a node (<see cref="NodeServer"/>).</summary>
internal interface IServer
{
    /// <summary>Every listener, as printed after "listening ".</summary>
    IEnumerable<string> Endpoints { get; }

    /// <summary>Completes (with the reason) when the server can no longer serve.</summary>
    Task<string> Failed { get; }

    Task StartAsync(CancellationToken cancellationToken);

    Task StopAsync(TimeSpan drain);
}
