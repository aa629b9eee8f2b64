using CommandLine;

namespace LeanProxy.Host.Bench;

/// <summary>Options of <c>leanproxy bench</c>.</summary>
[Verb("bench", HelpText = "Measure an app's throughput per tab: requests/s, latency, CPU and memory, for each tab count.")]
internal sealed class BenchOptions
{
    [Value(0, MetaName = "APP", Required = true, HelpText = "Entry module file, or a folder whose index.js/index.mjs is the entry.")]
    public string App { get; set; } = string.Empty;

    [Option("tabs", HelpText = "Tab counts to measure, comma-separated (default 1,2).")]
    public string? Tabs { get; set; }

    [Option("connections", HelpText = "Connection counts to measure, comma-separated (default 1,64).")]
    public string? Connections { get; set; }

    [Option("duration", HelpText = "How long each measurement runs, e.g. 10s or 500ms (default 10s).")]
    public string? Duration { get; set; }

    [Option("path", HelpText = "The request path (default /).")]
    public string? Path { get; set; }

    [Option("chrome", HelpText = "Chromium binary (default: $CHROME_PATH, then chromium/google-chrome on PATH).")]
    public string? Chrome { get; set; }

    [Option("protocol",
        HelpText = "http (GET --path), tcp (connect: send --message, read as many bytes back) or udp (datagram: send --message, await the reply). Default " +
            "http.")]
    public string? Protocol { get; set; }

    [Option("message", HelpText = "The request-reply message for tcp and udp (default \"ping\\n\").")]
    public string? Message { get; set; }

    [Option("apps",
        HelpText = "Measure a node instead: deploy APP N times (a temporary SQLite store) and report cold starts, N apps round-robin within --max-tabs, " +
            "memory per warm app, and one hot app beside 50 idle ones.")]
    public int? Apps { get; set; }

    [Option("max-tabs", HelpText = "With --apps: the node's tab budget for the round-robin (default 8).")]
    public int? MaxTabs { get; set; }

    [Option("timeline",
        HelpText = "With --protocol http: also report where a request's time goes in the host (medians per stage: engine in → written to Chromium's pipe → " +
            "reply read → completed → response written).")]
    public bool Timeline { get; set; }

    [Option("json", HelpText = "Print one JSON document on stdout instead of the table.")]
    public bool Json { get; set; }
}
