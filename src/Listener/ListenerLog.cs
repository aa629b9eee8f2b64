using Microsoft.Extensions.Logging;

namespace LeanProxy.Listener;

internal static partial class ListenerLog
{
    [LoggerMessage(1, LogLevel.Debug, "Connection {ConnectionId}: bad request ({Status}): {Reason}")]
    public static partial void BadRequest(ILogger logger, long connectionId, int status, string reason);

    [LoggerMessage(2, LogLevel.Debug, "Connection {ConnectionId}: {Kind} timeout")]
    public static partial void Timeout(ILogger logger, long connectionId, TimeoutKind kind);

    [LoggerMessage(3, LogLevel.Error, "Connection {ConnectionId}: the request handler failed")]
    public static partial void HandlerFailed(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(4, LogLevel.Debug, "Connection {ConnectionId}: closed by an I/O error")]
    public static partial void ConnectionIoError(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(5, LogLevel.Error, "Listener {EndPoint}: accept failed")]
    public static partial void AcceptFailed(ILogger logger, string endPoint, Exception exception);

    [LoggerMessage(6, LogLevel.Error, "Connection {ConnectionId}: driver {Driver} failed")]
    public static partial void DriverFailed(ILogger logger, long connectionId, string driver, Exception exception);

    [LoggerMessage(7, LogLevel.Debug, "Connection {ConnectionId}: client closed in the middle of a request")]
    public static partial void IncompleteRequest(ILogger logger, long connectionId);

    [LoggerMessage(8, LogLevel.Warning, "Streaming response body failed on connection {ConnectionId}")]
    public static partial void StreamingBodyFailed(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(9, LogLevel.Warning,
        "UDP {EndPoint}: dropped {Count} datagram(s) since the last report ({MaxInFlight} were being handled; {Total} dropped in all)")]
    public static partial void DatagramsDropped(ILogger logger, string endPoint, long count, int maxInFlight, long total);

    [LoggerMessage(10, LogLevel.Debug, "UDP {EndPoint}: receive failed")]
    public static partial void DatagramReceiveFailed(ILogger logger, string endPoint, Exception exception);

    [LoggerMessage(11, LogLevel.Debug, "UDP {EndPoint}: the reply to {Remote} could not be sent")]
    public static partial void DatagramReplyFailed(ILogger logger, string endPoint, string remote, Exception exception);

    [LoggerMessage(12, LogLevel.Error, "UDP {EndPoint}: driver {Driver} failed")]
    public static partial void DatagramDriverFailed(ILogger logger, string endPoint, string driver, Exception exception);

    [LoggerMessage(13, LogLevel.Error, "Background work failed: {What}")]
    public static partial void BackgroundFailed(ILogger logger, string what, Exception exception);

    [LoggerMessage(14, LogLevel.Error, "Connection {ConnectionId}: the upgraded session failed")]
    public static partial void UpgradeFailed(ILogger logger, long connectionId, Exception exception);
}
