using CommandLine;
using CommandLine.Text;

namespace LeanProxy.Host.Cli;

/// <summary>Options of <c>leanproxy serve</c>.</summary>
[Verb("serve", isDefault: false, HelpText = "Serve an app's export default { fetch, connect, datagram } from headless Chromium tabs.")]
internal sealed class ServeOptions
{
    [Value(0, MetaName = "APP", Required = false, HelpText = "Entry module file, or a folder whose index.js/index.mjs is the entry (or --store for a node).")]
    public string App { get; set; } = string.Empty;

    [Option("store",
        HelpText = "Without APP: run as a node serving every app of this store (sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB; default " +
            "$LEANPROXY_STORE). With APP: where its --kv values are kept.")]
    public string? Store { get; set; }

    [Option("kv",
        HelpText = "A KV namespace handed to the handler as env.BINDING (Workers KV's API; repeatable). Kept in APP/.leanproxy/state/kv.db, or in --store.")]
    public IEnumerable<string> Kv { get; set; } = [];

    [Option("domain", HelpText = "Node: apps are reached as NAME.DOMAIN (default localhost: http://NAME.localhost:PORT/ works with no DNS set-up).")]
    public string? Domain { get; set; }

    [Option("admin",
        HelpText = "The operators' listener HOST:PORT: /healthz, /readyz, /metrics, the status page at /, and on a node the admin API (deploys, apps, KV); " +
            "off unless given.")]
    public string? Admin { get; set; }

    [Option("admin-token-file", HelpText = "A file holding the admin API's bearer token (or $LEANPROXY_ADMIN_TOKEN); required unless --admin is on loopback.")]
    public string? AdminTokenFile { get; set; }

    [Option("max-tabs", HelpText = "Node: tabs of all apps together at most (default 4 per core); past it the least recently used app gives its tabs back.")]
    public int? MaxTabs { get; set; }

    [Option("max-app-tabs",
        HelpText = "Node: tabs one app may grow to while its queue grows (default: number of cores, at least 2); back to --tabs when idle.")]
    public int? MaxAppTabs { get; set; }

    [Option("idle-timeout", HelpText = "Node: an app (not deployed --warm) with no request for this many seconds gives its tabs back (default 300).")]
    public double? IdleTimeout { get; set; }

    [Option("max-bundle", HelpText = "Node: the largest bundle a deploy may upload, in bytes (default 26214400 = 25 MiB); larger gets 413.")]
    public long? MaxBundle { get; set; }

    [Option("http",
        HelpText = "HTTP/1.1 listener HOST:PORT calling fetch(request, env, ctx) (repeatable; port 0 = ephemeral). Default 127.0.0.1:8080 unless --tcp or " +
            "--udp is given.")]
    public IEnumerable<string> Http { get; set; } = [];

    [Option("tcp", HelpText = "Raw TCP listener HOST:PORT calling connect(socket, env, ctx) once per connection (repeatable).")]
    public IEnumerable<string> Tcp { get; set; } = [];

    [Option("udp", HelpText = "UDP listener HOST:PORT calling datagram(message, info, env, ctx) once per datagram (repeatable).")]
    public IEnumerable<string> Udp { get; set; } = [];

    [Option("tabs", HelpText = "Tabs in the pool (default: number of cores).")]
    public int? Tabs { get; set; }

    [Option("chrome", HelpText = "Chromium binary (default: $CHROME_PATH, then chromium/google-chrome on PATH).")]
    public string? Chrome { get; set; }

    [Option("browser-url", HelpText = "Attach to a running Chromium (http://HOST:PORT or ws://…/devtools/browser/…) instead of launching one.")]
    public string? BrowserUrl { get; set; }

    [Option("allow-net",
        HelpText = "HOST[:PORT] handlers may reach although it is loopback, private or link-local, e.g. db.internal:5432 (repeatable; public destinations " +
            "need nothing).")]
    public IEnumerable<string> AllowNet { get; set; } = [];

    [Option("max-subrequests", HelpText = "Subrequests (the handler's fetch to other servers) one request may make (default 1000).")]
    public int? MaxSubrequests { get; set; }

    [Option("inline-body",
        HelpText = "Bodies smaller than BYTES ride inline in their CDP message, larger ones go on the tab's data plane (default 4096; off: every body on CDP).")]
    public string? InlineBody { get; set; }

    [Option("ca-file", HelpText = "A PEM file of root certificates the handler's fetch trusts besides the system's (a private CA).")]
    public string? CaFile { get; set; }

    [Option("chrome-arg", HelpText = "An extra Chromium switch, e.g. --chrome-arg=--js-flags=--max-old-space-size=128 (repeatable).")]
    public IEnumerable<string> ChromeArgs { get; set; } = [];

    [Option("timeout", HelpText = "Per-request deadline in seconds (default 30); the client gets 504 past it.")]
    public double? Timeout { get; set; }

    [Option("var", HelpText = "KEY=VALUE handed to the handler in env (repeatable).")]
    public IEnumerable<string> Vars { get; set; } = [];

    [Option("max-body", HelpText = "Largest request body in bytes (default 10485760); larger gets 413.")]
    public long? MaxBody { get; set; }

    [Option("max-connections", HelpText = "Open connections at most per listener (default 10000); more wait in the backlog.")]
    public int? MaxConnections { get; set; }

    [Option("queue", HelpText = "Requests waiting for a tab at most (default 4096); more get 503.")]
    public int? Queue { get; set; }

    [Option("no-spare", HelpText = "Do not keep a warm spare tab (saves one renderer; a crashed tab is then replaced in ~0.1 s).")]
    public bool NoSpare { get; set; }

    [Option("log-format", HelpText = "text (default) or json: one JSON object per line, with the app, tab, request id and version as fields.")]
    public string? LogFormat { get; set; }

    /// <summary>Whether --log-format json was given (checked by the command's validation).</summary>
    public bool JsonLogs => string.Equals(LogFormat, "json", StringComparison.OrdinalIgnoreCase);

    [Option("log-level", HelpText = "trace, debug, information, warning, error (default information).")]
    public string? LogLevel { get; set; }

    [Usage(ApplicationAlias = "leanproxy")]
    public static IEnumerable<Example> Examples =>
    [
        new("Serve the hello example on port 8080", new ServeOptions { App = "examples/hello", Http = ["127.0.0.1:8080"] }),
        new("Serve the TCP echo example on port 9000", new ServeOptions { App = "examples/tcp-echo", Tcp = ["127.0.0.1:9000"] }),
    ];
}
