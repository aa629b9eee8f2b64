using System.Formats.Tar;
using System.IO.Compression;

namespace LeanProxy.Engine.Apps;

/// <summary>Why an archive is not a bundle.</summary>
public enum BundleRejection
{
    /// <summary>Not a tar (or tar.gz) archive, or an entry that is not a regular file with a plain relative path.</summary>
    Invalid,

    /// <summary>More files than a bundle may hold.</summary>
    TooManyFiles,

    /// <summary>More bytes, unpacked, than a bundle may hold.</summary>
    TooLarge,

    /// <summary>No index.js or index.mjs at the top of the archive.</summary>
    NoEntry,
}

/// <summary>An archive that cannot be a bundle, with the reason and (when one is to blame) the entry.</summary>
public sealed class BundleArchiveException(BundleRejection reason, string message, string? entry = null) : Exception(message)
{
    public BundleRejection Reason { get; } = reason;

    public string? Entry { get; } = entry;
}

/// <summary>
/// A bundle as it travels and is stored: a tar archive (optionally gzip) of the app folder. Only regular files (and
/// directories, which are implied) with relative paths and no <c>..</c> are accepted; links, devices and anything else
/// are refused naming the entry. Limits hold unpacked, so a small gzip cannot unpack into gigabytes.
/// </summary>
public static class BundleArchive
{
    /// <summary>Files in a deployed bundle at most.</summary>
    public const int MaxFiles = 10_000;

    /// <summary>Bytes of a deployed bundle, unpacked, at most.</summary>
    public const long MaxUnpackedBytes = 256L * 1024 * 1024;

    private static readonly string[] EntryNames = ["/index.js", "/index.mjs"];

    /// <summary>Reads an archive into a bundle named <paramref name="name"/>; throws <see cref="BundleArchiveException"/>.</summary>
    public static AppBundle Read(string name, ReadOnlyMemory<byte> archive)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        long total = 0;
        try
        {
            using var stream = Open(archive);
            using var reader = new TarReader(stream);
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                var path = CheckPath(entry.Name);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        continue;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        break;
                    default:
                        throw new BundleArchiveException(BundleRejection.Invalid,
                            $"The entry {entry.Name} is a {Describe(entry.EntryType)}; a bundle holds regular files only.", entry.Name);
                }

                if (path is null)
                {
                    continue; // "./" itself
                }

                total += entry.Length;
                if (total > MaxUnpackedBytes)
                {
                    throw new BundleArchiveException(BundleRejection.TooLarge, $"The bundle unpacks to more than {MaxUnpackedBytes / (1024 * 1024)} MiB.",
                        entry.Name);
                }

                if (files.Count >= MaxFiles)
                {
                    throw new BundleArchiveException(BundleRejection.TooManyFiles, $"The bundle holds more than {MaxFiles} files.");
                }

                var content = new byte[entry.Length];
                entry.DataStream?.ReadExactly(content);
                if (!files.TryAdd(path, content))
                {
                    throw new BundleArchiveException(BundleRejection.Invalid, $"The entry {entry.Name} appears twice.", entry.Name);
                }
            }
        }
        // Found by bench/fuzz: a base-256 number too large for its field makes TarReader overflow (OverflowException),
        // and it refuses a sparse entry before returning it (NotSupportedException).
        catch (Exception ex) when (ex
            is InvalidDataException or FormatException or EndOfStreamException or InvalidOperationException or ArgumentException or OverflowException
                or NotSupportedException)
        {
            throw new BundleArchiveException(BundleRejection.Invalid, "The body is not a tar or tar.gz archive: " + ex.Message);
        }

        var entryPath = EntryNames.FirstOrDefault(files.ContainsKey)
            ?? throw new BundleArchiveException(BundleRejection.NoEntry,
                "The bundle has no index.js or index.mjs at its top: that is the module LeanProxy loads.");
        return AppBundle.FromFiles(name, entryPath, files);
    }

    /// <summary>
    /// Packs an app folder as tar.gz: the files <see cref="AppBundle.Load"/> reads (the app's own files, and of
    /// node_modules only what the import graph reaches), in path order, without owners or times, so the same files give
    /// the same bytes. Throws <see cref="ArgumentException"/> for a folder that is not an app.
    /// </summary>
    public static byte[] Pack(string folder)
    {
        var bundle = AppBundle.Load(folder);
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        using (var writer = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var path in bundle.Paths)
            {
                bundle.TryGetFile(path, out var file);
                using var content = new MemoryStream(file.Content.ToArray(), writable: false);
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path.TrimStart('/')) { DataStream = content,
                    ModificationTime = DateTimeOffset.UnixEpoch });
            }
        }

        return output.ToArray();
    }

    private static Stream Open(ReadOnlyMemory<byte> archive)
    {
        var bytes = archive.ToArray();
        Stream stream = new MemoryStream(bytes, writable: false);
        return bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b ? new GZipStream(stream, CompressionMode.Decompress) : stream;
    }

    /// <summary>The entry's bundle path ("/a/b.js"), null for the archive's root itself; throws for an unsafe path.</summary>
    private static string? CheckPath(string name)
    {
        var path = name.Replace('\\', '/');
        if (path.StartsWith('/') || (path.Length >= 2 && path[1] == ':'))
        {
            throw new BundleArchiveException(BundleRejection.Invalid, $"The entry {name} has an absolute path; bundle paths are relative.", name);
        }

        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToList();
        if (parts.Any(p => p == ".."))
        {
            throw new BundleArchiveException(BundleRejection.Invalid, $"The entry {name} climbs out of the bundle with '..'.", name);
        }

        if (parts.Any(p => p.Contains('\0', StringComparison.Ordinal)))
        {
            throw new BundleArchiveException(BundleRejection.Invalid, $"The entry {name} has a NUL in its path.", name);
        }

        return parts.Count == 0 ? null : "/" + string.Join('/', parts);
    }

    private static string Describe(TarEntryType type) => type switch
    {
        TarEntryType.SymbolicLink => "symbolic link",
        TarEntryType.HardLink => "hard link",
        TarEntryType.CharacterDevice => "character device",
        TarEntryType.BlockDevice => "block device",
        TarEntryType.Fifo => "FIFO",
        _ => type.ToString(),
    };
}
