using System.Text;
using System.Text.Json;
using LeanProxy.Engine.Modules;

namespace LeanProxy.Engine.Tests;

/// <summary>Package layouts and what the import graph makes of them: the import map, the files reached, the problems.</summary>
public sealed class ImportGraphTests
{
    private static ImportGraph Graph(params (string Path, string Content)[] files)
    {
        var map = files.ToDictionary(f => f.Path, f => Encoding.UTF8.GetBytes(f.Content), StringComparer.Ordinal);
        return ImportGraph.Build("/index.js", path => map.GetValueOrDefault(path), path => "APP" + path);
    }

    private static string? Mapped(ImportGraph graph, string specifier, string scope = "/")
    {
        using var map = JsonDocument.Parse(graph.ImportMapJson!);
        var table = scope == "/" ? map.RootElement.GetProperty("imports") : map.RootElement.GetProperty("scopes").GetProperty(scope);
        return table.TryGetProperty(specifier, out var path) ? path.GetString() : null;
    }

    private const string Esm = "export default 1;";

    [Test]
    public void ExportsAsAStringIsTheRoot()
    {
        var graph = Graph(("/index.js", "import a from \"pkg\";"), ("/node_modules/pkg/package.json", """{"exports": "./dist/main.js"}"""), ("/node_modules/pkg/dist/main.js", Esm));
        Assert.That(Mapped(graph, "pkg"), Is.EqualTo("/node_modules/pkg/dist/main.js"));
        Assert.That(graph.Problems, Is.Empty);
        Assert.That(graph.Reached, Is.SupersetOf(new[] { "/index.js", "/node_modules/pkg/package.json", "/node_modules/pkg/dist/main.js" }));
    }

    [Test]
    public void ConditionsAreTakenInTheObjectsOrderAmongTheBrowserOnes()
    {
        var graph = Graph(
            ("/index.js", "import a from \"cond\"; import b from \"cond2\";"),
            ("/node_modules/cond/package.json", """{"exports": {".": {"node": "./node.js", "require": "./cjs.cjs", "browser": "./browser.js", "import": "./esm.js", "default": "./default.js"}}}"""),
            ("/node_modules/cond/node.js", Esm), ("/node_modules/cond/browser.js", Esm), ("/node_modules/cond/esm.js", Esm), ("/node_modules/cond/default.js", Esm),
            ("/node_modules/cond2/package.json", """{"exports": {"types": "./x.d.ts", "import": {"worker": "./w.js", "default": "./i.js"}, "default": "./d.js"}}"""),
            ("/node_modules/cond2/w.js", Esm), ("/node_modules/cond2/i.js", Esm), ("/node_modules/cond2/d.js", Esm));
        Assert.That(Mapped(graph, "cond"), Is.EqualTo("/node_modules/cond/browser.js"), "node and require are not ours; browser comes before import here");
        Assert.That(Mapped(graph, "cond2"), Is.EqualTo("/node_modules/cond2/w.js"), "nested conditions");
    }

    [Test]
    public void SubpathsAndPatternsAreExported()
    {
        var graph = Graph(
            ("/index.js", "import a from \"lib/cors\"; import b from \"lib/adapters/deno\"; import c from \"lib\";"),
            ("/node_modules/lib/package.json", """{"exports": {".": "./dist/index.js", "./cors": {"import": "./dist/middleware/cors.js"}, "./adapters/*": "./dist/adapters/*/index.js", "./*": "./dist/*.js"}}"""),
            ("/node_modules/lib/dist/index.js", Esm), ("/node_modules/lib/dist/middleware/cors.js", Esm), ("/node_modules/lib/dist/adapters/deno/index.js", Esm));
        Assert.That(Mapped(graph, "lib/cors"), Is.EqualTo("/node_modules/lib/dist/middleware/cors.js"));
        Assert.That(Mapped(graph, "lib/adapters/deno"), Is.EqualTo("/node_modules/lib/dist/adapters/deno/index.js"), "the longest prefix wins");
        Assert.That(Mapped(graph, "lib"), Is.EqualTo("/node_modules/lib/dist/index.js"));
    }

    [Test]
    public void WithoutExportsModuleComesBeforeMain()
    {
        var graph = Graph(
            ("/index.js", "import a from \"old\"; import b from \"plain\"; import c from \"old/extra\";"),
            ("/node_modules/old/package.json", """{"main": "./cjs/index.js", "module": "./esm/index.js"}"""),
            ("/node_modules/old/esm/index.js", Esm), ("/node_modules/old/cjs/index.js", "module.exports = 1;"), ("/node_modules/old/extra.js", Esm),
            ("/node_modules/plain/package.json", """{"name": "plain"}"""), ("/node_modules/plain/index.js", Esm));
        Assert.That(Mapped(graph, "old"), Is.EqualTo("/node_modules/old/esm/index.js"));
        Assert.That(Mapped(graph, "plain"), Is.EqualTo("/node_modules/plain/index.js"));
        Assert.That(Mapped(graph, "old/extra"), Is.EqualTo("/node_modules/old/extra.js"));
        Assert.That(graph.Reached, Does.Not.Contain("/node_modules/old/cjs/index.js"), "only what is reached");
    }

    [Test]
    public void ScopedPackagesAndPackagesImportingPackagesAreScoped()
    {
        var graph = Graph(
            ("/index.js", "import a from \"@org/ui\";"),
            ("/node_modules/@org/ui/package.json", """{"exports": "./index.js"}"""),
            ("/node_modules/@org/ui/index.js", "import dep from \"dep\"; import shared from \"shared\"; export default 1;"),
            ("/node_modules/@org/ui/node_modules/dep/package.json", """{"exports": "./v2.js"}"""), ("/node_modules/@org/ui/node_modules/dep/v2.js", Esm),
            ("/node_modules/dep/package.json", """{"exports": "./v1.js"}"""), ("/node_modules/dep/v1.js", Esm),
            ("/node_modules/shared/package.json", """{"exports": "./s.js"}"""), ("/node_modules/shared/s.js", Esm));
        Assert.That(Mapped(graph, "@org/ui"), Is.EqualTo("/node_modules/@org/ui/index.js"));
        Assert.That(Mapped(graph, "dep", "/node_modules/@org/ui/"), Is.EqualTo("/node_modules/@org/ui/node_modules/dep/v2.js"), "the nested version, for that package only");
        Assert.That(Mapped(graph, "shared", "/node_modules/@org/ui/"), Is.EqualTo("/node_modules/shared/s.js"), "found in a parent node_modules");
        Assert.That(Mapped(graph, "dep"), Is.Null, "the app itself does not import dep");
    }

    [Test]
    public void RelativeImportsAreFollowedInsideTheAppAndInsidePackages()
    {
        var graph = Graph(
            ("/index.js", "import a from \"./lib/a.js\"; import p from \"pkg\";"),
            ("/lib/a.js", "import b from \"../shared/b.js\"; export default 1;"), ("/shared/b.js", "import c from \"pkg/deep\"; export default 2;"),
            ("/node_modules/pkg/package.json", """{"exports": {".": "./i.js", "./deep": "./d.js"}}"""),
            ("/node_modules/pkg/i.js", "import u from \"./util.js\"; export default 3;"), ("/node_modules/pkg/util.js", Esm), ("/node_modules/pkg/d.js", Esm));
        Assert.That(graph.Reached, Is.SupersetOf(new[] { "/lib/a.js", "/shared/b.js", "/node_modules/pkg/i.js", "/node_modules/pkg/util.js", "/node_modules/pkg/d.js" }));
        Assert.That(Mapped(graph, "pkg/deep"), Is.EqualTo("/node_modules/pkg/d.js"), "a bare import from any app file goes to the map's imports");
    }

    [TestCase("import fs from \"fs\";", "fs", "Node.js built-in")]
    [TestCase("import { readFile } from \"node:fs/promises\";", "node:fs/promises", "Node.js built-in")]
    [TestCase("import x from \"missing-pkg\";", "missing-pkg", "npm install missing-pkg")]
    [TestCase("import x from \"@scope/missing\";", "@scope/missing", "npm install @scope/missing")]
    [TestCase("import x from \"cjs-only\";", "cjs-only", "CommonJS only")]
    [TestCase("import x from \"hidden/internal\";", "hidden/internal", "does not provide")]
    public void WhatCannotWorkIsAProblemAtTheImportsOwnLine(string import, string specifier, string message)
    {
        var graph = Graph(
            ("/index.js", "// the app\n\n" + import),
            ("/node_modules/cjs-only/package.json", """{"main": "index.js"}"""), ("/node_modules/cjs-only/index.js", "module.exports = function () {};"),
            ("/node_modules/hidden/package.json", """{"exports": {".": "./i.js", "./internal": null}}"""), ("/node_modules/hidden/i.js", Esm));
        var problem = graph.Problems.Single();
        Assert.That(problem.Specifier, Is.EqualTo(specifier));
        Assert.That(problem.ToString(), Does.StartWith("APP/index.js:3:").And.Contain(message));
    }

    [Test]
    public void AnInstalledPackageNamedLikeABuiltinIsUsed()
    {
        var graph = Graph(("/index.js", "import { Buffer } from \"buffer\";"), ("/node_modules/buffer/package.json", """{"module": "index.js"}"""), ("/node_modules/buffer/index.js", "export const Buffer = 1;"));
        Assert.That(graph.Problems, Is.Empty);
        Assert.That(Mapped(graph, "buffer"), Is.EqualTo("/node_modules/buffer/index.js"));
    }

    [Test]
    public void AGuardedDynamicImportOfABuiltinIsNotAProblem()
    {
        var graph = Graph(("/index.js", "const crypto = globalThis.crypto ?? (await import(\"node:crypto\")).webcrypto;\nexport default {};"));
        Assert.That(graph.Problems, Is.Empty);
        Assert.That(graph.ImportMapJson, Is.Null);
    }

    [Test]
    public void UrlsAreLeftToTheBrowser()
    {
        var graph = Graph(("/index.js", "import x from \"https://esm.sh/hono\";"));
        Assert.That((graph.Problems.Count, graph.ImportMapJson), Is.EqualTo((0, (string?)null)));
    }
}
