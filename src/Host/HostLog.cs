using Microsoft.Extensions.Logging;

namespace LeanProxy.Host;

internal static partial class HostLog
{
    [LoggerMessage(300, LogLevel.Information, "Stopping ({Signal}): draining requests in flight")]
    public static partial void Stopping(ILogger logger, string signal);

    [LoggerMessage(301, LogLevel.Information, "Stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(303, LogLevel.Information, "KV bindings {Bindings}: values in {Store}")]
    public static partial void KvStore(ILogger logger, string bindings, string store);

    [LoggerMessage(302, LogLevel.Critical, "Cannot serve any more: {Reason}; exiting")]
    public static partial void BrowserLost(ILogger logger, string reason);
}
