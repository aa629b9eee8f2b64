using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using LeanProxy.Engine.Apps;
using LeanProxy.Host.Admin;

namespace LeanProxy.Host.Cli;

/// <summary>
/// <c>leanproxy deploy</c> and <c>leanproxy apps</c>: clients of a node's admin API, with wrangler's habits. Exit 0 when
/// the node did it, 1 when it refused (its message is printed) or cannot be reached, 2 for bad usage.
/// </summary>
internal static class AdminCommands
{
    public static async Task<int> DeployAsync(DeployOptions options, TextWriter stdout, TextWriter stderr, Func<string, string?>? environment = null)
    {
        if (!AppNames.IsValid(options.Name))
        {
            throw new UsageException($"--name {options.Name}: an app name is a DNS label (a-z, 0-9 and '-', 1 to 63 characters, not starting or ending " +
                $"with '-').");
        }

        if (!System.IO.Directory.Exists(options.Directory))
        {
            throw new UsageException($"DIR {options.Directory}: not a folder.");
        }

        var query = new StringBuilder();
        foreach (var pair in options.Vars)
        {
            if (pair.IndexOf('=') <= 0)
            {
                throw new UsageException($"--var {pair}: expected KEY=VALUE.");
            }

            query.Append(query.Length == 0 ? '?' : '&').Append("var=").Append(Uri.EscapeDataString(pair));
        }

        foreach (var binding in options.Kv)
        {
            query.Append(query.Length == 0 ? '?' : '&').Append("kv=").Append(Uri.EscapeDataString(binding));
        }

        if (options.Warm)
        {
            query.Append(query.Length == 0 ? '?' : '&').Append("warm=true");
        }

        using var client = Client(options, environment);
        var archive = BundleArchive.Pack(options.Directory);
        await stderr.WriteLineAsync($"packed {options.Directory}: {archive.Length.ToString("N0", CultureInfo.InvariantCulture)} bytes (tar.gz); uploading " +
            $"to {client.BaseAddress}").ConfigureAwait(false);
        using var content = new ByteArrayContent(archive);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/gzip");
        return await SendAsync(client, HttpMethod.Put, $"v1/apps/{options.Name}{query}", content, AdminJsonContext.Default.DeployResult, stderr,
            result => stdout.WriteLineAsync(result.Created
                ? $"deployed {result.Name} version {result.Version}: {result.Url}"
                : $"unchanged {result.Name} version {result.Version} (the same content and variables): {result.Url}")).ConfigureAwait(false);
    }

    public static async Task<int> AppsAsync(AppsOptions options, TextWriter stdout, TextWriter stderr, Func<string, string?>? environment = null)
    {
        var name = options.Name;
        if (options.Action != "list" && (name is null || !AppNames.IsValid(name)))
        {
            throw new UsageException($"apps {options.Action} needs the NAME of an app.");
        }

        using var client = Client(options, environment);
        switch (options.Action)
        {
            case "list":
                return await SendAsync(client, HttpMethod.Get, "v1/apps", null, AdminJsonContext.Default.AppList, stderr, async list =>
                {
                    if (list.Apps.Count == 0)
                    {
                        await stdout.WriteLineAsync("no apps").ConfigureAwait(false);
                    }

                    foreach (var app in list.Apps)
                    {
                        await stdout.WriteLineAsync($"{app.Name}\tversion {app.Version}\t{app.Url}\t{app.UpdatedAt:u}").ConfigureAwait(false);
                    }
                }).ConfigureAwait(false);
            case "show":
                return await SendAsync(client, HttpMethod.Get, $"v1/apps/{name}", null, AdminJsonContext.Default.AppDetail, stderr, async app =>
                {
                    await stdout.WriteLineAsync($"{app.Name}: version {app.Version} active, {app.Url}").ConfigureAwait(false);
                    await stdout.WriteLineAsync($"on {app.Node.Node}: " +
                        $"{(app.Node.RunningVersion is { } running ? "running version " + running : "not started (starts on its first request)")}")
                            .ConfigureAwait(false);
                    foreach (var version in app.Versions)
                    {
                        var vars = (version.Variables.Count == 0 ? string.Empty : " vars " + string.Join(',', version.Variables))
                            + (version.Kv.Count == 0 ? string.Empty : " kv " + string.Join(',', version.Kv));
                        await stdout.WriteLineAsync($"{(version.Active ? "*" : " ")} version {version.Version}\t{version.Sha256[..12]}\t{version.Size} " +
                            $"bytes\t{version.CreatedAt:u}{vars}").ConfigureAwait(false);
                    }
                }).ConfigureAwait(false);
            case "rollback":
                if (options.Version is not { } target || target < 1)
                {
                    throw new UsageException("apps rollback NAME needs --version N (a version number from 1).");
                }

                using (var body = new StringContent($"{{\"version\":{target}}}", Encoding.UTF8, "application/json"))
                {
                    return await SendAsync(client, HttpMethod.Post, $"v1/apps/{name}/rollback", body, AdminJsonContext.Default.RollbackResult, stderr,
                        result => stdout.WriteLineAsync($"rolled back {result.Name} to version {result.Version}")).ConfigureAwait(false);
                }

            case "delete":
                return await SendAsync(client, HttpMethod.Delete, $"v1/apps/{name}", null, AdminJsonContext.Default.DeleteResult, stderr,
                    result => stdout.WriteLineAsync($"deleted {result.Name}")).ConfigureAwait(false);
            default:
                throw new UsageException($"apps {options.Action}: expected list, show, rollback or delete.");
        }
    }

    public static async Task<int> KvAsync(KvOptions options, TextWriter stdout, TextWriter stderr, Func<string, string?>? environment = null)
    {
        if (!AppNames.IsValid(options.App))
        {
            throw new UsageException($"--app {options.App}: not an app name.");
        }

        using var client = Client(options, environment);
        var path = $"v1/apps/{options.App}/kv/{Uri.EscapeDataString(options.Binding)}";
        if (options.Action == "list")
        {
            var query = options.Prefix is null ? string.Empty : "?prefix=" + Uri.EscapeDataString(options.Prefix);
            return await SendAsync(client, HttpMethod.Get, path + query, null, AdminJsonContext.Default.KvList, stderr, async list =>
            {
                foreach (var key in list.Keys)
                {
                    await stdout.WriteLineAsync(key.Name).ConfigureAwait(false);
                }

                if (!list.ListComplete)
                {
                    await stderr.WriteLineAsync("(more keys follow: narrow with --prefix)").ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        }

        if (string.IsNullOrEmpty(options.Key))
        {
            throw new UsageException($"kv {options.Action} needs a KEY.");
        }

        var keyPath = path + "/" + Uri.EscapeDataString(options.Key);
        switch (options.Action)
        {
            case "get":
                try
                {
                    using var response = await client.GetAsync(keyPath).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        await stdout.WriteAsync(await response.Content.ReadAsStringAsync().ConfigureAwait(false)).ConfigureAwait(false);
                        await stdout.WriteLineAsync().ConfigureAwait(false);
                        return 0;
                    }

                    await stderr.WriteLineAsync($"error: {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}")
                        .ConfigureAwait(false);
                    return 1;
                }
                catch (HttpRequestException ex)
                {
                    await stderr.WriteLineAsync($"error: cannot reach the admin API at {client.BaseAddress}: {ex.Message}").ConfigureAwait(false);
                    return 1;
                }

            case "put":
                using (var body = new StringContent(options.Value ?? throw new UsageException("kv put needs a KEY and a VALUE."), Encoding.UTF8))
                {
                    return await SendAsync(client, HttpMethod.Put, keyPath, body, AdminJsonContext.Default.KvKeyInfo, stderr,
                        key => stdout.WriteLineAsync($"put {key.Name}")).ConfigureAwait(false);
                }

            case "delete":
                return await SendAsync(client, HttpMethod.Delete, keyPath, null, AdminJsonContext.Default.KvKeyInfo, stderr,
                    key => stdout.WriteLineAsync($"deleted {key.Name}")).ConfigureAwait(false);
            default:
                throw new UsageException($"kv {options.Action}: expected get, put, delete or list.");
        }
    }

    internal static HttpClient Client(AdminClientOptions options, Func<string, string?>? environment)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var admin = options.Admin ?? environment("LEANPROXY_ADMIN")
            ?? throw new UsageException("Where is the admin API? Give --admin URL (e.g. http://127.0.0.1:8081) or set LEANPROXY_ADMIN.");
        if (!Uri.TryCreate(admin.EndsWith('/') ? admin : admin + "/", UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
        {
            throw new UsageException($"--admin {admin}: expected http://HOST:PORT.");
        }

        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        if ((options.Token ?? environment("LEANPROXY_ADMIN_TOKEN")) is { Length: > 0 } token)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    private static async Task<int> SendAsync<T>(HttpClient client, HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type,
        TextWriter stderr, Func<T, Task> print)
    {
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            response = await client.SendAsync(request).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await stderr.WriteLineAsync($"error: cannot reach the admin API at {client.BaseAddress}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                await print(JsonSerializer.Deserialize(body, type)!).ConfigureAwait(false);
                return 0;
            }

            string message;
            try
            {
                var error = JsonSerializer.Deserialize(body, AdminJsonContext.Default.ApiError);
                message = error is null ? Encoding.UTF8.GetString(body) : $"{error.Message} ({error.Error})";
            }
            catch (JsonException)
            {
                message = Encoding.UTF8.GetString(body).Trim();
            }

            await stderr.WriteLineAsync($"error: {(int)response.StatusCode} {ReasonOf(response.StatusCode)}: {message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static string ReasonOf(HttpStatusCode status) => status switch
    {
        HttpStatusCode.UnprocessableEntity => "Unprocessable Content",
        HttpStatusCode.RequestEntityTooLarge => "Content Too Large",
        _ => status.ToString(),
    };
}
