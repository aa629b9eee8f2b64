namespace LeanProxy.Listener;

/// <summary>A driver for connection-oriented traffic (HTTP/1.1, raw TCP): one call per accepted connection.</summary>
public interface IStreamDriver
{
    /// <summary>Name used in logs and on the command line (e.g. "http", "tcp").</summary>
    string Name { get; }

    /// <summary>Runs the connection until it is done; the caller disposes the transport afterwards.</summary>
    Task RunAsync(StreamConnection connection, CancellationToken cancellationToken);
}
