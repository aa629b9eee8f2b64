using LeanProxy.Host.Bench;
using Prometheus;

namespace LeanProxy.Host.Ops;

/// <summary>
/// CPU and memory of the node's Chromium (the browser process and its descendants), read from /proc when scraped,
/// beside prometheus-net's own process_* series for the host.
/// </summary>
internal static class ChromiumMetrics
{
    private static readonly Gauge Cpu = Prometheus.Metrics.CreateGauge("leanproxy_chromium_cpu_seconds_total",
        "CPU time of Chromium's processes (browser, renderers, helpers) now running.");
    private static readonly Gauge Pss = Prometheus.Metrics.CreateGauge("leanproxy_chromium_pss_bytes", "Proportional set size of Chromium's processes.");
    private static readonly Gauge Processes = Prometheus.Metrics.CreateGauge("leanproxy_chromium_processes", "Chromium's processes now running.");
    private static readonly Gauge HostPss = Prometheus.Metrics.CreateGauge("leanproxy_host_pss_bytes", "Proportional set size of this process.");
    private static volatile INodeStatus? s_node;

    static ChromiumMetrics() => Prometheus.Metrics.DefaultRegistry.AddBeforeCollectCallback(Refresh);

    /// <summary>The node whose browser is measured (one per process).</summary>
    public static void Measure(INodeStatus node) => s_node = node;

    /// <summary>CPU seconds, PSS in MB and process count of the browser's tree now (zeros when unknown).</summary>
    public static (double CpuSeconds, double PssMb, int Processes) Read()
    {
        if (s_node?.BrowserProcessId is not { } pid || !OperatingSystem.IsLinux())
        {
            return (0, 0, 0);
        }

        var tree = ProcessStats.Tree(pid);
        return (tree.Sum(ProcessStats.CpuSeconds), tree.Sum(ProcessStats.PssMb), tree.Count(p => Directory.Exists($"/proc/{p}")));
    }

    private static void Refresh()
    {
        var (cpu, pss, count) = Read();
        Cpu.Set(cpu);
        Pss.Set(pss * 1024 * 1024);
        Processes.Set(count);
        if (OperatingSystem.IsLinux())
        {
            HostPss.Set(ProcessStats.PssMb(Environment.ProcessId) * 1024 * 1024);
        }
    }
}
