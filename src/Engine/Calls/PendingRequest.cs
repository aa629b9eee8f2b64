using System.Text.Json;
using LeanProxy.Engine.Metrics;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Calls;

/// <summary>One request on its way through the engine; completed exactly once (response, 504, 502 or 503).</summary>
internal sealed class PendingRequest(int id, ProxyRequest request, long deadline, AppStats? stats = null) : PendingCall(id, deadline)
{
    private readonly long _started = stats is null && !RequestTimeline.Enabled ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();

    // Continuations run synchronously: the one waiting is the HTTP connection, which writes the response and goes
    // back to reading its socket (non-blocking work). Saves a thread-pool hop on every request.
    private readonly TaskCompletionSource<ProxyResponse> _completion = new();

    public ProxyRequest Request { get; } = request;

    public Task<ProxyResponse> Task => _completion.Task;

    public override int PayloadLength => Request.Body.Length;

    /// <summary>When its batch was written to the pipe (<see cref="RequestTimeline"/>; 0 when the timeline is off).</summary>
    public long WrittenAt { get; set; }

    /// <summary>A crashed tab's requests are retried once when they never ran or are idempotent and safe.</summary>
    public override bool MayRetry => Attempts == 0 || (Attempts == 1 && HttpMethods.IsIdempotentSafe(Request.KnownMethod));

    public override void Write(Utf8JsonWriter writer) => HostMessageWriter.WriteRequest(writer, Id, Request);

    public bool TryComplete(ProxyResponse response)
    {
        if (!TryMarkCompleted())
        {
            return false;
        }

        if (stats is not null)
        {
            stats.Http(response.StatusCode, _started);
            if (stats.IsTailed)
            {
                var target = Request.TargetString;
                var query = target.IndexOf('?');
                stats.Publish(new TailLine(DateTimeOffset.UtcNow, stats.App, "request", TabIndex, string.Empty, Request.Method,
                    query >= 0 ? target[..query] : target,
                    response.StatusCode, System.Diagnostics.Stopwatch.GetElapsedTime(_started).TotalMilliseconds));
            }
        }

        if (RequestTimeline.Enabled)
        {
            var completed = System.Diagnostics.Stopwatch.GetTimestamp();
            _completion.SetResult(response); // the connection writes the response in its continuation, here
            RequestTimeline.Record(_started, WrittenAt, RequestTimeline.ReplyReadAt, completed, System.Diagnostics.Stopwatch.GetTimestamp());
            return true;
        }

        _completion.SetResult(response);
        return true;
    }

    public override bool TryFail(int status, string message) => TryComplete(ProxyResponse.Text(status, message));
}
