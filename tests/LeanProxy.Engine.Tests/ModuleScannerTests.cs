using LeanProxy.Engine.Modules;

namespace LeanProxy.Engine.Tests;

/// <summary>The import scanner: what is an import, what only looks like one.</summary>
public sealed class ModuleScannerTests
{
    private static string[] Specifiers(string source) => [.. ModuleScanner.Scan(source).Imports.Select(i => i.Specifier)];

    [TestCase("import x from \"a\";", "a")]
    [TestCase("import x from 'a'", "a")]
    [TestCase("import { a, b as c } from \"a\"", "a")]
    [TestCase("import x, { y } from \"a\"", "a")]
    [TestCase("import * as ns from \"a\"", "a")]
    [TestCase("import \"side-effect\"", "side-effect")]
    [TestCase("import {\n  a,\n  b, // note\n  /* c */\n} from \"multi\"", "multi")]
    [TestCase("export * from \"re\"", "re")]
    [TestCase("export * as ns from \"re\"", "re")]
    [TestCase("export { a, b as default } from \"re\"", "re")]
    [TestCase("const m = await import(\"dyn\")", "dyn")]
    [TestCase("import x from \"a\" with { type: \"json\" }", "a")]
    [TestCase("import{x}from\"tight\"", "tight")]
    [TestCase("// we can just drop the import.\nimport { crypto } from '@noble/hashes/crypto';", "@noble/hashes/crypto")]
    [TestCase("/* ends with a dot. */import x from \"after-comment\"", "after-comment")]
    public void StaticAndLiteralDynamicImportsAreFound(string source, string expected) =>
        Assert.That(Specifiers(source), Is.EqualTo(new[] { expected }));

    [TestCase("// import x from \"commented\"")]
    [TestCase("/* import x from \"commented\" */")]
    [TestCase("const s = \"import x from 'in-a-string'\";")]
    [TestCase("const t = `import x from \"in-a-template\"`;")]
    [TestCase("const r = /import x from \"in-a-regex\"/;")]
    [TestCase("obj.import(\"method\")")]
    [TestCase("import.meta.url")]
    [TestCase("const m = import(name)")]
    [TestCase("export { a, b };\nconst from = \"not-a-module\";")]
    [TestCase("export const x = 1;")]
    [TestCase("const o = { import: \"key\" };")]
    public void WhatOnlyLooksLikeAnImportIsNot(string source) => Assert.That(Specifiers(source), Is.Empty);

    [Test]
    public void ATemplateWithCodeInsideIsSkippedAndScanningGoesOn()
    {
        var source = "const a = `x ${ `nested ${ { b: \"}\" }.b }` } import(\"no\") `;\nimport y from \"after\";";
        Assert.That(Specifiers(source), Is.EqualTo(new[] { "after" }));
    }

    [Test]
    public void DivisionIsNotARegex()
    {
        var source = "const half = total / 2; const q = a / b / c;\nimport z from \"after-division\";";
        Assert.That(Specifiers(source), Is.EqualTo(new[] { "after-division" }));
    }

    [Test]
    public void LinesAndColumnsPointAtTheSpecifier()
    {
        var scan = ModuleScanner.Scan("// header\n\nimport { a } from \"pkg\";\n  await import('lazy');\n");
        Assert.That(scan.Imports.Select(i => (i.Specifier, i.Line, i.Column, i.Dynamic)), Is.EqualTo(new[] { ("pkg", 3, 19, false), ("lazy", 4, 16, true) }));
    }

    [TestCase("export default {}", true, false)]
    [TestCase("import x from \"y\"", true, false)]
    [TestCase("module.exports = { a: 1 };", false, true)]
    [TestCase("exports.a = require(\"b\");", false, true)]
    [TestCase("const x = 1;", false, false)]
    public void ModuleSyntaxAndCommonJsAreTold(string source, bool module, bool commonJs)
    {
        var scan = ModuleScanner.Scan(source);
        Assert.That((scan.HasModuleSyntax, scan.LooksCommonJs), Is.EqualTo((module, commonJs)));
    }
}
