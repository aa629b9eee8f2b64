using System.Text;
using System.Text.Json;
using LeanProxy.Cdp.Protocol;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Cdp;

public sealed partial class CdpConnection
{
    /// <summary>Scans one frame once for its envelope and routes it: a reply to its pending command, an event to its subscribers.</summary>
    internal void OnMessage(ReadOnlySpan<byte> frame)
    {
        _received++; // only the reader calls this
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            CdpLog.Received(_logger, Encoding.UTF8.GetString(frame));
        }

        CdpEnvelope envelope;
        try
        {
            if (!CdpEnvelope.TryScan(frame, out envelope))
            {
                return;
            }
        }
        catch (JsonException ex)
        {
            CdpLog.BadFrame(_logger, ex);
            return;
        }

        if (envelope.Id >= 0)
        {
            if (!_pending.TryRemove(envelope.Id, out var call))
            {
                CdpLog.UnknownId(_logger, envelope.Id);
                return;
            }

            if (envelope.HasError)
            {
                call.Fail(new CdpException(call.Method, envelope.ErrorCode, envelope.ErrorMessage(frame)));
            }
            else
            {
                call.Complete(envelope.Result(frame));
            }

            return;
        }

        if (envelope.MethodLength > 0)
        {
            DispatchEvent(frame, envelope);
        }
    }

    private void DispatchEvent(ReadOnlySpan<byte> frame, in CdpEnvelope envelope)
    {
        var method = frame.Slice(envelope.MethodStart, envelope.MethodLength);
        var session = envelope.SessionLength > 0 ? frame.Slice(envelope.SessionStart, envelope.SessionLength) : default;
        var parameters = envelope.Params(frame);

        // Failures of a target are handled here, before anyone else sees them: its pending commands will never be answered.
        HandleTargetFailure(method, session, parameters);

        string? sessionId = null;
        if (!session.IsEmpty)
        {
            sessionId = TryGetSession(session, out var known) ? known.SessionId : Encoding.UTF8.GetString(session);
        }

        Invoke(session, method, parameters, sessionId);
        if (!session.IsEmpty)
        {
            Invoke("*"u8, method, parameters, sessionId);
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031",
        Justification = "A failing subscriber is logged and must not stop the others or the receive loop.")]
    private void Invoke(ReadOnlySpan<byte> session, ReadOnlySpan<byte> method, ReadOnlySpan<byte> parameters, string? sessionId)
    {
        // The guard comes before the stack allocation: a frame's method and session are the peer's to choose.
        var length = session.Length + 1 + method.Length;
        if (length > 512)
        {
            return;
        }

        Span<char> key = stackalloc char[length];

        var written = Encoding.UTF8.GetChars(session, key);
        key[written++] = '|';
        written += Encoding.UTF8.GetChars(method, key[written..]);
        if (!_eventLookup.TryGetValue(key[..written], out var subscribers))
        {
            return;
        }

        foreach (var subscriber in subscribers.Callbacks)
        {
            try
            {
                subscriber(parameters, sessionId);
            }
            catch (Exception ex)
            {
                CdpLog.HandlerFailed(_logger, Encoding.UTF8.GetString(method), ex);
            }
        }
    }

    private void HandleTargetFailure(ReadOnlySpan<byte> method, ReadOnlySpan<byte> session, ReadOnlySpan<byte> parameters)
    {
        if (Ascii.Equals(method, CdpEvents.InspectorTargetCrashed) && !session.IsEmpty)
        {
            if (TryGetSession(session, out var crashed))
            {
                crashed.End(CdpCloseReason.TargetCrashed);
            }

            FailSession(Encoding.UTF8.GetString(session), CdpCloseReason.TargetCrashed, "the target crashed");
        }
        else if (Ascii.Equals(method, CdpEvents.TargetTargetCrashed) || Ascii.Equals(method, CdpEvents.TargetTargetDestroyed))
        {
            var targetId = ReadStringMember(parameters, "targetId"u8);
            foreach (var candidate in _sessions.Values)
            {
                if (candidate.TargetId == targetId)
                {
                    var reason = Ascii.Equals(method, CdpEvents.TargetTargetCrashed) ? CdpCloseReason.TargetCrashed : CdpCloseReason.SessionDetached;
                    candidate.End(reason);
                    FailSession(candidate.SessionId, reason, reason == CdpCloseReason.TargetCrashed ? "the target crashed" : "the target was destroyed");
                }
            }
        }
        else if (Ascii.Equals(method, CdpEvents.TargetDetachedFromTarget))
        {
            var detached = ReadStringMember(parameters, "sessionId"u8);
            if (detached is not null)
            {
                if (_sessions.TryGetValue(detached, out var ended))
                {
                    ended.End(CdpCloseReason.SessionDetached);
                }

                FailSession(detached, CdpCloseReason.SessionDetached, "the session was detached");
            }
        }
    }

    private static string? ReadStringMember(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name)
    {
        if (json.IsEmpty)
        {
            return null;
        }

        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(name);
            reader.Read();
            if (match && reader.TokenType == JsonTokenType.String)
            {
                return reader.GetString();
            }

            reader.Skip();
        }

        return null;
    }
}
