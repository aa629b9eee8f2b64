using System.Text.Json;

namespace LeanProxy.Engine.Kv;

/// <summary>The answer to one KV call, carried to the page in the tab's next batch (<see cref="HostMessageKind.KvReply"/>).</summary>
internal sealed class KvReplyItem(int callId, bool ok, KvResult result) : TabItem(callId)
{
    public override int PayloadLength => result.Length;

    /// <summary>The page ignores a reply it has had: repeating one after a stopped batch is harmless, losing one is not.</summary>
    public override bool IsRepeatable => true;

    public override void Write(Utf8JsonWriter writer)
    {
        HostMessageWriter.WriteKvReplyStart(writer, Id, ok);
        result.Write(writer);
        writer.WriteEndArray();
    }
}
