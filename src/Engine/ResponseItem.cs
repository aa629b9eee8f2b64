using LeanProxy.Listener;

namespace LeanProxy.Engine;

/// <summary>What one item from the page says about a request (see Runtime/runtime.js for the wire format).</summary>
internal enum ResponseItemKind : byte
{
    /// <summary>A whole response.</summary>
    Response,

    /// <summary>The head of a streamed response; its body follows in <see cref="Chunk"/> items.</summary>
    StreamStart,

    /// <summary>A piece of a streamed body.</summary>
    Chunk,

    /// <summary>The end of a streamed body.</summary>
    StreamEnd,

    /// <summary>The streamed body failed midway.</summary>
    StreamFailed,

    /// <summary>The handler threw, rejected or returned something that is not a Response (or, for a datagram, not a reply).</summary>
    Failed,

    /// <summary>A datagram's reply (<see cref="ResponseItem.Data"/>, possibly empty).</summary>
    DatagramReply,

    /// <summary>A datagram's handler returned nothing: no reply.</summary>
    DatagramNoReply,

    /// <summary>Bytes the connection's handler wrote.</summary>
    TcpWrite,

    /// <summary>The page took <see cref="ResponseItem.Count"/> bytes off the connection's readable: credit for more.</summary>
    TcpAck,

    /// <summary>The handler closed the writable: shut down the socket's send side once the writes before are out.</summary>
    TcpShutdownWrite,

    /// <summary>The connection is done (socket.close(), or both directions finished): close it once the writes are out.</summary>
    TcpClose,

    /// <summary>The connection's handler threw or rejected: log it and close the connection.</summary>
    TcpError,
}

/// <summary>One finished (or streaming) request, a datagram's reply, or a connection message from the page.</summary>
internal readonly record struct ResponseItem(
    int Id,
    ResponseItemKind Kind,
    ProxyResponse? Response = null,
    ReadOnlyMemory<byte> Data = default,
    string? ErrorKind = null,
    string? ErrorMessage = null,
    string? ErrorStack = null,
    long Count = 0);

/// <summary>What came back from one batch call: finished items, or the page-side exception that killed the call.</summary>
internal sealed class BatchResult
{
    public List<ResponseItem> Items { get; } = [];

    public string? Exception { get; set; }
}
