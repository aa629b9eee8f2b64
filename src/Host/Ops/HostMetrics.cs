using Prometheus;

namespace LeanProxy.Host.Ops;

/// <summary>What the node counts: deploys by result, rollbacks and deletions (its admin API), failed polls of the store.</summary>
internal static class HostMetrics
{
    private static readonly Counter Deploys = Prometheus.Metrics.CreateCounter(
        "leanproxy_deploys_total", "Deploys received by this node's admin API, by result (created, unchanged, refused).", "result");

    private static readonly Counter Rollbacks = Prometheus.Metrics.CreateCounter(
        "leanproxy_rollbacks_total", "Rollbacks made through this node's admin API.");

    private static readonly Counter Deletions = Prometheus.Metrics.CreateCounter(
        "leanproxy_app_deletions_total", "Apps deleted through this node's admin API.");

    private static readonly Counter StorePollFailures = Prometheus.Metrics.CreateCounter(
        "leanproxy_store_poll_failures_total", "Polls of the store for changes that failed (the node serves what it has meanwhile).");

    static HostMetrics()
    {
        foreach (var result in new[] { "created", "unchanged", "refused" })
        {
            Deploys.WithLabels(result);
        }
    }

    public static void Deployed(string result, string app, int version)
    {
        Deploys.WithLabels(result).Inc();
        Engine.Metrics.NodeEvents.Add("deploy", app, result == "refused" ? "deploy refused" : $"version {version} {result}");
    }

    public static void RolledBack(string app, int version)
    {
        Rollbacks.Inc();
        Engine.Metrics.NodeEvents.Add("rollback", app, $"rolled back to version {version}");
    }

    public static void StorePollFailed() => StorePollFailures.Inc();

    public static void Deleted(string app)
    {
        Deletions.Inc();
        Engine.Metrics.NodeEvents.Add("delete", app, "deleted");
    }
}
