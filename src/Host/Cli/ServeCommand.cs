using System.Globalization;
using System.Net;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Browser;
using LeanProxy.Host.Hosting;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Cli;

/// <summary><c>leanproxy serve</c>: validate, bind the listeners, start the browser and the app, accept; stop cleanly on SIGINT/SIGTERM.</summary>
internal static class ServeCommand
{
    /// <summary>Checks the options and turns them into a plan and a log level; throws <see cref="UsageException"/> naming a bad flag.</summary>
    public static (ServerPlan Plan, LogLevel Level) Validate(ServeOptions options, Func<string, string?>? environment = null)
    {
        if (string.IsNullOrWhiteSpace(options.App))
        {
            throw new UsageException("Missing APP: the entry module file or app folder to serve (or --store URI, or $LEANPROXY_STORE, to run a node).");
        }

        foreach (var (flag, given) in new[] { ("--domain", options.Domain is not null), ("--max-tabs", options.MaxTabs is not null),
            ("--max-app-tabs", options.MaxAppTabs is not null), ("--max-bundle", options.MaxBundle is not null),
                ("--idle-timeout", options.IdleTimeout is not null) })
        {
            if (given)
            {
                throw new UsageException($"{flag} is for a node (serve --store URI), not for serve APP.");
            }
        }

        var shared = ValidateShared(options);
        var kv = options.Kv.ToArray();
        foreach (var binding in kv)
        {
            if (!LeanProxy.Engine.Kv.KvBindingNames.IsValid(binding))
            {
                throw new UsageException($"--kv {binding}: a binding is a JavaScript identifier (env.{binding} must be valid), e.g. --kv KV.");
            }

            if (shared.App.Variables.ContainsKey(binding) || kv.Count(b => b == binding) > 1)
            {
                throw new UsageException($"--kv {binding}: env.{binding} is given twice (--kv or --var).");
            }
        }

        if (options.Store is { } store)
        {
            if (kv.Length == 0)
            {
                throw new UsageException("--store with APP keeps the app's KV values: give --kv BINDING too (or leave APP out to run a node).");
            }

            try
            {
                LeanProxy.Store.AppStores.Check(store);
            }
            catch (ArgumentException ex)
            {
                throw new UsageException(ex.Message);
            }
        }

        var tcp = options.Tcp.Select(value => EndpointParser.Parse("--tcp", value)).ToArray();
        var udp = options.Udp.Select(value => EndpointParser.Parse("--udp", value)).ToArray();
        var endpoints = shared.Http;
        if (endpoints.Length == 0 && tcp.Length == 0 && udp.Length == 0)
        {
            endpoints = [new IPEndPoint(IPAddress.Loopback, 8080)];
        }

        try
        {
            AppBundle.Check(options.App);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }

        var (admin, token) = NodeCommand.ValidateAdmin(options, environment ?? Environment.GetEnvironmentVariable);
        var plan = new ServerPlan
        {
            AdminEndpoint = admin,
            AdminToken = token,
            AppPath = options.App,
            Browser = shared.Browser,
            App = shared.App with { KvBindings = kv },
            KvStoreUri = options.Store,
            Http = shared.Listener,
            HttpEndpoints = endpoints,
            TcpEndpoints = tcp,
            UdpEndpoints = udp,
        };
        return (plan, shared.Level);
    }

    /// <summary>What <c>serve APP</c> and a node share: the browser, the options of each app, the HTTP listeners, the log level.</summary>
    internal static (BrowserOptions Browser, AppOptions App, HttpListenerOptions Listener, IPEndPoint[] Http,
        LogLevel Level) ValidateShared(ServeOptions options, AppOptions? defaults = null)
    {
        var endpoints = options.Http.Select(value => EndpointParser.Parse("--http", value)).ToArray();
        if (options.Tabs is < 1 or > 256)
        {
            throw new UsageException($"--tabs {options.Tabs}: must be between 1 and 256.");
        }

        if (options.Timeout is { } timeout && (timeout <= 0 || double.IsNaN(timeout) || timeout > 86400))
        {
            throw new UsageException($"--timeout {timeout.ToString(CultureInfo.InvariantCulture)}: must be a number of seconds between 0 and 86400.");
        }

        if (options.MaxBody is < 0)
        {
            throw new UsageException($"--max-body {options.MaxBody}: must not be negative.");
        }

        if (options.MaxConnections is < 1)
        {
            throw new UsageException($"--max-connections {options.MaxConnections}: must be at least 1.");
        }

        if (options.MaxSubrequests is < 1)
        {
            throw new UsageException($"--max-subrequests {options.MaxSubrequests}: must be at least 1.");
        }

        int? inlineBody = options.InlineBody switch
        {
            null => null,
            "off" => int.MaxValue,
            _ when int.TryParse(options.InlineBody, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes >= 1 => bytes,
            _ => throw new UsageException($"--inline-body {options.InlineBody}: expected a number of bytes (at least 1) or off."),
        };

        if (options.CaFile is not null && !File.Exists(options.CaFile))
        {
            throw new UsageException($"--ca-file {options.CaFile}: no such file.");
        }

        if (options.CaFile is not null)
        {
            var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            try
            {
                roots.ImportFromPemFile(options.CaFile);
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                throw new UsageException($"--ca-file {options.CaFile}: not a PEM file of certificates ({ex.Message}).");
            }

            if (roots.Count == 0)
            {
                throw new UsageException($"--ca-file {options.CaFile}: holds no certificate.");
            }

            foreach (var root in roots)
            {
                root.Dispose();
            }
        }

        if (options.Queue is < 1)
        {
            throw new UsageException($"--queue {options.Queue}: must be at least 1.");
        }

        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in options.Vars)
        {
            var equals = pair.IndexOf('=');
            if (equals <= 0)
            {
                throw new UsageException($"--var {pair}: expected KEY=VALUE.");
            }

            variables[pair[..equals]] = pair[(equals + 1)..];
        }

        Uri? browserUrl = null;
        if (options.BrowserUrl is not null
            && (!Uri.TryCreate(options.BrowserUrl, UriKind.Absolute, out browserUrl) || browserUrl.Scheme is not ("http" or "https" or "ws" or "wss")))
        {
            throw new UsageException($"--browser-url {options.BrowserUrl}: expected http://HOST:PORT or ws://HOST:PORT/devtools/browser/ID.");
        }

        if (browserUrl is not null && options.Chrome is not null)
        {
            throw new UsageException("--browser-url and --chrome exclude each other: attach to a browser or launch one.");
        }

        if (options.LogFormat is not null && !options.LogFormat.Equals("text", StringComparison.OrdinalIgnoreCase) && !options.JsonLogs)
        {
            throw new UsageException($"--log-format {options.LogFormat}: expected text or json.");
        }

        var level = LogLevel.Information;
        if (options.LogLevel is not null && !Enum.TryParse(options.LogLevel, ignoreCase: true, out level))
        {
            throw new UsageException($"--log-level {options.LogLevel}: expected trace, debug, information, warning or error.");
        }

        // Only what the command line gives replaces a default (each default is written once, in its options type).
        var app = (defaults ?? new AppOptions()) with { Variables = variables };
        app = options.NoSpare ? app with { WarmSpare = false } : app;
        app = options.Tabs is { } tabs ? app with { Tabs = tabs } : app;
        app = options.Timeout is { } seconds ? app with { RequestTimeout = TimeSpan.FromSeconds(seconds) } : app;
        app = options.Queue is { } queue ? app with { QueueLimit = queue } : app;
        app = options.MaxSubrequests is { } subrequests ? app with { MaxSubrequests = subrequests } : app;
        app = inlineBody is { } inline ? app with { InlineBodyMax = inline } : app;
        app = options.CaFile is { } caFile ? app with { CaFile = Path.GetFullPath(caFile) } : app;
        var http = new HttpListenerOptions();
        http.MaxBodyBytes = options.MaxBody ?? http.MaxBodyBytes;
        http.MaxConnections = options.MaxConnections ?? http.MaxConnections;
        var allowNet = new List<LeanProxy.Engine.Egress.AllowedDestination>();
        foreach (var destination in options.AllowNet)
        {
            try
            {
                allowNet.Add(LeanProxy.Engine.Egress.AllowedDestination.Parse(destination));
            }
            catch (FormatException ex)
            {
                throw new UsageException("--allow-net " + ex.Message);
            }
        }

        app = app with { AllowNet = allowNet };
        var browser = new BrowserOptions { ChromePath = options.Chrome, BrowserUrl = browserUrl, ChromeArguments = [.. options.ChromeArgs] };
        return (browser, app, http, endpoints, level);
    }

    public static async Task<int> RunAsync(ServeOptions options, TextWriter stdout, TextWriter stderr)
    {
        // A node's store may come from the environment (a container's secret), so that its password is not in argv.
        if (options.Store is null && string.IsNullOrEmpty(options.App) && Environment.GetEnvironmentVariable("LEANPROXY_STORE") is { Length: > 0 } store)
        {
            options.Store = store;
        }

        if (options.Store is not null && string.IsNullOrEmpty(options.App))
        {
            return await NodeCommand.RunAsync(options, stdout, stderr).ConfigureAwait(false);
        }

        var (plan, level) = Validate(options);
        using var loggerFactory = HostLogging.Create(level, options.JsonLogs);
        return await ServerRunner.RunAsync(async () => await LeanProxyServer.BindAsync(plan, loggerFactory).ConfigureAwait(false),
            loggerFactory.CreateLogger("LeanProxy"), stdout, stderr).ConfigureAwait(false);
    }
}
