using System.Net;
using LeanProxy.Host.Hosting;
using LeanProxy.Host.Node;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Cli;

/// <summary><c>leanproxy serve --store URI</c>: a node serving every app of the store, routed by Host.</summary>
internal static class NodeCommand
{
    /// <summary>Checks a node's options; throws <see cref="UsageException"/> naming a bad flag.</summary>
    public static (NodePlan Plan, LogLevel Level) Validate(ServeOptions options, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (!string.IsNullOrEmpty(options.App))
        {
            throw new UsageException($"APP {options.App} and --store exclude each other: serve one app, or run a node serving the store's apps.");
        }

        if (options.Kv.Any())
        {
            throw new UsageException("--kv is for serve APP; a node's apps get theirs with their deploy (leanproxy deploy --kv BINDING).");
        }

        if (options.Tcp.Any() || options.Udp.Any())
        {
            throw new UsageException("--tcp and --udp are for serve APP; a node serves HTTP, routed by Host.");
        }

        var defaults = new NodeOptions();
        var shared = ServeCommand.ValidateShared(options, defaults.App);
        var endpoints = shared.Http.Length > 0 ? shared.Http : [new IPEndPoint(IPAddress.Loopback, 8080)];

        var domain = (options.Domain ?? defaults.Domain).Trim('.').ToLowerInvariant();
        if (domain.Length == 0 || domain.Split('.').Any(label => !LeanProxy.Engine.Apps.AppNames.IsValid(label)))
        {
            throw new UsageException($"--domain {options.Domain}: expected a domain name such as localhost or apps.example.com.");
        }

        if (options.MaxTabs is < 1)
        {
            throw new UsageException($"--max-tabs {options.MaxTabs}: must be at least 1.");
        }

        var appTabs = shared.App.Tabs;
        var maxAppTabs = options.MaxAppTabs ?? Math.Max(defaults.App.MaxTabs, appTabs);
        if (options.MaxAppTabs is { } givenMax && (givenMax < appTabs || givenMax > 256))
        {
            throw new UsageException($"--max-app-tabs {givenMax}: must be from --tabs ({appTabs}) to 256.");
        }

        if (options.IdleTimeout is { } idle && (idle < 1 || double.IsNaN(idle) || idle > 7 * 86400))
        {
            throw new UsageException($"--idle-timeout {idle.ToString(System.Globalization.CultureInfo.InvariantCulture)}: must be a number of seconds from " +
                $"1 to 604800.");
        }

        if (options.MaxBundle is < 1024)
        {
            throw new UsageException($"--max-bundle {options.MaxBundle}: must be at least 1024 bytes.");
        }

        var (admin, token) = ValidateAdmin(options, environment);

        try
        {
            LeanProxy.Store.AppStores.Check(options.Store!);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }

        var node = defaults with
        {
            Domain = domain,
            App = shared.App with { MaxTabs = maxAppTabs },
            MaxTabs = options.MaxTabs ?? defaults.MaxTabs,
            MaxBundleBytes = options.MaxBundle ?? defaults.MaxBundleBytes,
            IdleTimeout = options.IdleTimeout is { } seconds ? TimeSpan.FromSeconds(seconds) : defaults.IdleTimeout,
        };
        var plan = new NodePlan
        {
            StoreUri = options.Store!,
            Browser = shared.Browser,
            Node = node,
            Http = shared.Listener,
            HttpEndpoints = endpoints,
            AdminEndpoint = admin,
            AdminToken = token,
        };
        return (plan, shared.Level);
    }

    /// <summary>
    /// <c>--admin</c> and its token (<c>--admin-token-file</c>, else $LEANPROXY_ADMIN_TOKEN): a listener off loopback
    /// needs a token of at least 16 characters. Shared by a node and <c>serve APP</c>.
    /// </summary>
    internal static (IPEndPoint? Admin, string? Token) ValidateAdmin(ServeOptions options, Func<string, string?> environment)
    {
        IPEndPoint? admin = options.Admin is null ? null : EndpointParser.Parse("--admin", options.Admin);
        string? token = null;
        if (options.AdminTokenFile is { } file)
        {
            try
            {
                token = File.ReadAllText(file).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--admin-token-file {file}: {ex.Message}");
            }

            if (token.Length < 16)
            {
                throw new UsageException($"--admin-token-file {file}: the token must be at least 16 characters.");
            }
        }
        else if (environment("LEANPROXY_ADMIN_TOKEN") is { Length: > 0 } fromEnvironment)
        {
            token = fromEnvironment.Trim();
        }

        if (admin is not null && token is null && !IPAddress.IsLoopback(admin.Address))
        {
            throw new UsageException($"--admin {options.Admin}: an admin listener on a non-loopback address needs a token (--admin-token-file FILE or " +
                $"LEANPROXY_ADMIN_TOKEN).");
        }

        return (admin, token);
    }

    public static async Task<int> RunAsync(ServeOptions options, TextWriter stdout, TextWriter stderr)
    {
        var (plan, level) = Validate(options);
        using var loggerFactory = HostLogging.Create(level, options.JsonLogs);
        return await ServerRunner.RunAsync(async () => await NodeServer.BindAsync(plan, loggerFactory).ConfigureAwait(false),
            loggerFactory.CreateLogger("LeanProxy"), stdout, stderr).ConfigureAwait(false);
    }
}
