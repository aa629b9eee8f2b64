namespace LeanProxy.Cdp.Launch;

/// <summary>The last lines a process wrote to stderr, for error messages when it exits early.</summary>
public sealed class OutputTail(int capacity = 30)
{
    private readonly Queue<string> _lines = new();
    private readonly Lock _lock = new();

    public void Add(string line)
    {
        lock (_lock)
        {
            if (_lines.Count == capacity)
            {
                _lines.Dequeue();
            }

            _lines.Enqueue(line);
        }
    }

    /// <summary>A copy of the lines kept, oldest first.</summary>
    public string[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _lines];
        }
    }

    /// <summary>" Its last output:\n…" or empty.</summary>
    public string Describe()
    {
        var lines = Snapshot();
        return lines.Length == 0 ? string.Empty : " Its last output:\n  " + string.Join("\n  ", lines);
    }
}
