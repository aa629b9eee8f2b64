namespace LeanProxy.Store;

/// <summary>An app as the store has it: its active version and what that version is.</summary>
/// <remarks><see cref="Warm"/>: every node starts the app when it starts (or learns of it), not on its first request.</remarks>
public sealed record StoredApp(string Name, int ActiveVersion, string Sha256, IReadOnlyDictionary<string, string> Variables, long Revision, bool Deleted,
    DateTimeOffset UpdatedAt, bool Warm = false, IReadOnlyList<string>? KvBindings = null)
{
    /// <summary>The KV bindings of the active version (env.NAME).</summary>
    public IReadOnlyList<string> Kv => KvBindings ?? [];
}

/// <summary>One immutable version of an app: a bundle (by its SHA-256) and the variables it was deployed with.</summary>
public sealed record StoredVersion(int Version, string Sha256, long Size, IReadOnlyDictionary<string, string> Variables, DateTimeOffset CreatedAt,
    IReadOnlyList<string>? KvBindings = null);

/// <summary>What a deploy did: a new version (<see cref="Created"/>), or nothing because the active version is the same.</summary>
public sealed record DeployOutcome(int Version, bool Created, long Revision);

/// <summary>Apps changed after a revision (deleted ones included, as tombstones), and the store's revision now.</summary>
public sealed record StoreChanges(long Revision, IReadOnlyList<StoredApp> Apps);

public enum RollbackOutcome
{
    Done,
    NoSuchApp,
    NoSuchVersion,
}

/// <summary>
/// Where apps live: every node of a platform reads the same store, and learns of changes by following its revision (a
/// number every change bumps, in commit order). Two implementations: <see cref="SqliteAppStore"/> (embedded) and
/// <see cref="PostgresAppStore"/> (PostgreSQL, and CockroachDB through the same wire).
/// </summary>
public interface IAppStore : IAsyncDisposable
{
    /// <summary>Where the store is, for logs and messages (never a password).</summary>
    string Description { get; }

    /// <summary>Creates or upgrades the schema; safe when several nodes start at once.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>The number every change bumps.</summary>
    Task<long> GetRevisionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deploys <paramref name="archive"/> (content identified by <paramref name="sha256"/>) with <paramref name="variables"/>
    /// as the app's new active version, unless the active version is that same content with the same variables;
    /// <paramref name="warm"/> (the app's, set by every deploy) says whether nodes start it without waiting for a request.
    /// </summary>
    Task<DeployOutcome> DeployAsync(string name, string sha256, ReadOnlyMemory<byte> archive, IReadOnlyDictionary<string, string> variables, bool warm,
        CancellationToken cancellationToken, IReadOnlyList<string>? kvBindings = null);

    /// <summary>Apps that exist (not deleted), by name.</summary>
    Task<IReadOnlyList<StoredApp>> ListAppsAsync(CancellationToken cancellationToken);

    Task<StoredApp?> GetAppAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredVersion>> ListVersionsAsync(string name, CancellationToken cancellationToken);

    /// <summary>The archive of a bundle, or null.</summary>
    Task<byte[]?> GetArchiveAsync(string sha256, CancellationToken cancellationToken);

    Task<RollbackOutcome> RollbackAsync(string name, int version, CancellationToken cancellationToken);

    /// <summary>Removes the app and its versions; false when there is no such app.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);

    /// <summary>Apps whose last change came after <paramref name="revision"/>.</summary>
    Task<StoreChanges> GetChangesAsync(long revision, CancellationToken cancellationToken);
}
