using System.Text.Json;
using LeanProxy.Store;

namespace LeanProxy.Engine.Kv;

/// <summary>
/// What a KV call answers: JSON the host made, or a get's entries, written only when the reply's batch is written —
/// so that a large value travels on the tab's data plane like any body (<see cref="HostMessageWriter.WriteData"/>).
/// </summary>
internal readonly record struct KvResult(byte[]? Json, IReadOnlyList<KvEntry?>? Entries)
{
    public static implicit operator KvResult(byte[] json) => FromJson(json);

    public static KvResult FromJson(byte[] json) => new(json, null);

    /// <summary>Bytes the reply carries, for the size limit of one batch.</summary>
    public int Length => Json?.Length ?? Entries!.Sum(e => e?.Value.Length ?? 0);

    /// <summary>The JSON as it is, or per key <c>[data, encoding, metadata, expiration]</c> or null.</summary>
    public void Write(Utf8JsonWriter writer)
    {
        if (Json is not null)
        {
            writer.WriteRawValue(Json, skipInputValidation: true);
            return;
        }

        writer.WriteStartArray();
        foreach (var entry in Entries!)
        {
            if (entry is null)
            {
                writer.WriteNullValue();
                continue;
            }

            writer.WriteStartArray();
            HostMessageWriter.WriteData(writer, entry.Value);
            if (entry.Metadata is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                writer.WriteStringValue(entry.Metadata);
            }

            if (entry.Expiration is { } expires)
            {
                writer.WriteNumberValue(expires);
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndArray();
    }
}
