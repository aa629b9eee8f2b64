using System.Data.Common;
using System.Globalization;

namespace LeanProxy.Store;

/// <summary>The KV namespaces of the apps (table <c>lp_kv</c>), in the same database as the apps.</summary>
public abstract partial class SqlAppStore
{
    public async Task<IReadOnlyList<KvEntry>> GetAsync(string app, string binding, IReadOnlyList<byte[]> keys, long now, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return [];
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var names = string.Join(", ", keys.Select((_, i) => "@k" + i.ToString(CultureInfo.InvariantCulture)));
        var parameters = new List<(string, object)> { ("app", app), ("binding", binding), ("now", now) };
        parameters.AddRange(keys.Select((key, i) => ("k" + i.ToString(CultureInfo.InvariantCulture), (object)key)));
        await using var command = Command(connection, null,
            $"SELECT k, v, metadata, expiration FROM lp_kv WHERE app = @app AND binding = @binding AND k IN ({names}) AND (expiration IS NULL OR expiration > @now)",
            [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var found = new List<KvEntry>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found.Add(new KvEntry(
                (byte[])reader.GetValue(0),
                (byte[])reader.GetValue(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture)));
        }

        return found;
    }

    public async Task PutAsync(string app, string binding, byte[] key, byte[] value, string? metadata, long? expiration, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null,
            "INSERT INTO lp_kv (app, binding, k, v, metadata, expiration) VALUES (@app, @binding, @k, @v, @metadata, @expiration) " +
            "ON CONFLICT (app, binding, k) DO UPDATE SET v = excluded.v, metadata = excluded.metadata, expiration = excluded.expiration",
            cancellationToken, ("app", app), ("binding", binding), ("k", key), ("v", value), ("metadata", (object?)metadata ?? DBNull.Value), ("expiration", (object?)expiration ?? DBNull.Value)).ConfigureAwait(false);

        // Expired entries of the namespace go with the writes (never returned meanwhile: every read filters them).
        if (Random.Shared.Next(16) == 0)
        {
            await ExecuteAsync(connection, null, "DELETE FROM lp_kv WHERE app = @app AND binding = @binding AND expiration IS NOT NULL AND expiration <= @now", cancellationToken,
                ("app", app), ("binding", binding), ("now", now)).ConfigureAwait(false);
        }
    }

    public async Task DeleteAsync(string app, string binding, byte[] key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM lp_kv WHERE app = @app AND binding = @binding AND k = @k", cancellationToken,
            ("app", app), ("binding", binding), ("k", key)).ConfigureAwait(false);
    }

    public async Task<KvPage> ListAsync(string app, string binding, byte[] prefix, byte[]? after, int limit, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var sql = "SELECT k, expiration, metadata FROM lp_kv WHERE app = @app AND binding = @binding AND (expiration IS NULL OR expiration > @now)";
        var parameters = new List<(string, object)> { ("app", app), ("binding", binding), ("now", now), ("limit", limit + 1) };
        if (prefix.Length > 0)
        {
            sql += " AND k >= @prefix";
            parameters.Add(("prefix", prefix));
            if (NextPrefix(prefix) is { } end)
            {
                sql += " AND k < @end";
                parameters.Add(("end", end));
            }
        }

        if (after is not null)
        {
            sql += " AND k > @after";
            parameters.Add(("after", after));
        }

        await using var command = Command(connection, null, sql + " ORDER BY k LIMIT @limit", [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<KvKey>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(new KvKey(
                (byte[])reader.GetValue(0),
                reader.IsDBNull(1) ? null : Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture),
                reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        var complete = keys.Count <= limit;
        return new KvPage(complete ? keys : keys[..limit], complete);
    }

    public async Task DeleteAppAsync(string app, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "DELETE FROM lp_kv WHERE app = @app", cancellationToken, ("app", app)).ConfigureAwait(false);
    }

    /// <summary>The smallest byte string greater than every string that starts with <paramref name="prefix"/>; null when there is none (all 0xFF).</summary>
    private static byte[]? NextPrefix(byte[] prefix)
    {
        var end = (byte[])prefix.Clone();
        for (var i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] != 0xFF)
            {
                end[i]++;
                return end[..(i + 1)];
            }
        }

        return null;
    }
}
