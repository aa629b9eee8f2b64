namespace LeanProxy.Engine;

/// <summary>Where an app's files are and which one is its entry module.</summary>
public sealed class AppSource
{
    private AppSource(string root, string entry, string name)
    {
        Root = root;
        Entry = entry;
        Name = name;
    }

    /// <summary>The folder whose files are served to the page (relative imports resolve inside it).</summary>
    public string Root { get; }

    /// <summary>The entry module, an absolute path inside <see cref="Root"/>.</summary>
    public string Entry { get; }

    /// <summary>A short name for logs.</summary>
    public string Name { get; }

    /// <summary>The entry's URL path on the page server (e.g. "/index.js").</summary>
    public string EntryUrlPath => "/" + Path.GetRelativePath(Root, Entry).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>Resolves an APP argument; throws <see cref="ArgumentException"/> with a message for the user.</summary>
    public static AppSource Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            foreach (var name in new[] { "index.js", "index.mjs" })
            {
                var entry = Path.Combine(full, name);
                if (File.Exists(entry))
                {
                    return new AppSource(full, entry, Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)));
                }
            }

            throw new ArgumentException($"APP {path} is a folder without index.js or index.mjs.");
        }

        if (File.Exists(full))
        {
            return new AppSource(Path.GetDirectoryName(full)!, full, Path.GetFileNameWithoutExtension(full));
        }

        throw new ArgumentException($"APP {path} does not exist.");
    }
}
