using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using LeanProxy.Tests.Shared;
using YamlDotNet.RepresentationModel;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// The Dockerfile, compose.yaml and deploy/kubernetes, kept honest without Docker or Kubernetes: each file is parsed,
/// and the command lines and environment it gives the container are run here — the real binary against a
/// suite-started PostgreSQL — with its health endpoints probed. A renamed flag, a wrong path or a probe on the wrong
/// port fails the build.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class DeploymentFilesTests
{
    private const string Token = "a-deployment-token-0123456789";
    private static string Files => Path.Combine(AppContext.BaseDirectory, "deployment");

    [Test]
    public void TheDockerfileBuildsTheBinaryItRunsAndProbesTheAdminListener()
    {
        var lines = File.ReadAllLines(Path.Combine(Files, "Dockerfile"));
        var publish = lines.Single(l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal));
        var project = Regex.Match(publish, @"dotnet publish (\S+)").Groups[1].Value;
        var output = Regex.Match(publish, @"-o (\S+)").Groups[1].Value;
        Assert.That(File.Exists(Path.Combine(RepositoryRoot(), project)), Is.True, $"{project} exists");
        Assert.That(File.ReadAllText(Path.Combine(RepositoryRoot(), project)), Does.Contain("<AssemblyName>leanproxy</AssemblyName>"));
        Assert.That(lines, Has.One.EqualTo($"COPY --from=build {output}/leanproxy /usr/local/bin/leanproxy"));
        Assert.That(lines, Has.One.EqualTo("ENTRYPOINT [\"leanproxy\"]"));
        Assert.That(lines, Has.One.Match("^USER [1-9][0-9]*$"), "not root, so Chromium's sandbox is on");
        Assert.That(lines, Has.One.Match("^FROM debian:12-slim$"));
        Assert.That(lines.SkipWhile(l => !l.StartsWith("RUN apt-get", StringComparison.Ordinal)).TakeWhile(l => !l.StartsWith("COPY", StringComparison.Ordinal)), Has.Some.Contain(" chromium-headless-shell "), "Debian's Chromium headless shell");
        var chromePath = lines.Single(l => l.StartsWith("ENV CHROME_PATH=", StringComparison.Ordinal))["ENV CHROME_PATH=".Length..];
        Assert.That(chromePath, Is.EqualTo("/usr/lib/chromium/chromium-headless-shell"), "the binary itself: Debian's /usr/bin script would stay between LeanProxy and Chromium");
        Assert.That(lines.Single(l => l.StartsWith("HEALTHCHECK", StringComparison.Ordinal)), Does.Contain("http://127.0.0.1:8081/healthz"));
        Assert.That(Command(lines), Does.Contain("--admin").And.Contain("0.0.0.0:8081"), "the health check's port is the admin listener's");
    }

    [Test]
    [CancelAfter(240_000)]
    public async Task TheDockerfilesCommandAndTheComposeNodesRunAndServeOneDeployFromBothNodes(CancellationToken cancellationToken)
    {
        var root = Directory.CreateTempSubdirectory("lp-deploy-").FullName;
        try
        {
            var secret = Path.Combine(root, "admin_token");
            await File.WriteAllTextAsync(secret, Token, cancellationToken);

            // The Dockerfile's own command: a node on SQLite in /data, its token from the secret.
            var dockerCommand = Command(File.ReadAllLines(Path.Combine(Files, "Dockerfile")));
            await using (var single = await StartAsync(Localize(dockerCommand, root, secret), new Dictionary<string, string>(), cancellationToken))
            {
                Assert.That(await StatusAsync(single.Admin, "/healthz", cancellationToken), Is.EqualTo(HttpStatusCode.OK));
                Assert.That(await StatusAsync(single.Admin, "/readyz", cancellationToken), Is.EqualTo(HttpStatusCode.OK));
            }

            var compose = Yaml(Path.Combine(Files, "compose.yaml"));
            var services = (YamlMappingNode)compose["services"];
            var secretFile = Scalar(compose["secrets"]["admin_token"]["file"]);
            Assert.That(secretFile, Is.EqualTo("./deploy/compose/admin-token"));
            Assert.That(File.ReadAllText(Path.Combine(RepositoryRoot(), ".gitignore")), Does.Contain("deploy/compose/admin-token"), "the token is never committed");

            await using var postgres = await PostgresCluster.StartAsync(cancellationToken);
            var nodes = new List<Node>();
            try
            {
                foreach (var name in new[] { "node-1", "node-2" })
                {
                    var service = services[name];
                    Assert.That(Sequence(service["secrets"]), Is.EqualTo(new[] { "admin_token" }));
                    var environment = ((YamlMappingNode)service["environment"]).Children.ToDictionary(e => Scalar(e.Key), e => Interpolate(Scalar(e.Value)));
                    Assert.That(environment["LEANPROXY_STORE"], Is.EqualTo("postgres://leanproxy:leanproxy@postgres:5432/leanproxy"));
                    LeanProxy.Store.AppStores.Check(environment["LEANPROXY_STORE"]);
                    environment["LEANPROXY_STORE"] = postgres.Uri(); // this machine's PostgreSQL instead of the compose service
                    var ports = Sequence(service["ports"]);
                    Assert.That(ports.Select(p => p.Split(':')[1]), Is.EquivalentTo(new[] { "8080", "8081" }), "the container's ports are the ones the command listens on");
                    nodes.Add(await StartAsync(Localize(Sequence(service["command"]), root, secret), environment, cancellationToken));
                }

                foreach (var node in nodes)
                {
                    Assert.That(await StatusAsync(node.Admin, "/healthz", cancellationToken), Is.EqualTo(HttpStatusCode.OK));
                    Assert.That(await StatusAsync(node.Admin, "/readyz", cancellationToken), Is.EqualTo(HttpStatusCode.OK));
                }

                // `leanproxy deploy` against the first node, with the secret's token; both nodes then serve the app.
                await using (var deploy = LeanProxyProcess.Start(["deploy", LeanProxyProcess.ExamplePath("hello"), "--name", "hello", "--admin", nodes[0].Admin.ToString(), "--token", Token]))
                {
                    Assert.That(await deploy.WaitForExitAsync(cancellationToken), Is.Zero, deploy.Stderr);
                }

                foreach (var node in nodes)
                {
                    Assert.That(await GetAppAsync(node.Http, "hello", cancellationToken), Does.Contain("\"hello\":\"world\""));
                }
            }
            finally
            {
                foreach (var node in nodes)
                {
                    await node.DisposeAsync();
                }
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task TheKubernetesNodesRunWithTheirArgsSecretsAndProbes(CancellationToken cancellationToken)
    {
        var kubernetes = Path.Combine(Files, "kubernetes");
        var baseKustomization = Yaml(Path.Combine(kubernetes, "base", "kustomization.yaml"));
        foreach (var resource in Sequence(baseKustomization["resources"]))
        {
            Assert.That(File.Exists(Path.Combine(kubernetes, "base", resource)), Is.True, resource);
        }

        var deployment = Yaml(Path.Combine(kubernetes, "base", "deployment.yaml"));
        var secret = Yaml(Path.Combine(kubernetes, "base", "secret.yaml"));
        var secretName = Scalar(secret["metadata"]["name"]);
        var secretData = (YamlMappingNode)secret["stringData"];
        var container = (YamlMappingNode)((YamlSequenceNode)deployment["spec"]["template"]["spec"]["containers"])[0];
        var ports = ((YamlSequenceNode)container["ports"]).Cast<YamlMappingNode>().ToDictionary(p => Scalar(p["name"]), p => Scalar(p["containerPort"]));

        // The container's environment, with each secret reference resolved from the Secret of the base.
        var environment = new Dictionary<string, string>();
        foreach (var variable in ((YamlSequenceNode)container["env"]).Cast<YamlMappingNode>())
        {
            var name = Scalar(variable["name"]);
            if (variable.Children.ContainsKey("value"))
            {
                environment[name] = Scalar(variable["value"]);
                continue;
            }

            var reference = variable["valueFrom"]["secretKeyRef"];
            Assert.That(Scalar(reference["name"]), Is.EqualTo(secretName), name);
            environment[name] = Scalar(secretData[Scalar(reference["key"])]);
        }

        Assert.That(environment.Keys, Is.SupersetOf(new[] { "LEANPROXY_STORE", "LEANPROXY_ADMIN_TOKEN" }));
        LeanProxy.Store.AppStores.Check(environment["LEANPROXY_STORE"]);
        var resources = container["resources"];
        Assert.That(Scalar(resources["requests"]["memory"]), Does.EndWith("Mi").Or.EndWith("Gi"));

        // Kubernetes expands $(VAR) in args from the container's environment.
        var args = Sequence(container["args"]).Select(a => Regex.Replace(a, @"\$\((\w+)\)", m => environment[m.Groups[1].Value])).ToList();
        var adminPort = args[args.IndexOf("--admin") + 1].Split(':')[1];
        var probes = new[] { ("readinessProbe", "/readyz"), ("livenessProbe", "/healthz") };
        foreach (var (probe, path) in probes)
        {
            Assert.That(Scalar(container[probe]["httpGet"]["path"]), Is.EqualTo(path));
            Assert.That(ports[Scalar(container[probe]["httpGet"]["port"])], Is.EqualTo(adminPort), $"{probe} reaches the admin listener");
        }

        foreach (var overlay in new[] { "eu-west", "us-east" })
        {
            var kustomization = Yaml(Path.Combine(kubernetes, "overlays", overlay, "kustomization.yaml"));
            Assert.That(Sequence(kustomization["resources"]), Is.EqualTo(new[] { "../../base" }));
            foreach (var patch in ((YamlSequenceNode)kustomization["patches"]).Cast<YamlMappingNode>())
            {
                var file = Path.Combine(kubernetes, "overlays", overlay, Scalar(patch["path"]));
                var patched = Yaml(file);
                if (Scalar(patched["kind"]) == "Secret")
                {
                    Assert.That(Scalar(patched["metadata"]["name"]), Is.EqualTo(secretName));
                    LeanProxy.Store.AppStores.Check(Scalar(patched["stringData"]["store-uri"]));
                }
                else
                {
                    Assert.That(Scalar(patched["metadata"]["name"]), Is.EqualTo(Scalar(deployment["metadata"]["name"])), file);
                }
            }
        }

        await using var postgres = await PostgresCluster.StartAsync(cancellationToken);
        environment["LEANPROXY_STORE"] = postgres.Uri();
        environment["LEANPROXY_ADMIN_TOKEN"] = Token;
        await using var node = await StartAsync(Localize(args, Path.GetTempPath(), secretFile: null), environment, cancellationToken);
        foreach (var (_, path) in probes)
        {
            Assert.That(await StatusAsync(node.Admin, path, cancellationToken), Is.EqualTo(HttpStatusCode.OK), path);
        }

        Assert.That(node.Process.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).All(l => l.StartsWith('{')), Is.True, "--log-format json: one object per line");
        Assert.That(node.Process.Stderr, Does.Not.Contain("secret-pw").And.Not.Contain(Token), "no secret in the log");
    }

    private sealed record Node(LeanProxyProcess Process, Uri Http, Uri Admin) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    /// <summary>Runs a container's command here: listeners on loopback ephemeral ports, its secret file where the test put it.</summary>
    private static List<string> Localize(IEnumerable<string> command, string root, string? secretFile) => [.. command.Select(a => a switch
    {
        "0.0.0.0:8080" or "0.0.0.0:8081" => "127.0.0.1:0",
        "/run/secrets/admin_token" => secretFile ?? throw new InvalidOperationException("no secret file"),
        _ when a.StartsWith("sqlite:/data/", StringComparison.Ordinal) => "sqlite:" + Path.Combine(root, a["sqlite:/data/".Length..]),
        _ => a,
    })];

    private static async Task<Node> StartAsync(List<string> command, Dictionary<string, string> environment, CancellationToken cancellationToken)
    {
        Assert.That(command[0], Is.EqualTo("serve"));
        var process = LeanProxyProcess.Start(environment, [.. command]);
        while (true)
        {
            var lines = process.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var http = lines.FirstOrDefault(l => l.StartsWith("listening http://", StringComparison.Ordinal));
            var admin = lines.FirstOrDefault(l => l.StartsWith("listening admin http://", StringComparison.Ordinal));
            if (http is not null && admin is not null)
            {
                return new Node(process, new Uri(http["listening ".Length..]), new Uri(admin["listening admin ".Length..]));
            }

            if (process.HasExited)
            {
                var stderr = process.Stderr;
                await process.DisposeAsync();
                Assert.Fail($"`leanproxy {string.Join(' ', command)}` exited: {stderr}");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    private static async Task<HttpStatusCode> StatusAsync(Uri admin, string path, CancellationToken cancellationToken)
    {
        using var client = new HttpClient();
        for (var attempt = 0; ; attempt++)
        {
            var response = await client.GetAsync(new Uri(admin, path), cancellationToken);
            if (response.StatusCode == HttpStatusCode.OK || attempt == 50)
            {
                return response.StatusCode;
            }

            await Task.Delay(100, cancellationToken); // readiness follows the store's first read
        }
    }

    private static async Task<string> GetAppAsync(Uri http, string app, CancellationToken cancellationToken)
    {
        using var client = new HttpClient();
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, http);
            request.Headers.Host = $"{app}.localhost:{http.Port}";
            using var response = await client.SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.OK || attempt == 100)
            {
                return await response.Content.ReadAsStringAsync(cancellationToken);
            }

            await Task.Delay(50, cancellationToken); // the second node learns of the deploy on its next poll
        }
    }

    /// <summary>The final stage's CMD (a JSON array), as the container runs it after ENTRYPOINT.</summary>
    private static List<string> Command(string[] dockerfile) =>
        JsonSerializer.Deserialize<List<string>>(dockerfile.Last(l => l.StartsWith("CMD ", StringComparison.Ordinal))["CMD ".Length..])!;

    /// <summary>Compose's <c>${NAME:-default}</c> with nothing set: the default.</summary>
    private static string Interpolate(string value) => Regex.Replace(value, @"\$\{\w+:-([^}]*)\}", m => m.Groups[1].Value);

    private static YamlMappingNode Yaml(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static string Scalar(YamlNode node) => ((YamlScalarNode)node).Value!;

    private static List<string> Sequence(YamlNode node) => [.. ((YamlSequenceNode)node).Select(Scalar)];

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LeanProxy.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (LeanProxy.sln) was not found above " + AppContext.BaseDirectory);
    }
}
