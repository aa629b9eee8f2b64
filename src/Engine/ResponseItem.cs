using LeanProxy.Listener;

namespace LeanProxy.Engine;

/// <summary>One finished request from the page: a response, or the reason the handler failed.</summary>
internal readonly record struct ResponseItem(int Id, ProxyResponse? Response, string? ErrorKind, string? ErrorMessage, string? ErrorStack);

/// <summary>What came back from one batch call: finished items, or the page-side exception that killed the call.</summary>
internal sealed class BatchResult
{
    public List<ResponseItem> Items { get; } = [];

    public string? Exception { get; set; }
}
