namespace LeanProxy.Listener.WebSockets;

/// <summary>The peer broke RFC 6455: the session closes with <see cref="CloseStatus"/> and this message as its reason.</summary>
public sealed class WebSocketProtocolException(int closeStatus, string message) : Exception(message)
{
    /// <summary>The code the session is closed with (1002, 1007 or 1009).</summary>
    public int CloseStatus { get; } = closeStatus;
}
