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

    /// <summary>The handler threw, rejected or returned something that is not a Response.</summary>
    Failed,
}

/// <summary>One finished (or streaming) request from the page.</summary>
internal readonly record struct ResponseItem(
    int Id,
    ResponseItemKind Kind,
    ProxyResponse? Response = null,
    ReadOnlyMemory<byte> Data = default,
    string? ErrorKind = null,
    string? ErrorMessage = null,
    string? ErrorStack = null);

/// <summary>What came back from one batch call: finished items, or the page-side exception that killed the call.</summary>
internal sealed class BatchResult
{
    public List<ResponseItem> Items { get; } = [];

    public string? Exception { get; set; }
}
