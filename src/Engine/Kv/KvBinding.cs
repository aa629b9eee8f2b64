using System.Collections.Concurrent;
using System.Text.Json;
using System.Text;
using LeanProxy.Engine.Tabs;
using LeanProxy.Listener;
using LeanProxy.Store;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Kv;

/// <summary>
/// The host side of <c>env.BINDING</c> (Runtime/kv.js): the page calls the <c>__lpKv</c> binding with a batch of calls
/// <c>[callId, binding, op, …]</c>; each is checked again here (the page's code can call the binding itself), run
/// against the store in the namespace of the tab's app and the binding — never one named in the payload — and
/// answered in the tab's next batch. A malformed call gets an error in the page and touches nothing.
/// </summary>
internal sealed partial class KvBinding : IKvCacheHolder, IDisposable
{
    public const string Name = "__lpKv";

    private readonly KvStoreHandle store;
    private readonly Func<Task> ready;
    private readonly string app;
    private readonly IReadOnlySet<string> bindings;
    private readonly ILogger logger;
    private readonly IDisposable _subscription;

    // The tabs that called: only they can hold cached values (Runtime/kv.js), so only they hear of changes.
    private readonly ConcurrentDictionary<Tab, byte> _tabs = new();

    private readonly Metrics.AppStats? _stats;

    public KvBinding(KvStoreHandle handle, string app, IReadOnlySet<string> bindings, ILogger logger, Metrics.AppStats? stats = null)
    {
        _stats = stats;
        store = handle;
        ready = handle.EnsureReadyAsync;
        this.app = app;
        this.bindings = bindings;
        this.logger = logger;
        _subscription = handle.Feed.Subscribe(app, this);
    }

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
        _tabs.TryAdd(tab, 0);
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

        FireAndForget.Run(RunAsync(tab, document, TakeValues(tab, document.RootElement)), logger, "a KV call");
    }

    /// <summary>The values of puts that went on the data plane, by call id: taken now, whatever becomes of each call.</summary>
    private static Dictionary<int, byte[]>? TakeValues(Tab tab, JsonElement calls)
    {
        Dictionary<int, byte[]>? values = null;
        if (calls.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var call in calls.EnumerateArray())
        {
            if (call.ValueKind == JsonValueKind.Array && call.GetArrayLength() > 5 && call[5].ValueKind == JsonValueKind.Number
                && call[5].GetInt32() == (int)BodyEncoding.Data && call[0].TryGetInt32(out var id))
            {
                (values ??= [])[id] = PageData.Bytes(call[4], call[5], tab.Data);
            }
        }

        return values;
    }

    /// <summary>
    /// A value changed (here or on another node): every tab that may have cached it drops it before its next request
    /// (the message goes ahead of later work in the tab's queue, and before the writer's own answer).
    /// </summary>
    public void Invalidate(string? binding, byte[]? key)
    {
        foreach (var tab in _tabs.Keys)
        {
            if (tab.IsDead)
            {
                _tabs.TryRemove(tab, out _);
                continue;
            }

            tab.Enqueue(new KvInvalidateItem(binding, key));
        }
    }

    public void Dispose() => _subscription.Dispose();

    private async Task RunAsync(Tab tab, JsonDocument document, Dictionary<int, byte[]>? values)
    {
        await _concurrency.WaitAsync().ConfigureAwait(false);
        try
        {
            await RunCallsAsync(tab, document, values).ConfigureAwait(false);
        }
        finally
        {
            _concurrency.Release();
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031",
        Justification = "Whatever a KV call fails with becomes an error in the page, never a call that hangs.")]
    private async Task RunCallsAsync(Tab tab, JsonDocument document, Dictionary<int, byte[]>? values)
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

                KvResult result;
                var ok = true;
                var outcome = "ok";
                try
                {
                    await ready().ConfigureAwait(false);
                    result = await ExecuteAsync(call, prefetched, values?.GetValueOrDefault(id)).ConfigureAwait(false);
                }
                catch (KvCallException ex)
                {
                    ok = false;
                    outcome = "error";
                    result = Error(ex.Kind, ex.Message);
                }
                catch (Exception ex) when (ex
                    is InvalidOperationException or FormatException or KeyNotFoundException or IndexOutOfRangeException or JsonException)
                {
                    ok = false;
                    outcome = "error";
                    result = Error("TypeError", "KV: a malformed call.");
                }
                catch (Exception ex)
                {
                    // Whatever else failed (the store, its pool, a bug): the page gets an error, never a call that hangs.
                    EngineLog.KvStoreFailed(logger, app, ex);
                    ok = false;
                    outcome = "store_error";
                    result = Error("Error", "KV failed: 503 the store is unavailable.");
                }

                _stats?.Kv(call[2].ValueKind == JsonValueKind.String
                    && call[2].GetString() is "get" or "put" or "delete" or "list" ? call[2].GetString()! : "other", outcome);

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

            if (op != "get" || call[1].ValueKind != JsonValueKind.String || !bindings.Contains(call[1].GetString()!)
                || call[3].ValueKind != JsonValueKind.Array)
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

    private async Task<KvResult> ExecuteAsync(JsonElement call, Dictionary<string, List<KvEntry>>? prefetched, byte[]? planeValue)
    {
        var binding = call[1].GetString() ?? string.Empty;
        if (!bindings.Contains(binding))
        {
            throw new KvCallException("TypeError", $"There is no KV binding {binding} for this app.");
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return call[2].GetString() switch
        {
            "get" => await GetAsync(call, binding, now, prefetched).ConfigureAwait(false),
            "put" => KvResult.FromJson(await PutAsync(call, binding, now, planeValue).ConfigureAwait(false)),
            "delete" => KvResult.FromJson(await DeleteAsync(call, binding).ConfigureAwait(false)),
            "list" => KvResult.FromJson(await ListAsync(call, binding, now).ConfigureAwait(false)),
            _ => throw new KvCallException("TypeError", $"KV: unknown operation {call[2].GetString()}."),
        };
    }
}
