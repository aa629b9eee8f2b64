namespace LeanProxy.Listener;

/// <summary>Limits and timeouts of the HTTP/1.1 driver. Defaults follow the reliability contract in README.md ("When things go wrong").</summary>
public sealed class HttpListenerOptions
{
    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    public int MaxHeaderBytes { get; set; } = 32 * 1024;

    public int MaxHeaderCount { get; set; } = 100;

    public long MaxBodyBytes { get; set; } = 10 * 1024 * 1024;

    public TimeSpan HeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>How long a request body may go without any bytes arriving.</summary>
    public TimeSpan BodyStallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Open connections at most; beyond this new ones wait in the backlog.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Value of the Server header; null for none.</summary>
    public string? ServerHeader { get; set; }
}
