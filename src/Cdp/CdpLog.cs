using Microsoft.Extensions.Logging;

namespace LeanProxy.Cdp;

internal static partial class CdpLog
{
    [LoggerMessage(100, LogLevel.Trace, "CDP ⇒ {Frame}")]
    public static partial void Sent(ILogger logger, string frame);

    [LoggerMessage(101, LogLevel.Trace, "CDP ⇐ {Frame}")]
    public static partial void Received(ILogger logger, string frame);

    [LoggerMessage(102, LogLevel.Debug, "CDP reply for unknown id {Id} (cancelled or timed out)")]
    public static partial void UnknownId(ILogger logger, int id);

    [LoggerMessage(103, LogLevel.Warning, "CDP frame could not be parsed; dropped")]
    public static partial void BadFrame(ILogger logger, Exception exception);

    [LoggerMessage(104, LogLevel.Error, "CDP event handler for {Method} threw")]
    public static partial void HandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(105, LogLevel.Information, "CDP connection closed: {Reason}")]
    public static partial void Closed(ILogger logger, CdpCloseReason reason);

    [LoggerMessage(110, LogLevel.Warning, "Running as root: Chromium's sandbox is off (--no-sandbox)")]
    public static partial void NoSandbox(ILogger logger);

    [LoggerMessage(111, LogLevel.Debug, "Launching {Path} {Arguments}")]
    public static partial void Launching(ILogger logger, string path, string arguments);

    [LoggerMessage(112, LogLevel.Debug, "chromium: {Line}")]
    public static partial void ChromeOutput(ILogger logger, string line);

    [LoggerMessage(113, LogLevel.Information, "Chromium {Version} started (pid {Pid}, {Executable}) in {Milliseconds} ms")]
    public static partial void Started(ILogger logger, string version, int pid, string executable, long milliseconds);

    [LoggerMessage(114, LogLevel.Warning, "Could not delete the temporary profile {Path}")]
    public static partial void ProfileNotDeleted(ILogger logger, string path, Exception exception);
}
