namespace LeanProxy.Cdp;

/// <summary>A command waiting for its reply: registered before the command is sent, removed exactly once.</summary>
internal abstract class PendingCall(int id, string method, string? sessionId)
{
    public int Id { get; } = id;

    public string Method { get; } = method;

    public string? SessionId { get; } = sessionId;

    public CancellationTokenRegistration Registration { get; set; }

    public abstract void Complete(ReadOnlySpan<byte> resultJson);

    public abstract void Fail(Exception exception);

    public abstract void Cancel(CancellationToken token);
}

internal sealed class PendingCall<TResult>(int id, string method, string? sessionId, CdpResultReader<TResult> reader)
    : PendingCall(id, method, sessionId)
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TResult> Task => _completion.Task;

    public override void Complete(ReadOnlySpan<byte> resultJson)
    {
        Registration.Dispose();
        TResult value;
        try
        {
            value = reader(resultJson);
        }
        catch (Exception ex)
        {
            _completion.TrySetException(ex);
            return;
        }

        _completion.TrySetResult(value);
    }

    public override void Fail(Exception exception)
    {
        Registration.Dispose();
        _completion.TrySetException(exception);
    }

    public override void Cancel(CancellationToken token) => _completion.TrySetCanceled(token);
}
