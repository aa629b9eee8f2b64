using System.Text;

namespace LeanProxy.Integration.Tests;

/// <summary>A node (the real binary, <c>serve --store</c>) and the CLI against its admin API.</summary>
internal sealed class NodeHarness : IAsyncDisposable
{
    public const string Token = "test-token-0123456789";

    private string? _storeFolder;

    private NodeHarness(LeanProxyProcess process, int httpPort, int? adminPort, string tokenFile)
    {
        Process = process;
        HttpPort = httpPort;
        AdminPort = adminPort;
        TokenFile = tokenFile;
        Client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
    }

    public LeanProxyProcess Process { get; }

    public int HttpPort { get; }

    public int? AdminPort { get; }

    public string TokenFile { get; }

    public HttpClient Client { get; }

    public string AdminUrl => $"http://127.0.0.1:{AdminPort}";

    /// <summary>Starts a node on ephemeral ports and waits for its listening lines (public, and admin when asked for).</summary>
    public static Task<NodeHarness> StartAsync(string store, bool admin, CancellationToken cancellationToken, params string[] extra) =>
        StartAsync(store, admin, null, cancellationToken, extra);

    /// <summary>A node on a SQLite store in a temporary folder of its own, deleted with the node.</summary>
    public static async Task<NodeHarness> StartOnSqliteAsync(bool admin, CancellationToken cancellationToken, params string[] extra)
    {
        var folder = Directory.CreateTempSubdirectory("lp-node-").FullName;
        try
        {
            var node = await StartAsync("sqlite:" + Path.Combine(folder, "store.db"), admin, cancellationToken, extra);
            node._storeFolder = folder;
            return node;
        }
        catch
        {
            Directory.Delete(folder, recursive: true);
            throw;
        }
    }

    public static async Task<NodeHarness> StartAsync(string store, bool admin, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken, params string[] extra)
    {
        var tokenFile = Path.Combine(Path.GetTempPath(), "lp-token-" + Guid.NewGuid().ToString("N")[..8]);
        await File.WriteAllTextAsync(tokenFile, Token + "\n", cancellationToken);
        string[] args = ["serve", "--store", store, "--http", "127.0.0.1:0", .. admin ? new[] { "--admin", "127.0.0.1:0", "--admin-token-file", tokenFile } : [], .. extra];
        var process = LeanProxyProcess.Start(environment, args);
        try
        {
            while (true)
            {
                var lines = process.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var http = lines.FirstOrDefault(l => l.StartsWith("listening http://", StringComparison.Ordinal));
                var adminLine = lines.FirstOrDefault(l => l.StartsWith("listening admin http://", StringComparison.Ordinal));
                if (http is not null && (!admin || adminLine is not null))
                {
                    return new NodeHarness(process, new Uri(http["listening ".Length..]).Port, adminLine is null ? null : new Uri(adminLine["listening admin ".Length..]).Port, tokenFile);
                }

                if (process.HasExited)
                {
                    throw new InvalidOperationException("The node exited: " + process.Stderr);
                }

                await Task.Delay(20, cancellationToken);
            }
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>GET PATH of app NAME through this node (Host: NAME.localhost:PORT).</summary>
    public Task<(int Status, string Body)> GetAsync(string app, string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, app, path, cancellationToken);

    /// <summary>METHOD PATH of app NAME through this node.</summary>
    public async Task<(int Status, string Body)> SendAsync(HttpMethod method, string app, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, $"http://127.0.0.1:{HttpPort}{path}");
        request.Headers.Host = $"{app}.localhost:{HttpPort}";
        using var response = await Client.SendAsync(request, cancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>Waits until app NAME answers <paramref name="expected"/> on this node.</summary>
    public async Task WaitForAsync(string app, string expected, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (status, body) = await GetAsync(app, "/", cancellationToken);
            if (status == 200 && body == expected)
            {
                return;
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Runs the CLI against this node's admin API; its exit code, stdout and stderr.</summary>
    public async Task<(int Code, string Stdout, string Stderr)> CliAsync(CancellationToken cancellationToken, params string[] args)
    {
        await using var cli = LeanProxyProcess.Start([.. args, "--admin", AdminUrl, "--token", Token]);
        var code = await cli.WaitForExitAsync(cancellationToken);
        return (code, cli.Stdout, cli.Stderr);
    }

    public async Task<(int Status, string Body)> AdminAsync(HttpMethod method, string path, CancellationToken cancellationToken, HttpContent? content = null, string? token = Token)
    {
        using var request = new HttpRequestMessage(method, AdminUrl + path) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await Client.SendAsync(request, cancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>An app folder whose handler answers <paramref name="answer"/> (plus env.GREETING when set).</summary>
    public static string MakeApp(string answer, string? source = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "lp-app-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "index.js"), source ??
            $"export default {{ fetch(request, env) {{ return new Response({System.Text.Json.JsonSerializer.Serialize(answer)} + (env.GREETING ? ' ' + env.GREETING : '')); }} }};\n");
        return folder;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Process.DisposeAsync();
        File.Delete(TokenFile);
        if (_storeFolder is not null)
        {
            Directory.Delete(_storeFolder, recursive: true);
        }
    }
}
