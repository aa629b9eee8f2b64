using System.Text;
using System.Text.Json;
using LeanProxy.Engine.Apps;

namespace LeanProxy.Engine.Modules;

/// <summary>A module specifier that cannot work in the page, with the app's own file and line of the import.</summary>
public sealed record ImportProblem(string File, int Line, int Column, string Specifier, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}

/// <summary>
/// The app's module graph, walked from its entry without running it: every module reached by relative imports and by
/// bare specifiers resolved from <c>node_modules</c> the way Node's ESM resolver does for a browser/worker target
/// (<see cref="PackageResolver"/>). Gives the page its import map (bare specifier → file), the files the graph reaches
/// (what a deploy must carry), and the problems: a Node built-in, a package that is not installed or is CommonJS only.
/// </summary>
public sealed class ImportGraph
{
    private static readonly string[] ScriptExtensions = [".js", ".mjs"];

    private readonly Func<string, byte[]?> _read;
    private readonly Func<string, string> _describe;
    private readonly Dictionary<string, Dictionary<string, string>> _scopes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reached = new(StringComparer.Ordinal);
    private readonly List<ImportProblem> _problems = [];

    private ImportGraph(Func<string, byte[]?> read, Func<string, string> describe)
    {
        _read = read;
        _describe = describe;
    }

    /// <summary>Bundle paths the graph reaches: the modules, the package.json files consulted, and relative non-script imports.</summary>
    public IReadOnlyCollection<string> Reached => _reached;

    public IReadOnlyList<ImportProblem> Problems => _problems;

    /// <summary>The import map for the page, or null when no bare specifier is imported.</summary>
    public string? ImportMapJson { get; private set; }

    /// <summary>Script modules scanned.</summary>
    public int Modules { get; private set; }

    /// <summary>Packages the graph reaches.</summary>
    public int Packages => _reached.Select(PackageResolver.PackageRootOf).OfType<string>().Distinct(StringComparer.Ordinal).Count();

    /// <summary>How long walking the graph took (once per app version).</summary>
    public TimeSpan Elapsed { get; private set; }

    /// <summary>Walks a bundle's graph from its entry.</summary>
    public static ImportGraph Build(AppBundle bundle) =>
        Build(bundle.EntryPath, path => bundle.TryGetFile(path, out var file) ? file.Content.ToArray() : null, bundle.Describe);

    /// <summary>Walks the graph of the files <paramref name="read"/> gives (bundle paths: "/index.js").</summary>
    public static ImportGraph Build(string entry, Func<string, byte[]?> read, Func<string, string> describe)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var graph = new ImportGraph(read, describe);
        graph.Walk(entry);
        graph.ImportMapJson = graph.WriteImportMap();
        graph.Elapsed = stopwatch.Elapsed;
        return graph;
    }

    private void Walk(string entry)
    {
        var pending = new Queue<string>();
        pending.Enqueue(entry);
        _reached.Add(entry);
        var resolver = new PackageResolver(_read, path => _reached.Add(path));
        while (pending.TryDequeue(out var module))
        {
            if (!ScriptExtensions.Any(e => module.EndsWith(e, StringComparison.Ordinal)) || _read(module) is not { } bytes)
            {
                continue;
            }

            Modules++;
            var scan = ModuleScanner.Scan(Encoding.UTF8.GetString(bytes));
            foreach (var import in scan.Imports)
            {
                var target = Resolve(module, import, resolver);
                if (target is not null && _reached.Add(target))
                {
                    pending.Enqueue(target);
                }
            }
        }
    }

    /// <summary>The bundle path an import leads to (null when it leaves the bundle, e.g. a URL, or is a problem).</summary>
    private string? Resolve(string importer, ImportSpecifier import, PackageResolver resolver)
    {
        var specifier = import.Specifier;
        if (specifier.StartsWith("./", StringComparison.Ordinal) || specifier.StartsWith("../", StringComparison.Ordinal) || specifier.StartsWith('/'))
        {
            var path = Combine(importer, specifier);
            return _read(path) is null ? null : path; // a missing relative file is the page's to report (with its file name)
        }

        if (Uri.TryCreate(specifier, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" or "data" or "blob")
        {
            return null;
        }

        if (specifier.StartsWith("node:", StringComparison.Ordinal))
        {
            Problem(importer, import, BuiltinMessage(specifier));
            return null;
        }

        var result = resolver.Resolve(importer, specifier);
        switch (result.Outcome)
        {
            case ResolveOutcome.Resolved:
                var file = _read(result.Path!);
                if (result.Path!.EndsWith(".cjs",
                    StringComparison.Ordinal) || (file is not null && ModuleScanner.Scan(Encoding.UTF8.GetString(file)).LooksCommonJs))
                {
                    Problem(importer, import,
                        $"imports '{specifier}', but the package {result.Package} is CommonJS only ({result.Path}): a browser cannot load it as a module. " +
                            $"Use a version or a package that ships ES modules (package.json \"exports\" with \"import\", or \"module\").");
                    return null;
                }

                Map(importer, specifier, result.Path!);
                return result.Path;
            case ResolveOutcome.NotInstalled when NodeBuiltins.IsBuiltin(specifier):
                // An installed package of that name (a polyfill such as "buffer") wins, as in a bundler.
                Problem(importer, import, BuiltinMessage(specifier));
                return null;
            case ResolveOutcome.NotInstalled:
                Problem(importer, import,
                    $"imports '{specifier}', but the package {result.Package} is not installed: run npm install {result.Package} in the app's folder.");
                return null;
            default:
                Problem(importer, import, $"imports '{specifier}', which the package {result.Package} does not provide: {result.Message}");
                return null;
        }
    }

    private static string BuiltinMessage(string specifier) =>
        $"imports '{specifier}', a Node.js built-in module, which a browser does not have. Use a web API instead (fetch, crypto.subtle, TextEncoder, " +
            $"streams…) or a package written for browsers.";

    /// <summary>
    /// A static import that cannot work refuses the app; a literal dynamic one does not (packages written for several
    /// runtimes often guard <c>await import("node:fs")</c> behind a check), and fails only if the page ever runs it.
    /// </summary>
    private void Problem(string importer, ImportSpecifier import, string message)
    {
        if (!import.Dynamic)
        {
            _problems.Add(new ImportProblem(_describe(importer), import.Line, import.Column, import.Specifier, message));
        }
    }

    /// <summary>Bare specifiers from the app's own files go to the map's imports; those from inside a package to its scope.</summary>
    private void Map(string importer, string specifier, string path)
    {
        var scope = PackageResolver.PackageRootOf(importer) is { } root ? root + "/" : "/";
        if (!_scopes.TryGetValue(scope, out var map))
        {
            _scopes[scope] = map = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        map[specifier] = path;
    }

    private string? WriteImportMap()
    {
        if (_scopes.Count == 0)
        {
            return null;
        }

        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("imports");
            foreach (var (specifier, path) in _scopes.GetValueOrDefault("/") ?? [])
            {
                writer.WriteString(specifier, path);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("scopes");
            foreach (var (scope, map) in _scopes.Where(s => s.Key != "/").OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject(scope);
                foreach (var (specifier, path) in map)
                {
                    writer.WriteString(specifier, path);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Resolves a relative specifier against the importing module's path, as a URL would.</summary>
    internal static string Combine(string importer, string specifier)
    {
        var query = specifier.IndexOfAny(['?', '#']);
        if (query >= 0)
        {
            specifier = specifier[..query];
        }

        var parts = specifier.StartsWith('/') ? new List<string>() : importer.Split('/', StringSplitOptions.RemoveEmptyEntries).SkipLast(1).ToList();
        foreach (var part in specifier.Split('/'))
        {
            if (part is "." or "")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
    }
}

/// <summary>The modules Node.js has built in (with or without <c>node:</c>): none exists in a browser.</summary>
public static class NodeBuiltins
{
    private static readonly HashSet<string> Names = new(StringComparer.Ordinal)
    {
        "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "constants", "crypto", "dgram",
        "diagnostics_channel", "dns", "domain", "events", "fs", "http", "http2", "https", "inspector", "module", "net",
        "os", "path", "perf_hooks", "process", "punycode", "querystring", "readline", "repl", "stream", "string_decoder",
        "sys", "timers", "tls", "trace_events", "tty", "url", "util", "v8", "vm", "wasi", "worker_threads", "zlib",
    };

    public static bool IsBuiltin(string specifier)
    {
        if (specifier.StartsWith("node:", StringComparison.Ordinal))
        {
            return true;
        }

        var slash = specifier.IndexOf('/');
        return Names.Contains(slash < 0 ? specifier : specifier[..slash]);
    }
}
