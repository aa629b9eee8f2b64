namespace LeanProxy.Cdp;

/// <summary>The connection (or the session a command was sent on) went away before the reply came.</summary>
public sealed class CdpClosedException : Exception
{
    public CdpClosedException(CdpCloseReason reason, string message, Exception? inner = null)
        : base(message, inner)
    {
        Reason = reason;
    }

    public CdpCloseReason Reason { get; }
}

/// <summary>Why pending commands were failed without a reply.</summary>
public enum CdpCloseReason
{
    /// <summary>The connection was closed by us.</summary>
    Closed,

    /// <summary>The browser closed the transport (it exited or crashed).</summary>
    BrowserGone,

    /// <summary>The transport failed with an error.</summary>
    TransportError,

    /// <summary>The target of the session crashed or was killed; Chromium never answers its pending commands.</summary>
    TargetCrashed,

    /// <summary>The session was detached or its target destroyed.</summary>
    SessionDetached,
}
