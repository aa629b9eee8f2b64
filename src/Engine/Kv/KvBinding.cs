using System.Buffers;
using System.Text;
using System.Text.Json;
using LeanProxy.Engine.Tabs;
using LeanProxy.Store;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Kv;

/// <summary>A KV call the host refuses, with the kind of error the page throws and Workers' style of message.</summary>
internal sealed class KvCallException(string kind, string message) : Exception(message)
{
    public string Kind { get; } = kind;

    public static KvCallException Failed(string op, int status, string text) => new("Error", $"KV {op} failed: {status} {text}");
}

/// <summary>
/// The host side of <c>env.BINDING</c> (Runtime/kv.js): the page calls the <c>__lpKv</c> binding with a batch of calls
/// <c>[callId, binding, op, …]</c>; each is checked again here (the page's code can call the binding itself), run
/// against the store in the namespace of the tab's app and the binding — never one named in the payload — and
/// answered in the tab's next batch. A malformed call gets an error in the page and touches nothing.
/// </summary>
internal sealed class KvBinding(IKvStore store, Func<Task> ready, string app, IReadOnlySet<string> bindings, ILogger logger)
{
    public const string Name = "__lpKv";

    /// <summary>Payloads of one app run against the store at once at most: one page cannot take the shared pool.</summary>
    private const int MaxConcurrent = 4;

    private readonly SemaphoreSlim _concurrency = new(MaxConcurrent, MaxConcurrent);

    private const int KeyLimit = 512;
    private const int ValueLimit = 25 * 1024 * 1024;
    private const int MetadataLimit = 1024;
    private const int ListLimit = 1000;
    private const int BulkLimit = 100;

    public void Handle(Tab tab, ReadOnlySpan<byte> payload)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload.ToArray());
        }
        catch (JsonException)
        {
            EngineLog.KvMalformed(logger, app, tab.Index);
            return;
        }

        _ = RunAsync(tab, document);
    }

    private async Task RunAsync(Tab tab, JsonDocument document)
    {
        await _concurrency.WaitAsync().ConfigureAwait(false);
        try
        {
            await RunCallsAsync(tab, document).ConfigureAwait(false);
        }
        finally
        {
            _concurrency.Release();
        }
    }

    private async Task RunCallsAsync(Tab tab, JsonDocument document)
    {
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                EngineLog.KvMalformed(logger, app, tab.Index);
                return;
            }

            // Gets of one turn (e.g. Promise.all over many keys) are one query per binding, when no write in the same
            // payload could change what they read.
            var prefetched = await PrefetchAsync(document.RootElement).ConfigureAwait(false);
            foreach (var call in document.RootElement.EnumerateArray())
            {
                if (call.ValueKind != JsonValueKind.Array || call.GetArrayLength() < 3 || !call[0].TryGetInt32(out var id))
                {
                    EngineLog.KvMalformed(logger, app, tab.Index);
                    continue;
                }

                byte[] result;
                var ok = true;
                try
                {
                    await ready().ConfigureAwait(false);
                    result = await ExecuteAsync(call, prefetched).ConfigureAwait(false);
                }
                catch (KvCallException ex)
                {
                    ok = false;
                    result = Error(ex.Kind, ex.Message);
                }
                catch (Exception ex) when (ex is InvalidOperationException or FormatException or KeyNotFoundException or IndexOutOfRangeException or JsonException)
                {
                    ok = false;
                    result = Error("TypeError", "KV: a malformed call.");
                }
                catch (Exception ex)
                {
                    // Whatever else failed (the store, its pool, a bug): the page gets an error, never a call that hangs.
                    EngineLog.KvStoreFailed(logger, app, ex);
                    ok = false;
                    result = Error("Error", "KV failed: 503 the store is unavailable.");
                }

                tab.Enqueue(new KvReplyItem(id, ok, result));
            }
        }
    }

    /// <summary>The entries every well-formed get of the payload asks for, by binding; null when the payload also writes.</summary>
    private async Task<Dictionary<string, List<KvEntry>>?> PrefetchAsync(JsonElement calls)
    {
        var wanted = new Dictionary<string, List<byte[]>>(StringComparer.Ordinal);
        foreach (var call in calls.EnumerateArray())
        {
            if (call.ValueKind != JsonValueKind.Array || call.GetArrayLength() < 4 || call[2].ValueKind != JsonValueKind.String)
            {
                continue;
            }

            var op = call[2].GetString();
            if (op is "put" or "delete")
            {
                return null;
            }

            if (op != "get" || call[1].ValueKind != JsonValueKind.String || !bindings.Contains(call[1].GetString()!) || call[3].ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            if (call[3].GetArrayLength() > BulkLimit)
            {
                return null; // refused by the call itself; never fetched
            }

            var keys = wanted.TryGetValue(call[1].GetString()!, out var list) ? list : wanted[call[1].GetString()!] = [];
            foreach (var key in call[3].EnumerateArray())
            {
                if (key.ValueKind == JsonValueKind.String && key.GetString() is { Length: > 0 } name && Encoding.UTF8.GetByteCount(name) <= KeyLimit)
                {
                    keys.Add(Encoding.UTF8.GetBytes(name));
                }
            }
        }

        var total = wanted.Values.Sum(k => k.Count);
        if (total < 2 || total > 10 * BulkLimit)
        {
            return null;
        }

        try
        {
            await ready().ConfigureAwait(false);
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var found = new Dictionary<string, List<KvEntry>>(StringComparer.Ordinal);
            foreach (var (binding, keys) in wanted)
            {
                var entries = new List<KvEntry>();
                foreach (var chunk in keys.DistinctBy(Convert.ToBase64String).Chunk(BulkLimit))
                {
                    entries.AddRange(await store.GetAsync(app, binding, chunk, now, CancellationToken.None).ConfigureAwait(false));
                }

                found[binding] = entries;
            }

            return found;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return null; // each get then asks the store itself, and reports the failure
        }
    }

    private async Task<byte[]> ExecuteAsync(JsonElement call, Dictionary<string, List<KvEntry>>? prefetched)
    {
        var binding = call[1].GetString() ?? string.Empty;
        if (!bindings.Contains(binding))
        {
            throw new KvCallException("TypeError", $"There is no KV binding {binding} for this app.");
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        switch (call[2].GetString())
        {
            case "get":
            {
                var names = call[3].EnumerateArray().Select(k => Key("GET", k.GetString())).ToList();
                if (names.Count > BulkLimit)
                {
                    throw KvCallException.Failed("GET_BULK", 400, $"You can request a maximum of {BulkLimit} keys.");
                }

                var found = prefetched?.GetValueOrDefault(binding) ?? await store.GetAsync(app, binding, names, now, CancellationToken.None).ConfigureAwait(false);
                return Json(writer =>
                {
                    writer.WriteStartArray();
                    foreach (var name in names)
                    {
                        var entry = found.FirstOrDefault(e => e.Key.AsSpan().SequenceEqual(name));
                        if (entry is null)
                        {
                            writer.WriteNullValue();
                            continue;
                        }

                        writer.WriteStartArray();
                        WriteData(writer, entry.Value);
                        if (entry.Metadata is null)
                        {
                            writer.WriteNullValue();
                        }
                        else
                        {
                            writer.WriteStringValue(entry.Metadata);
                        }

                        writer.WriteEndArray();
                    }

                    writer.WriteEndArray();
                });
            }

            case "put":
            {
                var key = Key("PUT", call[3].GetString());
                var text = call[4].GetString() ?? string.Empty;
                var value = call[5].GetInt32() == (int)BodyEncoding.Base64 ? Convert.FromBase64String(text) : Encoding.UTF8.GetBytes(text);
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
                        throw KvCallException.Failed("PUT", 400, $"Invalid expiration of {expiration}. Please specify integer greater than the current number of seconds since the UNIX epoch.");
                    }
                }

                await store.PutAsync(app, binding, key, value, metadata, expiration, now, CancellationToken.None).ConfigureAwait(false);
                return "null"u8.ToArray();
            }

            case "delete":
                await store.DeleteAsync(app, binding, Key("DELETE", call[3].GetString()), CancellationToken.None).ConfigureAwait(false);
                return "null"u8.ToArray();

            case "list":
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
                        writer.WriteString("cursor", Convert.ToBase64String(page.Keys[^1].Key).TrimEnd('=').Replace('+', '-').Replace('/', '_'));
                    }

                    writer.WriteEndObject();
                });
            }

            default:
                throw new KvCallException("TypeError", $"KV: unknown operation {call[2].GetString()}.");
        }
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
            var text = cursor.Replace('-', '+').Replace('_', '/');
            var bytes = Convert.FromBase64String(text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '='));
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

    private static void WriteData(Utf8JsonWriter writer, byte[] data)
    {
        if (Ascii.IsValid(data))
        {
            writer.WriteStringValue(Encoding.ASCII.GetString(data));
            writer.WriteNumberValue((int)BodyEncoding.Text);
        }
        else
        {
            writer.WriteBase64StringValue(data);
            writer.WriteNumberValue((int)BodyEncoding.Base64);
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
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        return output.WrittenSpan.ToArray();
    }
}
