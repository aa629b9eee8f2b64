namespace LeanProxy.Engine.Apps;

/// <summary>An app exists but cannot be started now (its store is unreachable, the node's tab budget is spent…).</summary>
public sealed class AppUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
