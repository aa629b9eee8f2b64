using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LeanProxy.Store;

[JsonSerializable(typeof(SortedDictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;

/// <summary>
/// The store over SQL that SQLite, PostgreSQL and CockroachDB all accept (<c>INSERT … ON CONFLICT</c>,
/// <c>UPDATE … RETURNING</c>, no server-side functions, triggers or LISTEN/NOTIFY). Every change runs in one transaction
/// that first bumps the revision row: that row's lock orders the writers, so revisions become visible in commit order
/// and a node that has seen revision R has seen every change up to R.
/// </summary>
public abstract partial class SqlAppStore : IAppStore, IKvStore, ILogRelayStore
{
    /// <summary>The schema, one list of statements per version; <c>{blob}</c> is the dialect's binary type.</summary>
    private static readonly string[][] Migrations =
    [
        [
            "CREATE TABLE lp_state (id INTEGER NOT NULL PRIMARY KEY, revision BIGINT NOT NULL)",
            "INSERT INTO lp_state (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
            "CREATE TABLE lp_bundles (sha256 TEXT NOT NULL PRIMARY KEY, archive {blob} NOT NULL, size BIGINT NOT NULL, created_at TEXT NOT NULL)",
            "CREATE TABLE lp_apps (name TEXT NOT NULL PRIMARY KEY, active_version INTEGER NOT NULL, revision BIGINT NOT NULL, deleted INTEGER NOT NULL, " +
                "updated_at TEXT NOT NULL)",
            "CREATE TABLE lp_versions (app TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL, vars TEXT NOT NULL, created_at TEXT NOT NULL, " +
                "PRIMARY KEY (app, version))",
        ],
        [
            "ALTER TABLE lp_apps ADD COLUMN warm INTEGER NOT NULL DEFAULT 0",
        ],
        [
            // Keys are bytes (UTF-8), so that they sort in byte order on every engine whatever its collation.
            "CREATE TABLE lp_kv (app TEXT NOT NULL, binding TEXT NOT NULL, k {blob} NOT NULL, v {blob} NOT NULL, metadata TEXT, expiration BIGINT, PRIMARY " +
                "KEY (app, binding, k))",
        ],
        [
            // A version's KV bindings (comma-separated names), part of what the version is, like its variables.
            "ALTER TABLE lp_versions ADD COLUMN kv TEXT NOT NULL DEFAULT ''",
        ],
        [
            // The log of KV writes that nodes follow to drop what they cached (binding null: the whole app; key null:
            // the whole binding). Kept for a few minutes (see SqlAppStore.Kv).
            "CREATE TABLE lp_kv_changes (seq {serial}, app TEXT NOT NULL, binding TEXT, k {blob}, origin TEXT NOT NULL, at BIGINT NOT NULL)",
            "CREATE INDEX lp_kv_changes_at ON lp_kv_changes (at)",
        ],
        [
            // Live logs (leanproxy tail) relayed between nodes: who is tailing which app, and the recent lines.
            "CREATE TABLE lp_tails (app TEXT NOT NULL PRIMARY KEY, until_at BIGINT NOT NULL)",
            "CREATE TABLE lp_logs (seq {serial}, app TEXT NOT NULL, node TEXT NOT NULL, at BIGINT NOT NULL, line TEXT NOT NULL)",
            "CREATE INDEX lp_logs_app ON lp_logs (app, seq)",
        ],
    ];

    private const string AppColumns =
        "a.name, a.active_version, v.sha256, v.vars, a.revision, a.deleted, a.updated_at, a.warm, v.kv FROM lp_apps a LEFT JOIN lp_versions v ON v.app = " +
            "a.name AND v.version = a.active_version";

    public abstract string Description { get; }

    /// <summary>The schema version this code writes.</summary>
    public static int SchemaVersion => Migrations.Length;

    protected abstract string BlobType { get; }

    /// <summary>The dialect's column type of an increasing 64-bit key made by the database.</summary>
    protected abstract string SerialType { get; }

    protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Whether the exception is another node doing the same thing at the same time (worth a retry).</summary>
    protected abstract bool IsConcurrentChange(Exception exception);

    /// <summary>Runs once per new connection-independent setting (e.g. SQLite's journal mode) before migrating.</summary>
    protected virtual Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
                await PrepareAsync(connection, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, null, "CREATE TABLE IF NOT EXISTS lp_schema (version INTEGER NOT NULL PRIMARY KEY)",
                    cancellationToken).ConfigureAwait(false);
                var current = Convert.ToInt32(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(version), 0) FROM lp_schema",
                    cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
                if (current > Migrations.Length)
                {
                    throw new InvalidOperationException($"The store {Description} has schema version {current}, newer than this LeanProxy knows " +
                        $"({Migrations.Length}); upgrade LeanProxy.");
                }

                for (var version = current + 1; version <= Migrations.Length; version++)
                {
                    await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

                    // Claiming the version first: a node migrating at the same time waits on this row, then fails
                    // with a unique violation and starts over, finding the schema done.
                    await ExecuteAsync(connection, transaction, "INSERT INTO lp_schema (version) VALUES (@version)", cancellationToken,
                        ("version", version)).ConfigureAwait(false);
                    foreach (var statement in Migrations[version - 1])
                    {
                        await ExecuteAsync(connection, transaction,
                            statement.Replace("{blob}", BlobType, StringComparison.Ordinal).Replace("{serial}", SerialType, StringComparison.Ordinal),
                                cancellationToken).ConfigureAwait(false);
                    }

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }

                return;
            }
            catch (Exception ex) when (attempt < 20 && IsConcurrentChange(ex))
            {
                await Task.Delay(25 * attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task<long> GetRevisionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadRevisionAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    public Task<DeployOutcome> DeployAsync(string name, string sha256, ReadOnlyMemory<byte> archive, IReadOnlyDictionary<string, string> variables, bool warm,
        CancellationToken cancellationToken, IReadOnlyList<string>? kvBindings = null)
    {
        var kv = string.Join(',', (kvBindings ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        var vars = JsonSerializer.Serialize(new SortedDictionary<string, string>(variables.ToDictionary(), StringComparer.Ordinal),
            StoreJsonContext.Default.SortedDictionaryStringString);
        return WriteAsync<DeployOutcome>(async (connection, transaction, revision) =>
        {
            var active = await ReadActiveAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false);
            if (active is { } current && current.Sha256 == sha256 && current.Vars == vars && current.Kv == kv)
            {
                if (current.Warm == warm)
                {
                    return (new DeployOutcome(current.Version, false, revision - 1), false);
                }

                // The same version, now (or no longer) kept warm: a change the nodes must learn of.
                await ExecuteAsync(connection, transaction, "UPDATE lp_apps SET warm = @warm, revision = @revision, updated_at = @now WHERE name = @name",
                    cancellationToken,
                    ("warm", warm ? 1 : 0), ("revision", revision), ("now", Now()), ("name", name)).ConfigureAwait(false);
                return (new DeployOutcome(current.Version, false, revision), true);
            }

            var now = Now();
            await ExecuteAsync(connection, transaction,
                "INSERT INTO lp_bundles (sha256, archive, size, created_at) VALUES (@sha, @archive, @size, @now) ON CONFLICT (sha256) DO NOTHING",
                    cancellationToken,
                ("sha", sha256), ("archive", archive.ToArray()), ("size", (long)archive.Length), ("now", now)).ConfigureAwait(false);
            var version = Convert.ToInt32(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) + 1 FROM lp_versions WHERE app = @name",
                cancellationToken, ("name", name)).ConfigureAwait(false), CultureInfo.InvariantCulture);
            await ExecuteAsync(connection, transaction,
                "INSERT INTO lp_versions (app, version, sha256, vars, created_at, kv) VALUES (@name, @version, @sha, @vars, @now, @kv)", cancellationToken,
                ("name", name), ("version", version), ("sha", sha256), ("vars", vars), ("now", now), ("kv", kv)).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction,
                "INSERT INTO lp_apps (name, active_version, revision, deleted, updated_at, warm) VALUES (@name, @version, @revision, 0, @now, @warm) " +
                "ON CONFLICT (name) DO UPDATE SET active_version = excluded.active_version, revision = excluded.revision, deleted = 0, updated_at = " +
                    "excluded.updated_at, warm = excluded.warm",
                cancellationToken, ("name", name), ("version", version), ("revision", revision), ("now", now), ("warm", warm ? 1 : 0)).ConfigureAwait(false);
            return (new DeployOutcome(version, true, revision), true);
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredApp>> ListAppsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAppsAsync(connection, $"SELECT {AppColumns} WHERE a.deleted = 0 ORDER BY a.name", cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredApp?> GetAppAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var apps = await ReadAppsAsync(connection, $"SELECT {AppColumns} WHERE a.name = @name AND a.deleted = 0", cancellationToken,
            ("name", name)).ConfigureAwait(false);
        return apps.Count == 0 ? null : apps[0];
    }

    public async Task<IReadOnlyList<StoredVersion>> ListVersionsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null,
            "SELECT v.version, v.sha256, b.size, v.vars, v.created_at, v.kv FROM lp_versions v JOIN lp_bundles b ON b.sha256 = v.sha256 WHERE v.app = " +
                "@name ORDER BY v.version",
            ("name", name));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var versions = new List<StoredVersion>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            versions.Add(new StoredVersion(
                Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture),
                reader.GetString(1),
                Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture),
                ParseVars(reader.GetString(3)),
                DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture),
                SplitKv(reader.GetString(5))));
        }

        return versions;
    }

    public async Task<byte[]?> GetArchiveAsync(string sha256, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ScalarAsync(connection, null, "SELECT archive FROM lp_bundles WHERE sha256 = @sha", cancellationToken,
            ("sha", sha256)).ConfigureAwait(false) as byte[];
    }

    public Task<RollbackOutcome> RollbackAsync(string name, int version, CancellationToken cancellationToken) =>
        WriteAsync<RollbackOutcome>(async (connection, transaction, revision) =>
        {
            if (await ReadActiveAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false) is null)
            {
                return (RollbackOutcome.NoSuchApp, false);
            }

            var exists = await ScalarAsync(connection, transaction, "SELECT 1 FROM lp_versions WHERE app = @name AND version = @version", cancellationToken,
                ("name", name), ("version", version)).ConfigureAwait(false);
            if (exists is null)
            {
                return (RollbackOutcome.NoSuchVersion, false);
            }

            await ExecuteAsync(connection, transaction,
                "UPDATE lp_apps SET active_version = @version, revision = @revision, updated_at = @now WHERE name = @name", cancellationToken,
                ("version", version), ("revision", revision), ("now", Now()), ("name", name)).ConfigureAwait(false);
            return (RollbackOutcome.Done, true);
        }, cancellationToken);

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) =>
        WriteAsync<bool>(async (connection, transaction, revision) =>
        {
            if (await ReadActiveAsync(connection, transaction, name, cancellationToken).ConfigureAwait(false) is null)
            {
                return (false, false);
            }

            await ExecuteAsync(connection, transaction, "DELETE FROM lp_versions WHERE app = @name", cancellationToken, ("name", name)).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "DELETE FROM lp_kv WHERE app = @name", cancellationToken, ("name", name)).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "INSERT INTO lp_kv_changes (app, binding, k, origin, at) VALUES (@name, NULL, NULL, @origin, @at)",
                cancellationToken,
                ("name", name), ("origin", Origin), ("at", DateTimeOffset.UtcNow.ToUnixTimeSeconds())).ConfigureAwait(false);

            // The row stays as a tombstone: nodes following the revision learn of the delete from it.
            await ExecuteAsync(connection, transaction,
                "UPDATE lp_apps SET active_version = 0, deleted = 1, revision = @revision, updated_at = @now WHERE name = @name", cancellationToken,
                ("revision", revision), ("now", Now()), ("name", name)).ConfigureAwait(false);
            return (true, true);
        }, cancellationToken);

    public async Task<StoreChanges> GetChangesAsync(long revision, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);

        // The revision first: every change up to it has committed, so the rows read next include all of them.
        var current = await ReadRevisionAsync(connection, null, cancellationToken).ConfigureAwait(false);
        var apps = await ReadAppsAsync(connection, $"SELECT {AppColumns} WHERE a.revision > @since ORDER BY a.revision", cancellationToken,
            ("since", revision)).ConfigureAwait(false);
        return new StoreChanges(Math.Max(current, apps.Count == 0 ? 0 : apps[^1].Revision), apps);
    }

    /// <summary>Runs a change in one transaction that bumps the revision first; the body says whether to commit.</summary>
    private async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, long, Task<(T Result, bool Commit)>> change, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                var revision = Convert.ToInt64(await ScalarAsync(connection, transaction,
                    "UPDATE lp_state SET revision = revision + 1 WHERE id = 1 RETURNING revision", cancellationToken).ConfigureAwait(false),
                        CultureInfo.InvariantCulture);
                var (result, commit) = await change(connection, transaction, revision).ConfigureAwait(false);
                if (commit)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                }

                return result;
            }
            catch (Exception ex) when (attempt < 10 && IsConcurrentChange(ex))
            {
                // A serialization failure (CockroachDB retries transactions this way) or a busy SQLite file.
                await Task.Delay(20 * attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string[] SplitKv(string kv) => kv.Split(',', StringSplitOptions.RemoveEmptyEntries);

    private static async Task<(int Version, string Sha256, string Vars, bool Warm, string Kv)?> ReadActiveAsync(DbConnection connection,
        DbTransaction transaction, string name, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction,
            "SELECT a.active_version, v.sha256, v.vars, a.warm, v.kv FROM lp_apps a JOIN lp_versions v ON v.app = a.name AND v.version = a.active_version " +
                "WHERE a.name = @name AND a.deleted = 0",
            ("name", name));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return (Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture), reader.GetString(1), reader.GetString(2),
            Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture) != 0, reader.GetString(4));
    }

    private static async Task<long> ReadRevisionAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        Convert.ToInt64(await ScalarAsync(connection, transaction, "SELECT revision FROM lp_state WHERE id = 1", cancellationToken).ConfigureAwait(false),
            CultureInfo.InvariantCulture);

    private static async Task<List<StoredApp>> ReadAppsAsync(DbConnection connection, string sql, CancellationToken cancellationToken,
        params (string Name, object Value)[] parameters)
    {
        await using var command = Command(connection, null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var apps = new List<StoredApp>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            apps.Add(new StoredApp(
                reader.GetString(0),
                Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture),
                await reader.IsDBNullAsync(2, cancellationToken).ConfigureAwait(false) ? string.Empty : reader.GetString(2),
                await reader.IsDBNullAsync(3, cancellationToken).ConfigureAwait(false) ? new Dictionary<string, string>() : ParseVars(reader.GetString(3)),
                Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(5), CultureInfo.InvariantCulture) != 0,
                DateTimeOffset.Parse(reader.GetString(6), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(7), CultureInfo.InvariantCulture) != 0,
                await reader.IsDBNullAsync(8, cancellationToken).ConfigureAwait(false) ? [] : SplitKv(reader.GetString(8))));
        }

        return apps;
    }

    private static Dictionary<string, string> ParseVars(string json) =>
        JsonSerializer.Deserialize(json, StoreJsonContext.Default.DictionaryStringString) ?? [];

    private static string Now() => DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture);

    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    internal static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is DBNull ? null : value;
    }

    public abstract ValueTask DisposeAsync();
}
