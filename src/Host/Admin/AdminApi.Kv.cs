using System.Text;
using LeanProxy.Listener;
using LeanProxy.Store;

namespace LeanProxy.Host.Admin;

/// <summary>Operators' access to a deployed app's KV values: <c>/v1/apps/NAME/kv/BINDING[/KEY]</c>.</summary>
internal sealed partial class AdminApi
{
    /// <summary>The app's KV namespace for <paramref name="binding"/>, when its active version has that binding.</summary>
    private async Task<(IKvStore? Store, ProxyResponse? Refusal)> KvAsync(string name, string binding, CancellationToken cancellationToken)
    {
        var app = await Store(() => apps.Store.GetAppAsync(name, cancellationToken)).ConfigureAwait(false);
        if (app is null)
        {
            return (null, Error(404, "no_such_app", $"There is no app named {name}."));
        }

        if (!app.Kv.Contains(binding) || apps.Kv is not { } kv)
        {
            return (null,
                Error(404, "no_such_binding",
                    $"The app {name} has no KV binding {binding} (its active version has: {(app.Kv.Count == 0 ? "none" : string.Join(", ", app.Kv))})."));
        }

        await Store(async () =>
        {
            await kv.EnsureReadyAsync().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
        return (kv, null);
    }

    private async Task<ProxyResponse> KvListAsync(string name, string binding, string query, CancellationToken cancellationToken)
    {
        var (store, refusal) = await KvAsync(name, binding, cancellationToken).ConfigureAwait(false);
        if (store is null)
        {
            return refusal!;
        }

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)))
        {
            parameters.TryAdd(Uri.UnescapeDataString(pair[0]), pair.Length > 1 ? Uri.UnescapeDataString(pair[1]) : string.Empty); // the first wins
        }
        var prefix = Encoding.UTF8.GetBytes(parameters.GetValueOrDefault("prefix", string.Empty));
        if (!int.TryParse(parameters.GetValueOrDefault("limit", "1000"), out var limit) || limit is < 1 or > 1000)
        {
            return Error(400, "bad_limit", "limit is a whole number from 1 to 1000.");
        }

        byte[]? after = null;
        if (parameters.TryGetValue("cursor", out var cursor) && cursor.Length > 0)
        {
            try
            {
                after = Convert.FromBase64String(cursor);
            }
            catch (FormatException)
            {
                return Error(400, "bad_cursor", "The cursor is not one this API gave.");
            }
        }

        var page = await Store(() => store.ListAsync(name, binding, prefix, after, limit, DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            cancellationToken)).ConfigureAwait(false);
        var list = new KvList(
            [.. page.Keys.Select(k => new KvKeyInfo(Encoding.UTF8.GetString(k.Key), k.Expiration, k.Metadata))],
            page.Complete,
            page.Complete ? null : Convert.ToBase64String(page.Keys[^1].Key));
        return Json(200, list, AdminJsonContext.Default.KvList);
    }

    private async Task<ProxyResponse> KvKeyAsync(string name, string binding, string key, ProxyRequest request, CancellationToken cancellationToken)
    {
        var (store, refusal) = await KvAsync(name, binding, cancellationToken).ConfigureAwait(false);
        if (store is null)
        {
            return refusal!;
        }

        var bytes = Encoding.UTF8.GetBytes(key);
        if (key.Length == 0 || key is "." or ".." || bytes.Length > 512)
        {
            return Error(400, "bad_key", "A key is 1 to 512 bytes of UTF-8, not \".\" or \"..\".");
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        switch (request.KnownMethod)
        {
            case Listener.HttpMethod.Get:
                var found = await Store(() => store.GetAsync(name, binding, [bytes], now, cancellationToken)).ConfigureAwait(false);
                if (found.Count == 0)
                {
                    return Error(404, "no_such_key", $"The namespace {binding} of {name} has no key {key}.");
                }

                var value = new ProxyResponse(200) { Body = found[0].Value };
                value.Headers.Add(new("Content-Type", "application/octet-stream"));
                return value;
            case Listener.HttpMethod.Put:
                if (request.Body.Length > 25 * 1024 * 1024)
                {
                    return Error(413, "value_too_large", "A value is at most 25 MiB.");
                }

                await Store(async () =>
                {
                    await store.PutAsync(name, binding, bytes, request.Body.ToArray(), null, null, now, cancellationToken).ConfigureAwait(false);
                    return true;
                }).ConfigureAwait(false);
                return Json(200, new KvKeyInfo(key, null, null), AdminJsonContext.Default.KvKeyInfo);
            default:
                await Store(async () =>
                {
                    await store.DeleteAsync(name, binding, bytes, cancellationToken).ConfigureAwait(false);
                    return true;
                }).ConfigureAwait(false);
                return Json(200, new KvKeyInfo(key, null, null), AdminJsonContext.Default.KvKeyInfo);
        }
    }
}
