namespace LeanProxy.Engine.Metrics;

/// <summary>This node's name in live logs and on the status page: $LEANPROXY_NODE_NAME, else the host name (a pod's name in Kubernetes).</summary>
public static class NodeIdentity
{
    public static string Name { get; } = Environment.GetEnvironmentVariable("LEANPROXY_NODE_NAME") is { Length: > 0 } name ? name : Environment.MachineName;
}
