namespace LeanProxy.Store;

/// <summary>One stored value of a KV namespace.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1819", Justification = "Keys and values are bytes, each array handed to one owner.")]
public sealed record KvEntry(byte[] Key, byte[] Value, string? Metadata, long? Expiration);

/// <summary>One key of a listing: its name, expiration (seconds since the epoch) and metadata (JSON), not its value.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1819", Justification = "Keys and values are bytes, each array handed to one owner.")]
public sealed record KvKey(byte[] Key, long? Expiration, string? Metadata);

/// <summary>A page of a listing: the keys in byte order, and whether more follow.</summary>
public sealed record KvPage(IReadOnlyList<KvKey> Keys, bool Complete);

/// <summary>One write in the log of KV changes: <see cref="Binding"/> null means the whole app, <see cref="Key"/> null the whole binding.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1819", Justification = "Keys and values are bytes, each array handed to one owner.")]
public sealed record KvChange(long Seq, string App, string? Binding, byte[]? Key, string Origin);

/// <summary>
/// The values behind handlers' <c>env.BINDING</c> (Workers KV's API, see the engine's KV binding): namespaces are an
/// app's and a binding's, keys are UTF-8 bytes compared in byte order, expired entries are never returned and are
/// removed. Every write is committed when the call returns.
/// </summary>
public interface IKvStore
{
    Task<IReadOnlyList<KvEntry>> GetAsync(string app, string binding, IReadOnlyList<byte[]> keys, long now, CancellationToken cancellationToken);

    Task PutAsync(string app, string binding, byte[] key, byte[] value, string? metadata, long? expiration, long now, CancellationToken cancellationToken);

    Task DeleteAsync(string app, string binding, byte[] key, CancellationToken cancellationToken);

    /// <summary>Keys after <paramref name="after"/> (exclusive; null from the start) that begin with
    /// <paramref name="prefix"/>, at most <paramref name="limit"/>.</summary>
    Task<KvPage> ListAsync(string app, string binding, byte[] prefix, byte[]? after, int limit, long now, CancellationToken cancellationToken);

    /// <summary>Removes every namespace of an app (when the app is deleted).</summary>
    Task DeleteAppAsync(string app, CancellationToken cancellationToken);

    /// <summary>
    /// Names this store object's writes in the log of changes. Every write (put, delete, an app's deletion) is logged
    /// with it in the same transaction, so that nodes that cache values learn what changed.
    /// </summary>
    string Origin { get; }

    /// <summary>The sequence number of the newest change (0 when none).</summary>
    Task<long> GetLastChangeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Changes after <paramref name="after"/> in sequence order, at most <paramref name="limit"/>. Numbers may be
    /// committed out of order (a later one first): a reader keeps an eye on the holes for a while. Changes are kept for
    /// <see cref="SqlAppStore.ChangeRetention"/>.
    /// </summary>
    Task<IReadOnlyList<KvChange>> ReadChangesAsync(long after, int limit, CancellationToken cancellationToken);
}
