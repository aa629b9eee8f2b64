using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine;

/// <summary>Logs of the raw drivers: TCP connections and UDP datagrams.</summary>
internal static partial class EngineLog
{
    [LoggerMessage(230, LogLevel.Error, "App {App}: connection {ConnectionId} from {Remote}: connect() failed: {Message}\n{Stack}")]
    public static partial void ConnectionHandlerThrew(ILogger logger, string app, int connectionId, string remote, string message, string stack);

    [LoggerMessage(231, LogLevel.Debug, "App {App}: connection {ConnectionId} from {Remote} aborted: {Reason}")]
    public static partial void ConnectionAborted(ILogger logger, string app, int connectionId, string remote, string reason);

    [LoggerMessage(232, LogLevel.Warning, "App {App}: no live tab for connection {ConnectionId} from {Remote} within {Seconds} s; closing it")]
    public static partial void NoTabForConnection(ILogger logger, string app, int connectionId, string remote, double seconds);

    [LoggerMessage(233, LogLevel.Error, "App {App}: datagram {DatagramId} from {Remote} failed in the handler: {Message}\n{Stack}")]
    public static partial void DatagramHandlerThrew(ILogger logger, string app, int datagramId, string remote, string message, string stack);

    [LoggerMessage(234, LogLevel.Error, "App {App}: datagram {DatagramId} from {Remote}: {Message}")]
    public static partial void DatagramBadReturn(ILogger logger, string app, int datagramId, string remote, string message);

    [LoggerMessage(235, LogLevel.Warning, "App {App}: datagram {DatagramId} from {Remote} timed out after {Seconds} s; no reply")]
    public static partial void DatagramTimedOut(ILogger logger, string app, int datagramId, string remote, double seconds);

    [LoggerMessage(236, LogLevel.Debug, "App {App}: connection {ConnectionId} from {Remote} opened on tab {Tab}")]
    public static partial void ConnectionOpened(ILogger logger, string app, int connectionId, string remote, int tab);

    [LoggerMessage(237, LogLevel.Debug, "App {App}: connection {ConnectionId} from {Remote} closed")]
    public static partial void ConnectionClosed(ILogger logger, string app, int connectionId, string remote);
}
