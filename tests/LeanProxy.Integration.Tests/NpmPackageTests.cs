using System.Diagnostics;
using System.Net;
using LeanProxy.Engine.Apps;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// Real packages from the npm registry, imported the way Workers/Deno/Bun users write them (bare specifiers): Hono with
/// middleware, itty-router, nanoid (conditional exports: its default build imports node:crypto, its browser build does
/// not). Installed with npm in the fixture's set-up.
/// </summary>
[TestFixture]
[Category(TestCategories.Registry)]
[NonParallelizable]
public sealed class NpmPackageTests
{
    private string _app = null!;

    [OneTimeSetUp]
    public async Task InstallPackages()
    {
        _app = Path.Combine(Path.GetTempPath(), "lp-npm-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_app);
        await File.WriteAllTextAsync(Path.Combine(_app, "package.json"), """
            { "name": "npm-app", "private": true, "type": "module",
              "dependencies": { "hono": "4.13.19", "itty-router": "5.0.24", "nanoid": "6.0.2", "immer": "10.1.1", "is-number": "7.0.0" } }
            """);
        await File.WriteAllTextAsync(Path.Combine(_app, "index.js"), """
            import { Hono } from "hono";
            import { cors } from "hono/cors";
            import { etag } from "hono/etag";
            import { AutoRouter } from "itty-router";
            import { nanoid } from "nanoid";
            import { produce } from "immer";

            const itty = AutoRouter();
            itty.get("/itty/:name", ({ params }) => ({ itty: params.name }));

            const app = new Hono();
            app.use("*", cors());
            app.use("/etag/*", etag());
            app.get("/", (c) => c.text("hono " + (c.env.GREETING ?? "")));
            app.get("/etag/x", (c) => c.text("tagged"));
            app.get("/id", (c) => c.text(nanoid()));
            app.get("/immer", (c) => c.json(produce({ n: 1 }, (draft) => { draft.n = 2; })));
            app.get("/cookies", (c) => {
              c.header("Set-Cookie", "a=1", { append: true });
              c.header("Set-Cookie", "b=2", { append: true });
              return c.text("cookies");
            });
            app.get("/itty/*", (c) => itty.fetch(c.req.raw));
            export default app;
            """);
        var npm = new ProcessStartInfo("npm") { WorkingDirectory = _app, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "install", "--no-audit", "--no-fund", "--silent" })
        {
            npm.ArgumentList.Add(arg);
        }

        using var process = Process.Start(npm) ?? throw new InvalidOperationException("npm could not be started");
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        Assert.That(process.ExitCode, Is.Zero, "npm install: " + await error);
    }

    [OneTimeTearDown]
    public void DeleteApp() => Directory.Delete(_app, recursive: true);

    [Test]
    [CancelAfter(60_000)]
    public async Task BareImportsOfRealPackagesWorkInServe(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(_app, cancellationToken, "--var", "GREETING=hi");
        using var client = new HttpClient { BaseAddress = host.BaseUri };

        using var root = await client.GetAsync("/", cancellationToken);
        Assert.That(await root.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo("hono hi"));
        Assert.That(root.Headers.GetValues("Access-Control-Allow-Origin"), Is.EqualTo(new[] { "*" }), "Hono's cors middleware");

        using var tagged = await client.GetAsync("/etag/x", cancellationToken);
        var tag = tagged.Headers.ETag!;
        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/etag/x");
        conditional.Headers.IfNoneMatch.Add(tag);
        using var notModified = await client.SendAsync(conditional, cancellationToken);
        Assert.That(notModified.StatusCode, Is.EqualTo(HttpStatusCode.NotModified), "Hono's etag middleware");

        using var cookies = await client.GetAsync("/cookies", cancellationToken);
        Assert.That(cookies.Headers.GetValues("Set-Cookie"), Is.EqualTo(new[] { "a=1", "b=2" }));

        Assert.That(await client.GetStringAsync("/itty/ada", cancellationToken), Is.EqualTo("{\"itty\":\"ada\"}"), "itty-router");
        Assert.That(await client.GetStringAsync("/id", cancellationToken), Does.Match("^[A-Za-z0-9_-]{21}$"), "nanoid's browser build (its default one imports node:crypto)");
        Assert.That(await client.GetStringAsync("/immer", cancellationToken), Is.EqualTo("{\"n\":2}"), "immer reads process.env.NODE_ENV at load");
    }

    [Test]
    public void ADeployCarriesOnlyThePackageFilesTheAppImports()
    {
        var bundle = BundleArchive.Read("npm-app", BundleArchive.Pack(_app));
        var packages = bundle.Paths.Where(p => p.StartsWith("/node_modules/", StringComparison.Ordinal)).ToList();
        Assert.That(packages, Has.Some.StartsWith("/node_modules/hono/dist/").And.Some.EqualTo("/node_modules/nanoid/index.browser.js"));
        Assert.That(packages, Has.None.Contains("is-number"), "installed but never imported");
        Assert.That(packages, Has.None.EqualTo("/node_modules/nanoid/index.js"), "the node build is not reached");
        Assert.That(packages, Has.None.EndsWith(".d.ts"), "type declarations are not modules");
        var whole = Directory.EnumerateFiles(Path.Combine(_app, "node_modules"), "*", SearchOption.AllDirectories).Count();
        Assert.That(packages, Has.Count.LessThan(whole / 2));
        Assert.That(bundle.Imports.Problems, Is.Empty, "the node resolves the deployed bundle the same way");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ADeployedAppWithPackagesIsServedByANode(CancellationToken cancellationToken)
    {
        var store = Path.Combine(Path.GetTempPath(), "lp-npm-store-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using var node = await NodeHarness.StartAsync("sqlite:" + Path.Combine(store, "store.db"), admin: true, cancellationToken);
            var (code, stdout, stderr) = await node.CliAsync(cancellationToken, "deploy", _app, "--name", "npm", "--var", "GREETING=node");
            Assert.That(code, Is.Zero, stderr);
            Assert.That(stderr, Does.Match(@"packed .*: [0-9,]+ bytes"), "the bundle size is shown before the upload");
            await node.Process.WaitForLogAsync("A browser context is prepared for the next cold start", cancellationToken);
            Assert.That(await node.GetAsync("npm", "/", cancellationToken), Is.EqualTo((200, "hono node")));
            Assert.That(node.Process.Stderr, Does.Contain("App npm: started in").And.Contain("(the first of 1 tab(s) loaded, in a context prepared ahead"),
                "the cold start took the prepared context: the app's import map was added to a page that had loaded the runtime");
            Assert.That((await node.GetAsync("npm", "/itty/x", cancellationToken)).Body, Is.EqualTo("{\"itty\":\"x\"}"));
        }
        finally
        {
            if (Directory.Exists(store))
            {
                Directory.Delete(store, recursive: true);
            }
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ANodeBuiltinOrAMissingPackageIsRefusedAtTheAppsOwnLine(CancellationToken cancellationToken)
    {
        var app = Path.Combine(Path.GetTempPath(), "lp-npm-bad-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(app);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(app, "index.js"), "import { Hono } from \"hono\";\nimport { readFile } from \"fs/promises\";\nexport default new Hono();\n", cancellationToken);
            await using var host = LeanProxyProcess.Start("serve", app, "--http", "127.0.0.1:0", "--tabs", "1");
            Assert.That(await host.WaitForExitAsync(cancellationToken), Is.EqualTo(1));
            var file = Path.Combine(app, "index.js");
            Assert.That(host.Stderr, Does.Contain($"{file}:1:").And.Contain("the package hono is not installed: run npm install hono"));
            Assert.That(host.Stderr, Does.Contain("and 1 more"), "fs/promises is the other");
            Assert.That(host.Stderr, Does.Not.Contain("__leanproxy"), "never LeanProxy's internal page");
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }
}
