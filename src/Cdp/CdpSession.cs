using System.Text.Json.Serialization.Metadata;

namespace LeanProxy.Cdp;

/// <summary>
/// A flat session attached to one target. <see cref="Ended"/> completes (with the reason) when the target crashes,
/// is destroyed or detached, or the connection closes; the session's pending commands fail at that moment.
/// </summary>
public sealed class CdpSession
{
    private readonly TaskCompletionSource<CdpCloseReason> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal CdpSession(CdpConnection connection, string sessionId, string targetId)
    {
        Connection = connection;
        SessionId = sessionId;
        TargetId = targetId;
    }

    public CdpConnection Connection { get; }

    public string SessionId { get; }

    public string TargetId { get; }

    /// <summary>Completes when the session can no longer be used, with the reason.</summary>
    public Task<CdpCloseReason> Ended => _ended.Task;

    public bool IsEnded => _ended.Task.IsCompleted;

    internal void End(CdpCloseReason reason)
    {
        if (_ended.TrySetResult(reason))
        {
            Connection.Forget(this);
        }
    }

    /// <remarks>The returned <see cref="ValueTask{TResult}"/> must be awaited exactly once (its call is pooled).</remarks>
    public ValueTask<TResult> SendAsync<TState,
        TResult>(string method, TState state, CdpParamsWriter<TState>? writeParams, CdpResultReader<TResult> readResult, CancellationToken cancellationToken) =>
        Connection.SendAsync(method, state, writeParams, readResult, SessionId, cancellationToken);

    public Task<TResult> SendAsync<TParams,
        TResult>(string method, TParams parameters, JsonTypeInfo<TParams> paramsType, JsonTypeInfo<TResult> resultType,
            CancellationToken cancellationToken = default) =>
        Connection.SendAsync(method, parameters, paramsType, resultType, SessionId, cancellationToken);

    public Task SendAsync<TParams>(string method, TParams parameters, JsonTypeInfo<TParams> paramsType, CancellationToken cancellationToken = default) =>
        Connection.SendAsync(method, parameters, paramsType, SessionId, cancellationToken);

    public Task SendAsync(string method, CancellationToken cancellationToken = default) =>
        Connection.SendAsync(method, SessionId, cancellationToken);

    public IDisposable Subscribe(string method, CdpEventCallback callback) => Connection.Subscribe(method, SessionId, callback);

    public IDisposable Subscribe<T>(string method, JsonTypeInfo<T> type, Action<T, string?> callback) =>
        Connection.Subscribe(method, SessionId, type, callback);
}
