using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Browser;
using LeanProxy.Host.Node;
using LeanProxy.Host.Ops;
using LeanProxy.Listener;
using LeanProxy.Store;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Host.Admin;

/// <summary>
/// The control plane of a node (PLATFORM.md, "Admin API and CLI"), behind its admin listener's token check
/// (<see cref="AdminListener"/>): deploy, list, show, roll back and delete apps, their KV values and live logs. Errors
/// are JSON <c>{"error", "message"}</c> with a precise status, and a refused call changes nothing.
/// </summary>
internal sealed partial class AdminApi(NodeApps apps, BrowserHost browser, NodeOptions options, Func<string, string> appUrl, ILoggerFactory loggerFactory,
    CancellationToken stopping) : IAdminCalls
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("LeanProxy.Admin");

    /// <summary>A <c>/v1/*</c> call that passed the listener's token check (<see cref="AdminListener"/>).</summary>
    public async ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, string path, string query, CancellationToken cancellationToken)
    {
        var method = request.KnownMethod;
        try
        {
            var parts = path["/v1/".Length..].Split('/');
            return (parts, method) switch
            {
                (["apps"], Listener.HttpMethod.Get) => await ListAsync(cancellationToken).ConfigureAwait(false),
                (["apps", var name], Listener.HttpMethod.Put) => await DeployAsync(name, request, query, cancellationToken).ConfigureAwait(false),
                (["apps", var name], Listener.HttpMethod.Get) => await ShowAsync(name, cancellationToken).ConfigureAwait(false),
                (["apps", var name], Listener.HttpMethod.Delete) => await DeleteAsync(name, cancellationToken).ConfigureAwait(false),
                (["apps", var name, "logs"], Listener.HttpMethod.Get) => await LogsAsync(name, cancellationToken).ConfigureAwait(false),
                (["apps", var name, "rollback"], Listener.HttpMethod.Post) => await RollbackAsync(name, request, cancellationToken).ConfigureAwait(false),
                (["apps", var name, "kv", var binding], Listener.HttpMethod.Get) => await KvListAsync(name, binding, query,
                    cancellationToken).ConfigureAwait(false),
                (["apps", var name, "kv", var binding, var key], Listener.HttpMethod.Get or Listener.HttpMethod.Put or Listener.HttpMethod.Delete) =>
                    await KvKeyAsync(name, binding, Uri.UnescapeDataString(key), request, cancellationToken).ConfigureAwait(false),
                (["apps"] or ["apps", _] or ["apps", _, "rollback"] or ["apps", _, "logs"] or ["apps", _, "kv", _] or ["apps", _, "kv", _, _], _) => Error(405,
                    "method_not_allowed", $"{request.Method} is not allowed on {path}."),
                _ => Error(404, "not_found", $"No such endpoint: {path}."),
            };
        }
        catch (StoreUnreachableException ex)
        {
            return Error(503, "store_unavailable", ex.Message);
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000",
        Justification = "The scratch app host is stopped (StopAsync is its disposal) in the finally.")]
    private async Task<ProxyResponse> DeployAsync(string name, ProxyRequest request, string query, CancellationToken cancellationToken)
    {
        if (!AppNames.IsValid(name))
        {
            return Refused(name, 400, "bad_name",
                $"'{name}' is not an app name: a DNS label (a-z, 0-9 and '-', 1 to 63 characters, not starting or ending with '-').");
        }

        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        var kv = new List<string>();
        var warm = false;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var decoded = Uri.UnescapeDataString(pair.Replace('+', ' '));
            if (decoded is "warm=true" or "warm=false")
            {
                warm = decoded == "warm=true";
                continue;
            }

            if (decoded.StartsWith("kv=", StringComparison.Ordinal))
            {
                var binding = decoded[3..];
                if (!LeanProxy.Engine.Kv.KvBindingNames.IsValid(binding))
                {
                    return Refused(name, 400, "bad_parameter", $"kv={binding}: a KV binding is a JavaScript identifier (env.NAME).");
                }

                kv.Add(binding);
                continue;
            }

            if (!decoded.StartsWith("var=", StringComparison.Ordinal) || decoded.IndexOf('=', 4) is var equals && equals <= 4)
            {
                var parameter = decoded.Split('=', 2)[0];
                return Refused(name, 400, "bad_parameter",
                    $"The parameter '{parameter}' (its value not shown): a deploy takes var=KEY=VALUE and kv=BINDING (repeatable) and warm=true|false.");
            }

            variables[decoded[4..equals]] = decoded[(equals + 1)..];
        }

        if (request.Body.Length > options.MaxBundleBytes)
        {
            return Refused(name, 413, "bundle_too_large",
                $"The bundle is {request.Body.Length} bytes; this node takes at most {options.MaxBundleBytes} (--max-bundle).");
        }

        AppBundle bundle;
        try
        {
            bundle = BundleArchive.Read(name, request.Body);
        }
        catch (BundleArchiveException ex)
        {
            var (status, code) = ex.Reason switch
            {
                BundleRejection.TooLarge => (413, "bundle_too_large"),
                BundleRejection.NoEntry => (422, "no_entry_module"),
                BundleRejection.TooManyFiles => (400, "too_many_files"),
                _ => (400, "bad_bundle"),
            };
            return Refused(name, status, code, ex.Message);
        }

        // Loaded in a scratch tab first: a module that does not load is refused and nothing changes.
        // Its KV bindings point at a namespace of its own, so that its load cannot write to the live app's values.
        var scratchKv = apps.Kv?.Scratch();
        var scratch = AppHost.Create(bundle, options.App with { Tabs = 1, WarmSpare = false, Variables = variables, KvBindings = kv, Candidate = true },
            loggerFactory, scratchKv);
        try
        {
            await scratch.StartAsync(browser, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AppLoadException or MissingExportException)
        {
            return Refused(name, 422, "load_failed", "The app failed to load: " + ex.Message);
        }
        finally
        {
            await scratch.StopAsync(TimeSpan.Zero).ConfigureAwait(false);
            if (scratchKv is not null && kv.Count > 0)
            {
                try
                {
                    await scratchKv.DeleteAppAsync(scratchKv.AppPrefix + name, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or TimeoutException or InvalidOperationException)
                {
                    // Best effort: scratch values are never read.
                }
            }
        }

        var outcome = await Store(() => apps.Store.DeployAsync(name, bundle.Sha256, request.Body, variables, warm, cancellationToken,
            kv)).ConfigureAwait(false);
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        NodeLog.AdminChange(_logger, outcome.Created ? "deployed" : "unchanged", name, outcome.Version);
        HostMetrics.Deployed(outcome.Created ? "created" : "unchanged", name, outcome.Version);
        return Json(outcome.Created ? 201 : 200, new DeployResult(name, outcome.Version, bundle.Sha256, appUrl(name), outcome.Created),
            AdminJsonContext.Default.DeployResult);
    }

    private async Task<ProxyResponse> ListAsync(CancellationToken cancellationToken)
    {
        var list = await Store(() => apps.Store.ListAppsAsync(cancellationToken)).ConfigureAwait(false);
        return Json(200, new AppList([.. list.Select(a => new AppSummary(a.Name, a.ActiveVersion, a.Sha256, appUrl(a.Name), a.UpdatedAt))]),
            AdminJsonContext.Default.AppList);
    }

    private async Task<ProxyResponse> ShowAsync(string name, CancellationToken cancellationToken)
    {
        var app = await Store(() => apps.Store.GetAppAsync(name, cancellationToken)).ConfigureAwait(false);
        if (app is null)
        {
            return Error(404, "no_such_app", $"There is no app named {name}.");
        }

        var versions = await Store(() => apps.Store.ListVersionsAsync(name, cancellationToken)).ConfigureAwait(false);
        var detail = new AppDetail(
            app.Name, app.ActiveVersion, app.Sha256, appUrl(app.Name), app.UpdatedAt,
            [.. versions.Select(v => new VersionInfo(v.Version, v.Sha256, v.Size, [.. v.Variables.Keys.Order(StringComparer.Ordinal)], v.CreatedAt,
                v.Version == app.ActiveVersion, v.KvBindings ?? []))],
            new NodeState(Environment.MachineName, apps.RunningVersion(name)));
        return Json(200, detail, AdminJsonContext.Default.AppDetail);
    }

    /// <summary>The app's live log from every node of the store, as server-sent events.</summary>
    private async Task<ProxyResponse> LogsAsync(string name, CancellationToken cancellationToken)
    {
        if (await Store(() => apps.Store.GetAppAsync(name, cancellationToken)).ConfigureAwait(false) is null)
        {
            return Error(404, "no_such_app", $"There is no app named {name}.");
        }

        return apps.Store is LeanProxy.Store.ILogRelayStore relay
            ? LogStreams.Relayed(relay, name, _logger, stopping)
            : Error(501, "not_supported", "This store cannot relay live logs.");
    }

    private async Task<ProxyResponse> RollbackAsync(string name, ProxyRequest request, CancellationToken cancellationToken)
    {
        // A page can send a "simple" cross-origin POST (text/plain) without a preflight; a JSON content type it cannot.
        // So a handler in a tab cannot roll an app back through a loopback admin API that has no token.
        if (!HasJsonContentType(request))
        {
            return Error(415, "unsupported_media_type", "The body must be JSON, sent with Content-Type: application/json.");
        }

        RollbackRequest? body;
        try
        {
            body = JsonSerializer.Deserialize(request.Body.Span, AdminJsonContext.Default.RollbackRequest);
        }
        catch (JsonException ex)
        {
            return Error(400, "bad_request", "The body must be {\"version\": N}: " + ex.Message);
        }

        if (body is null || body.Version < 1)
        {
            return Error(400, "bad_request", "The body must be {\"version\": N} with N a version number from 1.");
        }

        var outcome = await Store(() => apps.Store.RollbackAsync(name, body.Version, cancellationToken)).ConfigureAwait(false);
        switch (outcome)
        {
            case RollbackOutcome.NoSuchApp:
                return Error(404, "no_such_app", $"There is no app named {name}.");
            case RollbackOutcome.NoSuchVersion:
                return Error(404, "no_such_version", $"The app {name} has no version {body.Version}.");
        }

        await SyncAsync(cancellationToken).ConfigureAwait(false);
        NodeLog.AdminChange(_logger, "rolled back", name, body.Version);
        HostMetrics.RolledBack(name, body.Version);
        return Json(200, new RollbackResult(name, body.Version), AdminJsonContext.Default.RollbackResult);
    }

    private async Task<ProxyResponse> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        if (!await Store(() => apps.Store.DeleteAsync(name, cancellationToken)).ConfigureAwait(false))
        {
            return Error(404, "no_such_app", $"There is no app named {name}.");
        }

        await SyncAsync(cancellationToken).ConfigureAwait(false);
        NodeLog.AdminChange(_logger, "deleted", name, 0);
        HostMetrics.Deleted(name);
        return Json(200, new DeleteResult(name, true), AdminJsonContext.Default.DeleteResult);
    }

    /// <summary>This node applies the change before it answers; the others follow the store within about a second.</summary>
    private async Task SyncAsync(CancellationToken cancellationToken)
    {
        try
        {
            await apps.SyncAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The change is in the store; this node catches up on its next poll.
        }
    }

    private static bool HasJsonContentType(ProxyRequest request)
    {
        var header = request.FindHeader("content-type"u8);
        if (header < 0)
        {
            return false;
        }

        var value = request.HeaderValue(header);
        var semicolon = value.IndexOf((byte)';');
        return Ascii.EqualsIgnoreCase((semicolon >= 0 ? value[..semicolon] : value).Trim((byte)' '), "application/json"u8);
    }

    private static async Task<T> Store<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or StoreUnreachableException) && IsStoreFailure(ex))
        {
            throw new StoreUnreachableException("The store is unreachable: " + ex.GetBaseException().Message, ex);
        }
    }

    private static bool IsStoreFailure(Exception ex)
        => ex is System.Data.Common.DbException or System.Net.Sockets.SocketException or IOException or TimeoutException;

    private ProxyResponse Refused(string name, int status, string code, string message)
    {
        NodeLog.DeployRefused(_logger, name, status, message);
        HostMetrics.Deployed("refused", name, 0);
        return Error(status, code, message);
    }

    private static ProxyResponse Error(int status, string code, string message) => AdminResponses.Error(status, code, message);

    private static ProxyResponse Json<T>(int status, T value, JsonTypeInfo<T> type) => AdminResponses.Json(status, value, type);

    private sealed class StoreUnreachableException(string message, Exception inner) : Exception(message, inner);
}
