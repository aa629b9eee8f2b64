using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using LeanProxy.Store;

namespace LeanProxy.Engine.Kv;

/// <summary>The KV operations, each checked again on the host, and the JSON they answer with.</summary>
internal sealed partial class KvBinding
{
    /// <summary><c>[id, binding, "get", [keys…]]</c>: per key <c>[data, encoding, metadata, expiration]</c> or null.</summary>
    private async Task<KvResult> GetAsync(JsonElement call, string binding, long now, Dictionary<string, List<KvEntry>>? prefetched)
    {
        var names = call[3].EnumerateArray().Select(k => Key("GET", k.GetString())).ToList();
        if (names.Count > BulkLimit)
        {
            throw KvCallException.Failed("GET_BULK", 400, $"You can request a maximum of {BulkLimit} keys.");
        }

        var found = prefetched?.GetValueOrDefault(binding) ?? await store.GetAsync(app, binding, names, now, CancellationToken.None).ConfigureAwait(false);
        return new KvResult(null, names.Select(name => found.FirstOrDefault(e => e.Key.AsSpan().SequenceEqual(name))).ToList());
    }

    /// <summary><c>[id, binding, "put", key, data, encoding, metadata, expiration]</c>.</summary>
    /// <remarks><paramref name="planeValue"/>: the value, when it went on the data plane (taken when the call came).</remarks>
    private async Task<byte[]> PutAsync(JsonElement call, string binding, long now, byte[]? planeValue)
    {
        var key = Key("PUT", call[3].GetString());
        var value = planeValue ?? PageData.Bytes(call[4], call[5], plane: null);
        if (value.Length > ValueLimit)
        {
            throw KvCallException.Failed("PUT", 413, $"Value length of {value.Length} exceeds limit of {ValueLimit}.");
        }

        string? metadata = null;
        if (call[6].ValueKind == JsonValueKind.String)
        {
            metadata = call[6].GetString()!;
            using var check = JsonDocument.Parse(metadata);
            if (Encoding.UTF8.GetByteCount(metadata) > MetadataLimit)
            {
                throw KvCallException.Failed("PUT", 413, $"Metadata length of {Encoding.UTF8.GetByteCount(metadata)} exceeds limit of {MetadataLimit}.");
            }
        }

        long? expiration = null;
        if (call[7].ValueKind == JsonValueKind.Number)
        {
            expiration = call[7].GetInt64();
            if (expiration <= now)
            {
                throw KvCallException.Failed("PUT", 400,
                    $"Invalid expiration of {expiration}. Please specify integer greater than the current number of seconds since the UNIX epoch.");
            }
        }

        await store.PutAsync(app, binding, key, value, metadata, expiration, now, CancellationToken.None).ConfigureAwait(false);
        return "null"u8.ToArray();
    }

    /// <summary><c>[id, binding, "delete", key]</c>.</summary>
    private async Task<byte[]> DeleteAsync(JsonElement call, string binding)
    {
        await store.DeleteAsync(app, binding, Key("DELETE", call[3].GetString()), CancellationToken.None).ConfigureAwait(false);
        return "null"u8.ToArray();
    }

    /// <summary><c>[id, binding, "list", prefix, limit, cursor]</c>: <c>{keys: [[name, expiration, metadata]…], complete, cursor}</c>.</summary>
    private async Task<byte[]> ListAsync(JsonElement call, string binding, long now)
    {
        var prefix = Encoding.UTF8.GetBytes(call[3].GetString() ?? string.Empty);
        var limit = call[4].GetInt32();
        if (limit is < 1 or > ListLimit)
        {
            throw KvCallException.Failed("LIST", 400, $"Invalid key_count_limit of {limit}. Please specify an integer between 1-{ListLimit}.");
        }

        byte[]? after = null;
        if (call[5].ValueKind == JsonValueKind.String)
        {
            after = Cursor(call[5].GetString()!);
        }

        var page = await store.ListAsync(app, binding, prefix, after, limit, now, CancellationToken.None).ConfigureAwait(false);
        return Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            foreach (var key in page.Keys)
            {
                writer.WriteStartArray();
                writer.WriteStringValue(Encoding.UTF8.GetString(key.Key));
                if (key.Expiration is { } expires)
                {
                    writer.WriteNumberValue(expires);
                }
                else
                {
                    writer.WriteNullValue();
                }

                if (key.Metadata is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    writer.WriteStringValue(key.Metadata);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteBoolean("complete", page.Complete);
            if (!page.Complete)
            {
                writer.WriteString("cursor", Base64Url.EncodeToString(page.Keys[^1].Key));
            }

            writer.WriteEndObject();
        });
    }

    /// <summary>A key as bytes, checked: not empty, not "." or "..", at most 512 bytes of UTF-8.</summary>
    private static byte[] Key(string op, string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw KvCallException.Failed(op, 400, "Key names must not be empty.");
        }

        if (name is "." or "..")
        {
            throw KvCallException.Failed(op, 400, $"Illegal key name \"{name}\". Please use a different name.");
        }

        var bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length > KeyLimit)
        {
            throw KvCallException.Failed(op, 414, $"UTF-8 encoded length of {bytes.Length} exceeds key length limit of {KeyLimit}.");
        }

        return bytes;
    }

    /// <summary>A cursor is the last key of the previous page, base64url: anything else is refused.</summary>
    private static byte[] Cursor(string cursor)
    {
        try
        {
            var bytes = Base64Url.DecodeFromChars(cursor);
            if (bytes.Length is 0 or > KeyLimit)
            {
                throw new FormatException();
            }

            return bytes;
        }
        catch (FormatException)
        {
            throw KvCallException.Failed("LIST", 400, "Invalid cursor.");
        }
    }

    private static byte[] Error(string kind, string message) => Json(writer =>
    {
        writer.WriteStartArray();
        writer.WriteStringValue(kind);
        writer.WriteStringValue(message);
        writer.WriteEndArray();
    });

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var output = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(output,
            new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        return output.WrittenSpan.ToArray();
    }
}
