namespace LeanProxy.Cdp.Transport;

/// <summary>
/// Moves whole CDP messages (UTF-8 JSON) to and from a browser. One writer at a time; messages are never
/// fragmented on the wire (Chrome rejects fragmented WebSocket messages; the pipe uses NUL terminators).
/// </summary>
public interface ICdpTransport : IAsyncDisposable
{
    /// <summary>Sends one message. Safe to call concurrently: the transport serializes writers.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken);

    /// <summary>
    /// Reads messages until the browser closes the transport (returns normally) or it fails (throws).
    /// <paramref name="onMessage"/> is called once per whole message, on the receiving thread; the span is only
    /// valid during the call and the callback must not block.
    /// </summary>
    Task ReceiveLoopAsync(CdpMessageHandler onMessage, CancellationToken cancellationToken);
}

/// <summary>Receives one whole message; the span is only valid during the call.</summary>
public delegate void CdpMessageHandler(ReadOnlySpan<byte> message);
