using System.Data.Common;
using System.Globalization;

namespace LeanProxy.Store;

/// <summary>The KV namespaces of the apps (table <c>lp_kv</c>), in the same database as the apps.</summary>
public abstract partial class SqlAppStore
{
    /// <summary>How long the log of KV changes keeps a change: a node that could not read it for longer drops everything it cached.</summary>
    public static readonly TimeSpan ChangeRetention = TimeSpan.FromMinutes(5);

    /// <summary>Every 16th write also removes what has expired.</summary>
    private long _kvWrites;

    private const string LogChange = "INSERT INTO lp_kv_changes (app, binding, k, origin, at) VALUES (@app, @binding, @k, @origin, @at)";

    /// <summary>Names this store object's writes in the log of KV changes (the process that made them already knows).</summary>
    public string Origin { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Runs the statements as one transaction; a dialect may send them in one round trip instead.</summary>
    protected virtual async Task WriteAtomicallyAsync(DbConnection connection, string[] statements, CancellationToken cancellationToken,
        params (string Name, object Value)[] parameters)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var statement in statements)
        {
            await ExecuteAsync(connection, transaction, statement, cancellationToken, parameters).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

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
            $"SELECT k, v, metadata, expiration FROM lp_kv WHERE app = @app AND binding = @binding AND k IN ({names}) AND (expiration IS NULL OR " +
                $"expiration > @now)",
            [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var found = new List<KvEntry>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found.Add(new KvEntry(
                (byte[])reader.GetValue(0),
                (byte[])reader.GetValue(1),
                await reader.IsDBNullAsync(2, cancellationToken).ConfigureAwait(false) ? null : reader.GetString(2),
                await reader.IsDBNullAsync(3, cancellationToken).ConfigureAwait(false) ? null : Convert.ToInt64(reader.GetValue(3),
                    CultureInfo.InvariantCulture)));
        }

        return found;
    }

    public async Task PutAsync(string app, string binding, byte[] key, byte[] value, string? metadata, long? expiration, long now,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await WriteAtomicallyAsync(connection,
            [
                "INSERT INTO lp_kv (app, binding, k, v, metadata, expiration) VALUES (@app, @binding, @k, @v, @metadata, @expiration) " +
                "ON CONFLICT (app, binding, k) DO UPDATE SET v = excluded.v, metadata = excluded.metadata, expiration = excluded.expiration",
                LogChange,
            ],
            cancellationToken, ("app", app), ("binding", binding), ("k", key), ("v", value), ("metadata", (object?)metadata ?? DBNull.Value),
            ("expiration", expiration is { } at ? (object)at : DBNull.Value), ("origin", Origin), ("at", now)).ConfigureAwait(false);

        // Expired entries of the namespace, and changes no node needs any more, go with the writes (expired entries
        // are never returned meanwhile: every read filters them).
        if (Interlocked.Increment(ref _kvWrites) % 16 == 0)
        {
            await ExecuteAsync(connection, null, "DELETE FROM lp_kv WHERE app = @app AND binding = @binding AND expiration IS NOT NULL AND expiration <= @now",
                cancellationToken,
                ("app", app), ("binding", binding), ("now", now)).ConfigureAwait(false);
            await ExecuteAsync(connection, null, "DELETE FROM lp_kv_changes WHERE at < @before", cancellationToken,
                ("before", now - (long)ChangeRetention.TotalSeconds)).ConfigureAwait(false);
        }
    }

    public async Task DeleteAsync(string app, string binding, byte[] key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await WriteAtomicallyAsync(connection, ["DELETE FROM lp_kv WHERE app = @app AND binding = @binding AND k = @k", LogChange], cancellationToken,
            ("app", app), ("binding", binding), ("k", key), ("origin", Origin), ("at", DateTimeOffset.UtcNow.ToUnixTimeSeconds())).ConfigureAwait(false);
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
                await reader.IsDBNullAsync(1, cancellationToken).ConfigureAwait(false) ? null : Convert.ToInt64(reader.GetValue(1),
                    CultureInfo.InvariantCulture),
                await reader.IsDBNullAsync(2, cancellationToken).ConfigureAwait(false) ? null : reader.GetString(2)));
        }

        var complete = keys.Count <= limit;
        return new KvPage(complete ? keys : keys[..limit], complete);
    }

    public async Task DeleteAppAsync(string app, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await WriteAtomicallyAsync(connection,
            [
                "DELETE FROM lp_kv WHERE app = @app",
                "INSERT INTO lp_kv_changes (app, binding, k, origin, at) VALUES (@app, NULL, NULL, @origin, @at)",
            ],
            cancellationToken, ("app", app), ("origin", Origin), ("at", DateTimeOffset.UtcNow.ToUnixTimeSeconds())).ConfigureAwait(false);
    }

    public async Task<long> GetLastChangeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return Convert.ToInt64(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(seq), 0) FROM lp_kv_changes", cancellationToken).ConfigureAwait(false),
            CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<KvChange>> ReadChangesAsync(long after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null,
            "SELECT seq, app, binding, k, origin FROM lp_kv_changes WHERE seq > @after ORDER BY seq LIMIT @limit",
            ("after", after), ("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var changes = new List<KvChange>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            changes.Add(new KvChange(
                Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture),
                reader.GetString(1),
                await reader.IsDBNullAsync(2, cancellationToken).ConfigureAwait(false) ? null : reader.GetString(2),
                await reader.IsDBNullAsync(3, cancellationToken).ConfigureAwait(false) ? null : (byte[])reader.GetValue(3),
                reader.GetString(4)));
        }

        return changes;
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
