using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace LeanProxy.Host;

/// <summary>Console logging to stderr (stdout carries only the "listening" lines).</summary>
internal static class HostLogging
{
    public static ILoggerFactory Create(LogLevel level) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(level);
        builder.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "HH:mm:ss.fff ";
            options.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
    });
}
