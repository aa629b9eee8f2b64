using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using LeanProxy.Cdp.Protocol;

namespace LeanProxy.Cdp;

public sealed partial class CdpConnection
{
    private readonly ConcurrentDictionary<string, Subscribers> _events = new();
    private readonly ConcurrentDictionary<string, Subscribers>.AlternateLookup<ReadOnlySpan<char>> _eventLookup;
    private readonly Lock _subscribeLock = new();
    private readonly ConcurrentDictionary<string, CdpSession> _sessions = new();

    /// <summary>
    /// Subscribes to an event of one session (null: browser-level events; "*": that event on every session).
    /// The callback runs on the receive loop with the raw params: it must not block.
    /// </summary>
    public IDisposable Subscribe(string method, string? sessionId, CdpEventCallback callback)
    {
        var key = (sessionId ?? string.Empty) + "|" + method;
        lock (_subscribeLock)
        {
            var current = _events.TryGetValue(key, out var existing) ? existing.Callbacks : [];
            _events[key] = new Subscribers([.. current, callback]);
        }

        return new Subscription(this, key, callback);
    }

    /// <summary>Subscribes with a typed payload, deserialized once per event with source-generated metadata.</summary>
    public IDisposable Subscribe<T>(string method, string? sessionId, JsonTypeInfo<T> type, Action<T, string?> callback) =>
        Subscribe(method, sessionId, (json, session) => callback(JsonSerializer.Deserialize(json, type)!, session));

    private void Unsubscribe(string key, CdpEventCallback callback)
    {
        lock (_subscribeLock)
        {
            if (!_events.TryGetValue(key, out var existing))
            {
                return;
            }

            var remaining = existing.Callbacks.Where(c => c != callback).ToArray();
            if (remaining.Length == 0)
            {
                _events.TryRemove(key, out _);
            }
            else
            {
                _events[key] = new Subscribers(remaining);
            }
        }
    }

    /// <summary>Attaches to a target with a flat session; the session ends when the target crashes, detaches or the connection closes.</summary>
    public async Task<CdpSession> AttachAsync(string targetId, CancellationToken cancellationToken = default)
    {
        var result = await SendAsync(
            CdpMethods.TargetAttachToTarget,
            new AttachToTargetParams(targetId),
            CdpJsonContext.Default.AttachToTargetParams,
            CdpJsonContext.Default.AttachToTargetResult,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        var session = new CdpSession(this, result.SessionId, targetId);
        _sessions[result.SessionId] = session;
        if (IsClosed)
        {
            session.End(CdpCloseReason.Closed);
        }

        return session;
    }

    internal void Forget(CdpSession session) => _sessions.TryRemove(session.SessionId, out _);

    private bool TryGetSession(ReadOnlySpan<byte> sessionId, out CdpSession session)
    {
        Span<char> chars = stackalloc char[Math.Min(sessionId.Length, 128)];
        if (sessionId.Length > 128)
        {
            session = null!;
            return false;
        }

        var count = Encoding.UTF8.GetChars(sessionId, chars);
        return _sessions.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars[..count], out session!);
    }

    private sealed record Subscribers(CdpEventCallback[] Callbacks);

    private sealed class Subscription(CdpConnection connection, string key, CdpEventCallback callback) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                connection.Unsubscribe(key, callback);
            }
        }
    }
}
