namespace LeanProxy.Engine;

/// <summary>The negative codes in item[1] of the page's non-HTTP answers (see Runtime/runtime.js).</summary>
internal static class ResponseCodes
{
    public const int DatagramReply = -10;
    public const int TcpWrite = -20;
    public const int TcpAck = -21;
    public const int TcpShutdownWrite = -22;
    public const int TcpClose = -23;
    public const int TcpError = -24;
}
