using System.Buffers.Binary;
using System.Collections.Frozen;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using LeanProxy.Engine.Modules;

namespace LeanProxy.Engine.Apps;

/// <summary>One file of a bundle: its bytes and the content type the page server sends it with.</summary>
public sealed record AppFile(ReadOnlyMemory<byte> Content, string ContentType);

/// <summary>
/// An app version's files, in memory and immutable: URL path ("/index.js") → bytes and content type, the entry module,
/// a content id for logs and the SHA-256 of the whole (paths and contents). Loaded once; the page server serves from it
/// and never reads the disk per request, so two versions of an app can be live at once.
/// </summary>
public sealed class AppBundle
{
    /// <summary>Files in one bundle at most.</summary>
    public const int MaxFiles = 50_000;

    /// <summary>Bytes in one bundle at most.</summary>
    public const long MaxBytes = 256L * 1024 * 1024;

    private static readonly string[] EntryNames = ["index.js", "index.mjs"];

    private readonly FrozenDictionary<string, AppFile> _files;
    private readonly Lazy<ImportGraph> _imports;
    private readonly Lazy<string> _sha256;

    private AppBundle(string name, string entryPath, FrozenDictionary<string, AppFile> files, string contentId, long size, string? sourceRoot,
        ImportGraph? imports)
    {
        Name = name;
        EntryPath = entryPath;
        _files = files;
        ContentId = contentId;
        _sha256 = new Lazy<string>(() => Digest(this));
        Size = size;
        SourceRoot = sourceRoot;
        _imports = imports is null ? new Lazy<ImportGraph>(() => ImportGraph.Build(this)) : new Lazy<ImportGraph>(imports);
    }

    /// <summary>The module graph from the entry: the page's import map and the imports that cannot work (computed once).</summary>
    public ImportGraph Imports => _imports.Value;

    /// <summary>A short name for logs (the folder's or the entry file's name, or the deployed app's name).</summary>
    public string Name { get; }

    /// <summary>The entry module's URL path, e.g. "/index.js".</summary>
    public string EntryPath { get; }

    /// <summary>
    /// Lower-case hex SHA-256 over every path and content, in path order: how the store addresses a deployed bundle.
    /// Computed when first asked for — <c>serve APP</c> never asks, so the host does not load OpenSSL (3.6 MB).
    /// </summary>
    public string Sha256 => _sha256.Value;

    /// <summary>
    /// Lower-case hex XXH3 (64 bits) over the same as <see cref="Sha256"/>: the version <c>serve APP</c> shows in logs and
    /// on the status page. It tells two bundles apart; it is not a defence against a bundle made to collide.
    /// </summary>
    public string ContentId { get; }

    /// <summary>Bytes of all files.</summary>
    public long Size { get; }

    public int FileCount => _files.Count;

    /// <summary>The folder the bundle was read from (for error messages that name the user's files), or null.</summary>
    public string? SourceRoot { get; }

    public bool TryGetFile(string path, out AppFile file) => _files.TryGetValue(path, out file!);

    public IEnumerable<string> Paths => _files.Keys.Order(StringComparer.Ordinal);

    /// <summary>A user-facing location of a bundle path: the file on disk when the bundle came from one.</summary>
    public string Describe(string path) =>
        SourceRoot is null ? path : Path.Combine(SourceRoot, path.TrimStart('/').Replace('/', Path.DirectorySeparatorChar));

    /// <summary>
    /// Reads an APP argument: an entry module file (its folder's files are the bundle) or a folder whose index.js /
    /// index.mjs is the entry. The app's own files are all read; of <c>node_modules</c>, only the files its import
    /// graph reaches (the packages' modules and package.json files), so a folder with development packages installed
    /// stays small. Throws <see cref="ArgumentException"/> with a message for the user.
    /// </summary>
    public static AppBundle Load(string path)
    {
        var (root, entry, name) = Resolve(path);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        long size = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
        foreach (var file in Directory.EnumerateFiles(root, "*", options))
        {
            var relative = Path.GetRelativePath(root, file);
            // .leanproxy holds serve's own state (the embedded KV file): never part of the app.
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is ".git" or "node_modules" or ".leanproxy"))
            {
                continue;
            }

            Add("/" + relative.Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllBytes(file));
        }

        var entryPath = "/" + Path.GetRelativePath(root, entry).Replace(Path.DirectorySeparatorChar, '/');
        var fromDisk = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
        byte[]? Read(string bundlePath)
        {
            if (files.TryGetValue(bundlePath, out var own))
            {
                return own;
            }

            if (!bundlePath.Contains("/node_modules/", StringComparison.Ordinal))
            {
                return null;
            }

            if (!fromDisk.TryGetValue(bundlePath, out var content))
            {
                var full = Path.GetFullPath(Path.Combine(root, bundlePath.TrimStart('/')));
                content = full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) && File.Exists(full) ? File.ReadAllBytes(full) : null;
                fromDisk[bundlePath] = content;
            }

            return content;
        }

        var graph = ImportGraph.Build(entryPath, Read, p => Path.Combine(root, p.TrimStart('/').Replace('/', Path.DirectorySeparatorChar)));
        foreach (var reached in graph.Reached.Where(p => !files.ContainsKey(p)))
        {
            if (Read(reached) is { } content)
            {
                Add(reached, content);
            }
        }

        var map = files.ToDictionary(f => f.Key, f => new AppFile(f.Value, ContentTypes.For(f.Key)), StringComparer.Ordinal);
        return Create(name, entryPath, map, root, graph);

        void Add(string bundlePath, byte[] content)
        {
            size += content.Length;
            if (files.Count >= MaxFiles || size > MaxBytes)
            {
                throw new ArgumentException($"APP {path}: the folder {root} holds more than {MaxFiles} files or {MaxBytes / (1024 * 1024)} MiB; give the " +
                    $"app a folder of its own.");
            }

            files[bundlePath] = content;
        }
    }

    /// <summary>A bundle from files already in memory (paths start with '/').</summary>
    public static AppBundle FromFiles(string name, string entryPath, IReadOnlyDictionary<string, byte[]> files)
    {
        var map = files.ToDictionary(f => f.Key, f => new AppFile(f.Value, ContentTypes.For(f.Key)), StringComparer.Ordinal);
        if (!map.ContainsKey(entryPath))
        {
            throw new ArgumentException($"The bundle has no entry module {entryPath}.");
        }

        return Create(name, entryPath, map, null, null);
    }

    /// <summary>Checks an APP argument without reading it; throws <see cref="ArgumentException"/> with a message for the user.</summary>
    public static void Check(string path) => Resolve(path);

    private static AppBundle Create(string name, string entryPath, Dictionary<string, AppFile> files, string? root, ImportGraph? imports)
    {
        var hash = new XxHash3();
        Frame(files, hash.Append);
        var size = files.Values.Sum(file => (long)file.Content.Length);
        return new AppBundle(name, entryPath, files.ToFrozenDictionary(StringComparer.Ordinal), Convert.ToHexStringLower(hash.GetCurrentHash()), size, root,
            imports);
    }

    private static string Digest(AppBundle bundle)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Frame(bundle._files, hash.AppendData);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The bytes both hashes read: per file, in path order, its UTF-8 path, a 0, its length (8 bytes, little-endian) and its content.</summary>
    private static void Frame(IReadOnlyDictionary<string, AppFile> files, Action<ReadOnlySpan<byte>> append)
    {
        Span<byte> length = stackalloc byte[8];
        foreach (var path in files.Keys.Order(StringComparer.Ordinal))
        {
            var content = files[path].Content.Span;
            BinaryPrimitives.WriteInt64LittleEndian(length, content.Length);
            append(Encoding.UTF8.GetBytes(path));
            append([0]);
            append(length);
            append(content);
        }
    }

    private static (string Root, string Entry, string Name) Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            foreach (var name in EntryNames)
            {
                var entry = Path.Combine(full, name);
                if (File.Exists(entry))
                {
                    return (full, entry, Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)));
                }
            }

            throw new ArgumentException($"APP {path} is a folder without index.js or index.mjs.");
        }

        if (File.Exists(full))
        {
            return (Path.GetDirectoryName(full)!, full, Path.GetFileNameWithoutExtension(full));
        }

        throw new ArgumentException($"APP {path} does not exist.");
    }
}
