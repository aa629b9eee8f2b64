using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace LeanProxy.Store;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, created on first use. Several processes may share the file (two
/// nodes on one machine): writes take the file's write lock (BEGIN IMMEDIATE) and wait for it while it is busy.
/// </summary>
public sealed class SqliteAppStore : SqlAppStore
{
    private readonly string _connectionString;

    public SqliteAppStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    public override string Description => "sqlite:" + Path;

    protected override string BlobType => "BLOB";

    protected override string SerialType => "INTEGER PRIMARY KEY AUTOINCREMENT";

    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    protected override async Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // 19: a constraint (another process claimed the same schema version); 5/6: the file is busy or locked.
    protected override bool IsConcurrentChange(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 19 or 5 or 6 };

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
