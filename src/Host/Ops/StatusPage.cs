using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using LeanProxy.Engine.Metrics;

namespace LeanProxy.Host.Ops;

/// <summary>
/// The admin listener's <c>/</c>: the node, its store and readiness, each app with its version, tabs, requests/s,
/// p50/p99 and errors over the last minute, and recent events. Plain HTML with a little CSS, no script and no external
/// URL; it reloads itself every 5 s.
/// </summary>
internal static class StatusPage
{
    private const string Style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;background:#fafafa}
        h1{font-size:20px;margin:0 0 .2em}h2{font-size:16px;margin:1.5em 0 .4em}
        table{border-collapse:collapse;background:#fff;min-width:40em}
        th,td{border:1px solid #ddd;padding:.3em .7em;text-align:right}th{background:#f0f0f0}
        td:first-child,th:first-child,#events td{text-align:left}.ok{color:#14753a}.bad{color:#b3261e;font-weight:600}
        .muted{color:#777}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{color:#555}dd{margin:0}
        """;

    public static string Render(INodeStatus node)
    {
        var notReady = node.NotReady();
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">")
            .Append("<title>LeanProxy — ").Append(E(NodeIdentity.Name)).Append("</title><style>").Append(Style).Append("</style></head><body>");
        html.Append("<h1>LeanProxy ").Append(node.Mode == "node" ? "node " : "app server ").Append(E(NodeIdentity.Name)).Append("</h1><dl>");
        Row(html, "ready",
            notReady.Count == 0 ? "<span class=\"ok\" id=\"ready\">ready</span>" : "<span class=\"bad\" id=\"ready\">not ready: " + E(string.Join("; ",
                notReady)) + "</span>");
        Row(html, "store", node.Store is null ? "<span class=\"muted\">none</span>" : E(node.Store));
        using var self = Process.GetCurrentProcess();
        Row(html, "up", E(Uptime(DateTime.Now - self.StartTime)));
        var (cpu, pss, processes) = ChromiumMetrics.Read();
        Row(html, "host",
            E(string.Create(CultureInfo.InvariantCulture, $"{self.TotalProcessorTime.TotalSeconds:0.0} s CPU, {self.WorkingSet64 / 1048576.0:0} MB resident")));
        Row(html, "chromium", processes == 0
            ? "<span class=\"muted\">not measured (attached browser)</span>"
            : E(string.Create(CultureInfo.InvariantCulture, $"{processes} processes, {cpu:0.0} s CPU, {pss:0} MB PSS")));
        html.Append("</dl>");

        html.Append("<h2>Apps</h2><table id=\"apps\"><tr><th>app</th><th>version</th><th>tabs</th><th>queue</th><th>req/s</th><th>p50 ms</th><th>p99 " +
            "ms</th><th>5xx</th></tr>");
        var running = EngineMetrics.Running;
        var apps = node.Apps();
        foreach (var app in apps)
        {
            var hosts = running.Where(h => h.Name == app.Name).Select(h => h.Snapshot()).OfType<Engine.Apps.TabSnapshot>().ToList();
            var (perSecond, errors, p50, p99, count) = AppStats.For(app.Name).Recent.Summary();
            html.Append("<tr><td>").Append(E(app.Name)).Append("</td><td>").Append(E(app.Version)).Append("</td><td>");
            html.Append(hosts.Count == 0 ? "<span class=\"muted\">not started</span>" : E(Tabs(hosts)));
            html.Append("</td><td>").Append(hosts.Sum(h => h.Outstanding).ToString(CultureInfo.InvariantCulture));
            html.Append("</td><td>").Append(perSecond.ToString("0.##", CultureInfo.InvariantCulture));
            html.Append("</td><td>").Append(count == 0 ? "–" : p50.ToString("0.##", CultureInfo.InvariantCulture));
            html.Append("</td><td>").Append(count == 0 ? "–" : p99.ToString("0.##", CultureInfo.InvariantCulture));
            html.Append("</td><td").Append(errors > 0 ? " class=\"bad\">" : ">").Append(errors.ToString(CultureInfo.InvariantCulture)).Append("</td></tr>");
        }

        if (apps.Count == 0)
        {
            html.Append("<tr><td colspan=\"8\" class=\"muted\">no apps deployed</td></tr>");
        }

        html.Append("</table><p class=\"muted\">Over the last minute. Tabs: serving / stalled / spare.</p>");
        html.Append("<h2>Recent events</h2><table id=\"events\"><tr><th>time (UTC)</th><th>event</th><th>app</th><th>what</th></tr>");
        foreach (var e in NodeEvents.Recent().Take(20))
        {
            html.Append("<tr><td>").Append(e.At.ToString("HH:mm:ss", CultureInfo.InvariantCulture)).Append("</td><td")
                .Append(e.Kind is "crash" or "relaunch" ? " class=\"bad\">" : ">").Append(E(e.Kind)).Append("</td><td>")
                .Append(E(e.App)).Append("</td><td>").Append(E(e.Text)).Append("</td></tr>");
        }

        html.Append("</table><p class=\"muted\">Machine-readable: <a href=\"/metrics\">/metrics</a> (Prometheus), /healthz, /readyz.</p></body></html>");
        return html.ToString();
    }

    private static string Tabs(List<Engine.Apps.TabSnapshot> hosts) =>
        string.Create(CultureInfo.InvariantCulture, $"{hosts.Sum(h => h.Serving)} / {hosts.Sum(h => h.Stalled)} / {hosts.Sum(h => h.Spare)}");

    private static string Uptime(TimeSpan up) => up.TotalHours >= 1 ? $"{(int)up.TotalHours} h {up.Minutes} min" : $"{up.Minutes} min {up.Seconds} s";

    private static void Row(StringBuilder html, string name, string valueHtml) =>
        html.Append("<dt>").Append(name).Append("</dt><dd>").Append(valueHtml).Append("</dd>");

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
