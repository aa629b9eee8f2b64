namespace LeanProxy.Listener.WebSockets;

/// <summary>What <see cref="WebSocketConnection.ReceiveAsync"/> read: a whole message, or the end of the session.</summary>
public enum WebSocketMessageType
{
    /// <summary>A text message (its UTF-8 was checked).</summary>
    Text = 1,

    /// <summary>A binary message.</summary>
    Binary = 2,

    /// <summary>The session is over (a close frame, the connection gone, or a protocol error): see <see cref="WebSocketConnection.CloseStatus"/>.</summary>
    Close = 8,
}
