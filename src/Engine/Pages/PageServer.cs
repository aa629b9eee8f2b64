using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using LeanProxy.Engine.Apps;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Pages;

/// <summary>
/// The internal page server of one app version (127.0.0.1, ephemeral port, never exposed; a host name of its own): serves the bootstrap
/// page, the runtime's modules and the files of the app's bundle from memory, so the app's relative imports work.
/// Built on the same HTTP/1.1 listener as the public one. Each app version gets its own server, hence its own origin;
/// a server prepared ahead for the next app (<see cref="PreparedContext"/>) serves the runtime until it is assigned one.
/// </summary>
internal sealed class PageServer : IProxyRequestHandler, IAsyncDisposable
{
    public const string Prefix = "/__leanproxy/";
    public const string RuntimePrefix = Prefix + "runtime/";

    /// <summary>The page runtime's modules (Runtime/*.js), by URL path.</summary>
    internal static readonly FrozenDictionary<string, byte[]> RuntimeModules = LoadRuntime();

    private readonly ILogger _logger;
    private readonly ConcurrentQueue<string> _missing = new();
    private volatile Served? _served;
    private SocketListener? _listener;

    /// <summary>A page server for one app version.</summary>
    public PageServer(AppBundle bundle, IReadOnlyDictionary<string, string> variables, ILogger logger, IReadOnlyList<string>? kvBindings = null)
        : this(logger)
    {
        Assign(bundle, variables, kvBindings);
    }

    /// <summary>A page server prepared ahead (<see cref="PreparedContext"/>): it serves the runtime and a page that
    /// loads it, no app until <see cref="Assign"/>.</summary>
    public PageServer(ILogger logger)
    {
        _logger = logger;
    }

    /// <summary>What the server serves once it is an app's: its bundle, bootstrap page and boot module.</summary>
    private sealed record Served(AppBundle Bundle, byte[] BootPage, byte[] BootModule);

    /// <summary>The app version this server serves from now on (once).</summary>
    public void Assign(AppBundle bundle, IReadOnlyDictionary<string, string> variables, IReadOnlyList<string>? kvBindings = null)
    {
        // The import map (bare specifiers → files of node_modules) must come before the first module script.
        var importMapScript = bundle.Imports.ImportMapJson is { } map
            ? $"<script type=\"importmap\">{map.Replace("</", "<\\/", StringComparison.Ordinal)}</script>\n"
            : string.Empty;
        var bootPage = Encoding.UTF8.GetBytes(BootPage.Replace("<!-- app -->", importMapScript + RuntimePreloads + BootScript, StringComparison.Ordinal));
        var config = "{\"env\":" + JsonSerializer.Serialize(new Dictionary<string, string>(variables), EngineJsonContext.Default.DictionaryStringString)
            + ",\"kv\":" + JsonSerializer.Serialize((kvBindings ?? []).ToArray(), EngineJsonContext.Default.StringArray) + "}";
        var bootModule = Encoding.UTF8.GetBytes(
            // The runtime first: it installs Request, Response and fetch before the app's modules are evaluated.
            $"import {{ start }} from \"{RuntimePrefix}index.js\";\n" +
            $"import * as app from {JsonSerializer.Serialize(bundle.EntryPath, EngineJsonContext.Default.String)};\n" +
            $"start(app, {config});\n");
        if (Interlocked.CompareExchange(ref _served, new Served(bundle, bootPage, bootModule), null) is not null)
        {
            throw new InvalidOperationException("The page server already serves an app.");
        }
    }

    /// <summary>The import map of the app (null when it has none), for a prepared page to add before it loads the app.</summary>
    public string? ImportMap => _served?.Bundle.Imports.ImportMapJson;

    /// <summary>
    /// The page's origin, e.g. http://lp-3f9a0c1d2e4b.localhost:41234: a host name of its own under <c>localhost</c>
    /// (Chromium resolves every <c>*.localhost</c> to loopback itself, and treats it as a secure context), so that each
    /// app version is its own site, not only its own origin. The server listens on 127.0.0.1.
    /// </summary>
    public Uri Origin => new($"http://{Host}:{_listener!.EndPoint.Port}");

    /// <summary>The origin's host name.</summary>
    public string Host { get; } = "lp-" + Guid.NewGuid().ToString("N")[..12] + ".localhost";

    public Uri BootstrapUrl => new(Origin, Prefix + "index.html");

    /// <summary>Where this server's tabs connect their data planes.</summary>
    public DataPlane.DataPlaneEndpoint DataPlanes { get; } = new();

    /// <summary>The URL a tab's page opens its data plane on.</summary>
    public string DataPlaneUrl(DataPlane.TabDataPlane plane) => $"ws://{Host}:{_listener!.EndPoint.Port}{DataPlane.DataPlaneEndpoint.Prefix}{plane.Token}";

    /// <summary>Paths the page asked for that do not exist (to explain a module that failed to load).</summary>
    public IReadOnlyCollection<string> MissingPaths => _missing;

    public void Start()
    {
        // Its pages fetch their modules at load and rarely after: a kept-alive connection closes after 10 s idle (not
        // the public listener's 120 s), so that an idle app's node has no connection to watch and wakes nobody.
        var driver = new HttpDriver(this, new HttpListenerOptions { MaxBodyBytes = 0, KeepAliveTimeout = TimeSpan.FromSeconds(10) }, _logger);
        _listener = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), driver, maxConnections: 256, _logger);
        _listener.Start();
    }

    /// <summary>Maps a page URL (http://lp-….localhost:port/x.js) back to the app's file, for error messages.</summary>
    public string Describe(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && _listener is not null && uri.Port == _listener.EndPoint.Port && _served is { } served
            ? served.Bundle.Describe(Uri.UnescapeDataString(uri.AbsolutePath))
            : url;

    public ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken)
    {
        if (request.KnownMethod is not (Listener.HttpMethod.Get or Listener.HttpMethod.Head))
        {
            return ValueTask.FromResult(ProxyResponse.Text(405, "Method Not Allowed"));
        }

        // Only to its own pages: a request another site's page made (Sec-Fetch-Site other than same-origin, or none for
        // the tab's own navigation) is answered as if nothing were here. The egress proxy refuses it before that.
        if (request.GetHeader("Sec-Fetch-Site") is { } site && site is not ("same-origin" or "none"))
        {
            EngineLog.PageServerMissing(_logger, "(a " + site + " request)");
            return ValueTask.FromResult(ProxyResponse.Text(404, "Not Found"));
        }

        var served = _served;
        var target = request.TargetString;
        var query = target.IndexOfAny(['?', '#']);
        var path = Uri.UnescapeDataString(query >= 0 ? target[..query] : target);
        if (path.StartsWith(DataPlane.DataPlaneEndpoint.Prefix, StringComparison.Ordinal))
        {
            return ValueTask.FromResult(DataPlanes.Handle(request, path, Origin));
        }

        return ValueTask.FromResult(path switch
        {
            Prefix + "index.html" => File(served?.BootPage ?? PreparedPage, "text/html; charset=utf-8"),
            Prefix + "boot.js" when served is not null => File(served.BootModule, ContentTypes.JavaScript),
            Prefix + "prepared.js" => File(PreparedModule, ContentTypes.JavaScript),
            "/favicon.ico" => new ProxyResponse(204),
            _ when path.StartsWith(RuntimePrefix, StringComparison.Ordinal) && RuntimeModules.TryGetValue(path, out var module) => File(module,
                ContentTypes.JavaScript),
            _ => ServeAppFile(served, path),
        });
    }

    private ProxyResponse ServeAppFile(Served? served, string path)
    {
        if (served is null || !served.Bundle.TryGetFile(path, out var file))
        {
            _missing.Enqueue(path);
            EngineLog.PageServerMissing(_logger, path);
            return ProxyResponse.Text(404, "Not Found");
        }

        return File(file.Content, file.ContentType);
    }

    private static ProxyResponse File(ReadOnlyMemory<byte> content, string contentType)
    {
        var response = new ProxyResponse(200) { Body = content };
        response.Headers.Add(new("Content-Type", contentType));
        response.Headers.Add(new("Cache-Control", "no-store"));
        return response;
    }

    private static FrozenDictionary<string, byte[]> LoadRuntime()
    {
        const string resourcePrefix = "LeanProxy.Engine.Runtime.";
        var assembly = Assembly.GetExecutingAssembly();
        var modules = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(resourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            modules[RuntimePrefix + name[resourcePrefix.Length..]] = memory.ToArray();
        }

        return modules.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }
    }

    // The tab is created directly on this page, so the app loads while the engine attaches over CDP. How the load
    // went (ready with its exports, or the error with its file and line) is kept in __lpLoad until the engine asks
    // for it with __lpStatus(), which waits for the load to settle.
    private const string BootPage = """
        <!doctype html>
        <meta charset="utf-8">
        <title>LeanProxy</title>
        <script>
          let settle;
          const settled = new Promise((resolve) => { settle = resolve; });
          globalThis.__lpSettle = (status) => {
            if (globalThis.__lpLoad) return;
            globalThis.__lpLoad = status;
            settle(status);
          };
          globalThis.__lpStatus = () => settled.then((status) => JSON.stringify(status));
          addEventListener("error", (e) => {
            if (globalThis.__lpLoad) return;
            __lpSettle({ t: "error", message: String(e.message ?? e), file: e.filename || "", line: e.lineno || 0,
              column: e.colno || 0, stack: e.error && e.error.stack ? String(e.error.stack) : "" });
          });
        </script>
        <!-- app -->
        """;

    // Every module of the runtime is asked for at once, instead of level by level as each one's imports are parsed
    // (index.js → http.js → streams.js → …): the page loads in fewer round trips to this server.
    private static readonly string RuntimePreloads = string.Concat(
        RuntimeModules.Keys.Order(StringComparer.Ordinal).Select(path => $"<link rel=\"modulepreload\" href=\"{path}\">\n"));

    private const string BootScript = """<script type="module" src="/__leanproxy/boot.js" onerror="__lpSettle({ t: 'fetch-error' })"></script>""";

    // A prepared page loads the runtime only; __lpAdopt adds the app's import map (Chromium merges import maps added
    // later) and its boot module, which imports the app's modules and then settles the load like the page above.
    private static readonly byte[] PreparedPage = Encoding.UTF8.GetBytes(
        BootPage.Replace("<!-- app -->", RuntimePreloads + """<script type="module" src="/__leanproxy/prepared.js"></script>""", StringComparison.Ordinal));

    private static readonly byte[] PreparedModule = Encoding.UTF8.GetBytes($$"""
        import "{{RuntimePrefix}}index.js";
        globalThis.__lpAdopt = (map) => {
          if (map) {
            const importMap = document.createElement("script");
            importMap.type = "importmap";
            importMap.textContent = map;
            document.head.append(importMap);
          }
          const boot = document.createElement("script");
          boot.type = "module";
          boot.src = "/__leanproxy/boot.js";
          boot.onerror = () => __lpSettle({ t: "fetch-error" });
          document.head.append(boot);
        };
        """);
}
