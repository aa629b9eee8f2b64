using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace LeanProxy.Cdp;

/// <summary>A command waiting for its reply: registered before the command is sent, removed exactly once.</summary>
/// <remarks>
/// Whoever removes the call from the connection's pending table (the reply, a cancellation, the close) completes it,
/// so it is completed exactly once. Calls are pooled: one is reused after its awaiter has taken the result, so the
/// send path allocates no call, no TaskCompletionSource and no Task.
/// </remarks>
internal abstract class PendingCall
{
    public int Id { get; protected set; }

    public string Method { get; protected set; } = string.Empty;

    public string? SessionId { get; protected set; }

    public CancellationTokenRegistration Registration { get; set; }

    public abstract void Complete(ReadOnlySpan<byte> resultJson);

    public abstract void Fail(Exception exception);

    public abstract void Cancel(CancellationToken token);
}

internal sealed class PendingCall<TResult> : PendingCall, IValueTaskSource<TResult>
{
    private const int MaxPooled = 256;
    private static readonly ConcurrentQueue<PendingCall<TResult>> Pool = new();
    private static int _pooled;

    private ManualResetValueTaskSourceCore<TResult> _core = new() { RunContinuationsAsynchronously = true };
    private CdpResultReader<TResult>? _reader;

    private PendingCall()
    {
    }

    public static PendingCall<TResult> Rent(int id, string method, string? sessionId, CdpResultReader<TResult> reader)
    {
        if (Pool.TryDequeue(out var call))
        {
            Interlocked.Decrement(ref _pooled);
        }
        else
        {
            call = new PendingCall<TResult>();
        }

        call.Id = id;
        call.Method = method;
        call.SessionId = sessionId;
        call._reader = reader;
        return call;
    }

    /// <summary>The awaitable for this use of the call; await it once.</summary>
    public ValueTask<TResult> Task => new(this, _core.Version);

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031", Justification = "A result reader's failure, whatever it is, becomes the call's.")]
    public override void Complete(ReadOnlySpan<byte> resultJson)
    {
        Registration.Dispose();
        TResult value;
        try
        {
            value = _reader!(resultJson);
        }
        catch (Exception ex)
        {
            _core.SetException(ex);
            return;
        }

        _core.SetResult(value);
    }

    public override void Fail(Exception exception)
    {
        Registration.Dispose();
        _core.SetException(exception);
    }

    public override void Cancel(CancellationToken token) => _core.SetException(new OperationCanceledException(token));

    public TResult GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Recycle();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void Recycle()
    {
        _core.Reset();
        _reader = null;
        Method = string.Empty;
        SessionId = null;
        Registration = default;
        if (Interlocked.Increment(ref _pooled) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref _pooled);
        }
    }
}
