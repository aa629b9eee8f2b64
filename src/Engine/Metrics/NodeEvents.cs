namespace LeanProxy.Engine.Metrics;

/// <summary>One thing that happened on the node, for the status page.</summary>
public sealed record NodeEvent(DateTimeOffset At, string Kind, string App, string Text);

/// <summary>The node's last events (app starts, tab crashes, browser relaunches, deploys, rollbacks): a bounded ring.</summary>
public static class NodeEvents
{
    private const int Capacity = 50;
    private static readonly Queue<NodeEvent> Events = new();

    public static void Add(string kind, string app, string text)
    {
        lock (Events)
        {
            Events.Enqueue(new NodeEvent(DateTimeOffset.UtcNow, kind, app, text));
            while (Events.Count > Capacity)
            {
                Events.Dequeue();
            }
        }
    }

    /// <summary>The newest first.</summary>
    public static IReadOnlyList<NodeEvent> Recent()
    {
        lock (Events)
        {
            return [.. Events.Reverse()];
        }
    }
}
