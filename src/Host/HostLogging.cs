using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace LeanProxy.Host;

/// <summary>Console logging to stderr (stdout carries only the "listening" lines).</summary>
internal static class HostLogging
{
    public static ILoggerFactory Create(LogLevel level, bool json = false) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(level);
        if (json)
        {
            // One JSON object per line: the message's own fields (app, tab, request id…) under "State", the app's
            // version in "Scopes".
            builder.AddJsonConsole(options =>
            {
                options.IncludeScopes = true;
                options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                options.UseUtcTimestamp = true;
                options.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
            builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
            return;
        }

        builder.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "HH:mm:ss.fff ";
            options.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
    });
}
