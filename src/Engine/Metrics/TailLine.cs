namespace LeanProxy.Engine.Metrics;

/// <summary>
/// One line of an app's live log (<c>leanproxy tail</c>): a request (method, path, status, duration, tab), its
/// console output, or an error (uncaught, or a handler's failure).
/// </summary>
public sealed record TailLine(DateTimeOffset At, string App, string Kind, int Tab, string Text, string? Method = null, string? Path = null, int Status = 0,
    double Milliseconds = 0)
{
    /// <summary>The node that produced it.</summary>
    public string Node { get; init; } = NodeIdentity.Name;
}
