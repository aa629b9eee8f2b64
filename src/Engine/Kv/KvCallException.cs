namespace LeanProxy.Engine.Kv;

/// <summary>A KV call the host refuses, with the kind of error the page throws and Workers' style of message.</summary>
public sealed class KvCallException(string kind, string message) : Exception(message)
{
    public string Kind { get; } = kind;

    public static KvCallException Failed(string op, int status, string text) => new("Error", $"KV {op} failed: {status} {text}");
}
