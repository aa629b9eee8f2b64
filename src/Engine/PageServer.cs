using System.Collections.Concurrent;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine;

/// <summary>
/// The internal page server (127.0.0.1, ephemeral port, never exposed): serves the bootstrap page, the runtime
/// and every file of the app folder, so the app's relative imports work. Built on the same HTTP/1.1 listener as
/// the public one. Each app gets its own server, hence its own origin.
/// </summary>
internal sealed class PageServer : IProxyRequestHandler, IAsyncDisposable
{
    public const string Prefix = "/__leanproxy/";
    private static readonly byte[] RuntimeScript = LoadResource("runtime.js");

    private readonly AppSource _app;
    private readonly ILogger _logger;
    private readonly byte[] _bootPage;
    private readonly byte[] _bootModule;
    private readonly ConcurrentQueue<string> _missing = new();
    private SocketListener? _listener;

    public PageServer(AppSource app, IReadOnlyDictionary<string, string> variables, ILogger logger)
    {
        _app = app;
        _logger = logger;
        _bootPage = Encoding.UTF8.GetBytes(BootPage);
        var config = "{\"env\":" + JsonSerializer.Serialize(new Dictionary<string, string>(variables), EngineJsonContext.Default.DictionaryStringString) + "}";
        _bootModule = Encoding.UTF8.GetBytes(
            // The runtime first: it installs Request, Response and fetch before the app's modules are evaluated.
            $"import {{ start }} from \"{Prefix}runtime.js\";\n" +
            $"import * as app from {JsonSerializer.Serialize(app.EntryUrlPath, EngineJsonContext.Default.String)};\n" +
            $"start(app, {config});\n");
    }

    /// <summary>The page's origin, e.g. http://127.0.0.1:41234.</summary>
    public Uri Origin => new($"http://127.0.0.1:{_listener!.EndPoint.Port}");

    public Uri BootstrapUrl => new(Origin, Prefix + "index.html");

    /// <summary>Paths the page asked for that do not exist (to explain a module that failed to load).</summary>
    public IReadOnlyCollection<string> MissingPaths => _missing;

    public void Start()
    {
        var driver = new HttpDriver(this, new HttpListenerOptions { MaxBodyBytes = 0 }, _logger);
        _listener = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), driver, maxConnections: 256, _logger);
        _listener.Start();
    }

    public ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken)
    {
        if (request.KnownMethod is not (Listener.HttpMethod.Get or Listener.HttpMethod.Head))
        {
            return ValueTask.FromResult(ProxyResponse.Text(405, "Method Not Allowed"));
        }

        var target = request.TargetString;
        var query = target.IndexOfAny(['?', '#']);
        var path = Uri.UnescapeDataString(query >= 0 ? target[..query] : target);
        return ValueTask.FromResult(path switch
        {
            Prefix + "index.html" => File(_bootPage, "text/html; charset=utf-8"),
            Prefix + "boot.js" => File(_bootModule, "text/javascript; charset=utf-8"),
            Prefix + "runtime.js" => File(RuntimeScript, "text/javascript; charset=utf-8"),
            "/favicon.ico" => new ProxyResponse(204),
            _ => ServeAppFile(path),
        });
    }

    private ProxyResponse ServeAppFile(string path)
    {
        if (path.Contains('\0', StringComparison.Ordinal) || !path.StartsWith('/'))
        {
            return ProxyResponse.Text(400, "Bad path");
        }

        var relative = path.TrimStart('/');
        var full = Path.GetFullPath(Path.Combine(_app.Root, relative));
        var root = _app.Root.EndsWith(Path.DirectorySeparatorChar) ? _app.Root : _app.Root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(root, StringComparison.Ordinal) || !System.IO.File.Exists(full))
        {
            _missing.Enqueue(path);
            EngineLog.PageServerMissing(_logger, path);
            return ProxyResponse.Text(404, "Not Found");
        }

        return File(System.IO.File.ReadAllBytes(full), ContentTypes.For(full));
    }

    private static ProxyResponse File(byte[] content, string contentType)
    {
        var response = new ProxyResponse(200) { Body = content };
        response.Headers.Add(new("Content-Type", contentType));
        response.Headers.Add(new("Cache-Control", "no-store"));
        return response;
    }

    private static byte[] LoadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("LeanProxy.Engine.Runtime." + name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
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
            if (globalThis.__lp) return;
            __lpSettle({ t: "error", message: String(e.message ?? e), file: e.filename || "", line: e.lineno || 0,
              column: e.colno || 0, stack: e.error && e.error.stack ? String(e.error.stack) : "" });
          });
        </script>
        <script type="module" src="/__leanproxy/boot.js" onerror="__lpSettle({ t: 'fetch-error' })"></script>
        """;
}
