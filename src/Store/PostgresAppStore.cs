using System.Data.Common;
using Npgsql;

namespace LeanProxy.Store;

/// <summary>
/// The store for many nodes: PostgreSQL through Npgsql's pooled data source, and CockroachDB through the same wire
/// (the SQL is the subset both accept; see SqlAppStore).
/// </summary>
public sealed class PostgresAppStore : SqlAppStore
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresAppStore(string connectionString, string description)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
        Description = description;
    }

    public override string Description { get; }

    protected override string BlobType => "BYTEA";

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    // 23505 unique violation (a schema version claimed twice; concurrent CREATE TABLE in the catalog), 42P07 a table
    // made meanwhile, 40001 a serialization failure (CockroachDB's "retry this transaction"), 40P01 a deadlock.
    protected override bool IsConcurrentChange(Exception exception) =>
        exception is PostgresException { SqlState: "23505" or "42P07" or "40001" or "40P01" };

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
