using System.Text.Json;

namespace LeanProxy.Engine.Kv;

/// <summary>A KV value changed: the page drops what it cached of it (<see cref="HostMessageKind.KvInvalidate"/>).</summary>
internal sealed class KvInvalidateItem(string? binding, byte[]? key) : TabItem(0)
{
    public override int PayloadLength => key?.Length ?? 0;

    public override bool IsRepeatable => true;

    public override void Write(Utf8JsonWriter writer) => HostMessageWriter.WriteKvInvalidate(writer, binding, key);
}
