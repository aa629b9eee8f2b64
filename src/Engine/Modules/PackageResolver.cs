using System.Text.Json;

namespace LeanProxy.Engine.Modules;

public enum ResolveOutcome
{
    Resolved,
    NotInstalled,
    NotExported,
}

public readonly record struct ResolveResult(ResolveOutcome Outcome, string Package, string? Path = null, string? Message = null);

/// <summary>
/// Resolves a bare specifier (<c>hono</c>, <c>hono/cors</c>, <c>@scope/pkg/sub</c>) from <c>node_modules</c> the way
/// Node's ESM resolver does, for a browser/worker target:
/// <list type="number">
/// <item>the package is looked for in <c>node_modules</c> of the importing file's folder, then of each parent folder;</item>
/// <item>its package.json <c>exports</c>, when present, decides alone: a string, an array (first that resolves), or
/// conditions, taken in the object's own order, the first whose name is one of <see cref="Conditions"/>
/// (<c>worker</c>, <c>browser</c>, <c>module</c>, <c>import</c>, <c>default</c>); subpaths (<c>"./cors"</c>) and
/// subpath patterns (<c>"./*"</c>, the longest matching prefix first); <c>null</c> hides a subpath;</item>
/// <item>without <c>exports</c>: the root is <c>module</c>, then <c>main</c>, then <c>index.js</c>; a subpath is that
/// file, or with <c>.js</c>, or its <c>index.js</c>.</item>
/// </list>
/// </summary>
public sealed class PackageResolver(Func<string, byte[]?> read, Action<string> consulted)
{
    /// <summary>The conditions a browser/worker target matches (the object's order decides among them).</summary>
    public static readonly IReadOnlySet<string> Conditions = new HashSet<string>(StringComparer.Ordinal) { "worker", "browser", "module", "import", "default" };

    private readonly Dictionary<string, JsonDocument?> _manifests = new(StringComparer.Ordinal);

    public ResolveResult Resolve(string importer, string specifier)
    {
        var (name, subpath) = Split(specifier);
        foreach (var folder in Folders(importer))
        {
            var root = (folder == "/" ? string.Empty : folder) + "/node_modules/" + name;
            var manifest = Manifest(root);
            if (manifest is null && read(root + "/index.js") is null)
            {
                continue;
            }

            return manifest?.RootElement.TryGetProperty("exports", out var exports) == true && exports.ValueKind != JsonValueKind.Null
                ? FromExports(name, root, subpath, exports)
                : FromFields(name, root, subpath, manifest?.RootElement);
        }

        return new ResolveResult(ResolveOutcome.NotInstalled, name);
    }

    /// <summary>The package root ("/node_modules/x" or "/node_modules/@s/x", nested ones included) a path belongs to,
    /// or null for the app's own files.</summary>
    public static string? PackageRootOf(string path)
    {
        var index = path.LastIndexOf("/node_modules/", StringComparison.Ordinal);
        if (index < 0)
        {
            return null;
        }

        var rest = path[(index + "/node_modules/".Length)..].Split('/');
        var segments = rest[0].StartsWith('@') && rest.Length > 1 ? 2 : 1;
        return path[..(index + "/node_modules/".Length)] + string.Join('/', rest.Take(segments));
    }

    private static (string Name, string Subpath) Split(string specifier)
    {
        var parts = specifier.Split('/');
        var count = specifier.StartsWith('@') && parts.Length > 1 ? 2 : 1;
        var name = string.Join('/', parts.Take(count));
        var rest = string.Join('/', parts.Skip(count));
        return (name, rest.Length == 0 ? "." : "./" + rest);
    }

    /// <summary>The importing file's folder and its parents, up to the bundle's root.</summary>
    private static IEnumerable<string> Folders(string importer)
    {
        var parts = importer.Split('/', StringSplitOptions.RemoveEmptyEntries).SkipLast(1).ToList();
        for (var count = parts.Count; count >= 0; count--)
        {
            if (count > 0 && parts[count - 1] == "node_modules")
            {
                continue; // node_modules/node_modules is never looked in
            }

            yield return "/" + string.Join('/', parts.Take(count));
        }
    }

    private JsonDocument? Manifest(string root)
    {
        if (_manifests.TryGetValue(root, out var cached))
        {
            return cached;
        }

        JsonDocument? manifest = null;
        if (read(root + "/package.json") is { } bytes)
        {
            consulted(root + "/package.json");
            try
            {
                manifest = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            }
            catch (JsonException)
            {
                manifest = null;
            }
        }

        _manifests[root] = manifest;
        return manifest;
    }

    private ResolveResult FromExports(string name, string root, string subpath, JsonElement exports)
    {
        // "exports": "./x.js" or [ … ] or { "import": …, … } all mean the root; otherwise the keys are subpaths.
        var hasSubpathKeys = exports.ValueKind == JsonValueKind.Object && exports.EnumerateObject().Any(p => p.Name.StartsWith('.'));
        JsonElement? target = null;
        string? star = null;
        if (!hasSubpathKeys)
        {
            if (subpath == ".")
            {
                target = exports;
            }
        }
        else if (exports.TryGetProperty(subpath, out var exact))
        {
            target = exact;
        }
        else
        {
            // Subpath patterns: the key whose part before '*' is the longest prefix of the subpath wins.
            foreach (var property in exports.EnumerateObject().Where(p => p.Name.Count(c => c == '*') == 1).OrderByDescending(p
                => p.Name.IndexOf('*')).ThenByDescending(p => p.Name.Length))
            {
                var before = property.Name[..property.Name.IndexOf('*')];
                var after = property.Name[(property.Name.IndexOf('*') + 1)..];
                if (subpath.StartsWith(before, StringComparison.Ordinal) && subpath.EndsWith(after,
                    StringComparison.Ordinal) && subpath.Length >= before.Length + after.Length)
                {
                    target = property.Value;
                    star = subpath[before.Length..(subpath.Length - after.Length)];
                    break;
                }
            }
        }

        if (target is null)
        {
            return new ResolveResult(ResolveOutcome.NotExported, name, Message: $"its package.json \"exports\" has no \"{subpath}\"");
        }

        var resolved = Target(target.Value, star);
        if (resolved is null)
        {
            return new ResolveResult(ResolveOutcome.NotExported, name,
                Message: $"its package.json \"exports\" for \"{subpath}\" has no target for a browser (conditions matched: {string.Join(", ", Conditions)})");
        }

        var path = root + "/" + resolved.TrimStart('.', '/');
        return read(path) is null
            ? new ResolveResult(ResolveOutcome.NotExported, name, Message: $"its \"exports\" point at {resolved}, which is not in the package")
            : new ResolveResult(ResolveOutcome.Resolved, name, path);
    }

    /// <summary>A target: a string (with '*' replaced), the first of an array that resolves, or the first matching condition.</summary>
    private static string? Target(JsonElement target, string? star)
    {
        switch (target.ValueKind)
        {
            case JsonValueKind.String:
                var text = target.GetString()!;
                if (!text.StartsWith("./", StringComparison.Ordinal))
                {
                    return null;
                }

                return star is null ? text : text.Replace("*", star, StringComparison.Ordinal);
            case JsonValueKind.Array:
                foreach (var item in target.EnumerateArray())
                {
                    if (Target(item, star) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValueKind.Object:
                foreach (var condition in target.EnumerateObject())
                {
                    if (Conditions.Contains(condition.Name) && Target(condition.Value, star) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private ResolveResult FromFields(string name, string root, string subpath, JsonElement? manifest)
    {
        var candidates = new List<string>();
        if (subpath == ".")
        {
            foreach (var field in new[] { "module", "main" })
            {
                if (manifest is { } m && m.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    var file = value.GetString()!.TrimStart('.', '/');
                    candidates.AddRange([file, file + ".js", file + "/index.js"]);
                }
            }

            candidates.Add("index.js");
        }
        else
        {
            var file = subpath[2..];
            candidates.AddRange([file, file + ".js", file + "/index.js"]);
        }

        foreach (var candidate in candidates)
        {
            var path = root + "/" + candidate;
            if (read(path) is not null)
            {
                return new ResolveResult(ResolveOutcome.Resolved, name, path);
            }
        }

        return new ResolveResult(ResolveOutcome.NotExported, name, Message: $"no file for \"{subpath}\" (tried {string.Join(", ", candidates)})");
    }
}
