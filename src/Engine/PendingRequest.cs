using LeanProxy.Listener;

namespace LeanProxy.Engine;

/// <summary>One request on its way through the engine; completed exactly once (response, 504, 502 or 503).</summary>
internal sealed class PendingRequest(int id, ProxyRequest request, long deadline)
{
    // Continuations run synchronously: the one waiting is the HTTP connection, which writes the response and goes
    // back to reading its socket (non-blocking work). Saves a thread-pool hop on every request.
    private readonly TaskCompletionSource<ProxyResponse> _completion = new();
    private int _completed;

    public int Id { get; } = id;

    public ProxyRequest Request { get; } = request;

    /// <summary>Environment.TickCount64 after which the client gets 504.</summary>
    public long Deadline { get; } = deadline;

    /// <summary>How many times the request was sent to a tab (a crashed tab's idempotent requests are retried once).</summary>
    public int Attempts { get; set; }

    public Task<ProxyResponse> Task => _completion.Task;

    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    public bool TryComplete(ProxyResponse response)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        _completion.SetResult(response);
        return true;
    }
}
