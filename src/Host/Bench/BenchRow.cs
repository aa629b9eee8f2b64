namespace LeanProxy.Host.Bench;

/// <summary>One measurement: a tab count and a connection count.</summary>
internal sealed record BenchRow(
    int Tabs,
    int Connections,
    long Requests,
    long Errors,
    double RequestsPerSecond,
    double RequestsPerSecondPerTab,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double HostCpuMicrosecondsPerRequest,
    double ChromiumCpuMicrosecondsPerRequest,
    double HostPssMb,
    double ChromiumPssMb,
    LeanProxy.Engine.Metrics.TimelineSummary? Timeline = null);

/// <summary>The whole run, as <c>--json</c> prints it.</summary>
internal sealed record BenchReport(string App, string Path, double DurationSeconds, IReadOnlyList<BenchRow> Rows);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true,
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(BenchReport))]
[System.Text.Json.Serialization.JsonSerializable(typeof(AppsBenchReport))]
internal sealed partial class BenchJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
