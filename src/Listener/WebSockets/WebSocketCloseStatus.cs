namespace LeanProxy.Listener.WebSockets;

/// <summary>The close codes of RFC 6455 §7.4.1 that this implementation sends or checks.</summary>
public static class WebSocketCloseStatus
{
    public const int Normal = 1000;
    public const int GoingAway = 1001;
    public const int ProtocolError = 1002;
    public const int UnsupportedData = 1003;

    /// <summary>Reported when the peer's close frame had no code (never sent).</summary>
    public const int NoStatus = 1005;

    /// <summary>Reported when the connection ended without a close frame (never sent).</summary>
    public const int Abnormal = 1006;

    public const int InvalidPayload = 1007;
    public const int PolicyViolation = 1008;
    public const int MessageTooBig = 1009;
    public const int InternalError = 1011;

    /// <summary>Whether a peer may send this code in a close frame (RFC 6455 §7.4: 1000–1003, 1007–1011, 3000–4999).</summary>
    public static bool IsValidOnTheWire(int code) => code is (>= 1000 and <= 1003) or (>= 1007 and <= 1011) or (>= 3000 and <= 4999);
}
