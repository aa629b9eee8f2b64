using System.Text;
using LeanProxy.Engine.Apps;

namespace LeanProxy.Engine.Tests;

public sealed class AppBundleTests
{
    private string _root = null!;

    [SetUp]
    public void CreateFolder()
    {
        _root = Path.Combine(Path.GetTempPath(), "lp-app-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_root);
    }

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_root, recursive: true);

    [TestCase("index.js")]
    [TestCase("index.mjs")]
    public void AFolderUsesItsIndexModule(string name)
    {
        File.WriteAllText(Path.Combine(_root, name), "export default {}");
        var bundle = AppBundle.Load(_root);
        Assert.That(bundle.EntryPath, Is.EqualTo("/" + name));
        Assert.That(bundle.SourceRoot, Is.EqualTo(_root));
        Assert.That(bundle.Describe(bundle.EntryPath), Is.EqualTo(Path.Combine(_root, name)));
    }

    [Test]
    public void AFileIsItsOwnEntryAndItsFolderIsTheBundle()
    {
        var file = Path.Combine(_root, "handler.mjs");
        File.WriteAllText(file, "export default {}");
        Directory.CreateDirectory(Path.Combine(_root, "lib", ".hidden"));
        File.WriteAllText(Path.Combine(_root, "lib", ".hidden", "x.json"), "{}");
        var bundle = AppBundle.Load(file);
        Assert.That(bundle.EntryPath, Is.EqualTo("/handler.mjs"));
        Assert.That(bundle.Name, Is.EqualTo("handler"));
        Assert.That(bundle.Paths, Is.EqualTo(new[] { "/handler.mjs", "/lib/.hidden/x.json" }));
        Assert.That(bundle.TryGetFile("/lib/.hidden/x.json", out var json), Is.True);
        Assert.That(json.ContentType, Is.EqualTo("application/json"));
    }

    [Test]
    public void TheBundleIsInMemoryAndDoesNotChangeWithTheDisk()
    {
        File.WriteAllText(Path.Combine(_root, "index.js"), "export default { v: 1 }");
        var bundle = AppBundle.Load(_root);
        File.WriteAllText(Path.Combine(_root, "index.js"), "export default { v: 2 }");
        File.Delete(Path.Combine(_root, "index.js"));

        Assert.That(bundle.TryGetFile("/index.js", out var file), Is.True);
        Assert.That(Encoding.UTF8.GetString(file.Content.Span), Is.EqualTo("export default { v: 1 }"));
        Assert.That(file.ContentType, Does.StartWith("text/javascript"));
    }

    [Test]
    public void TheHashCoversPathsAndContents()
    {
        var one = AppBundle.FromFiles("a", "/index.js", new Dictionary<string, byte[]> { ["/index.js"] = "x"u8.ToArray(), ["/b.js"] = "y"u8.ToArray() });
        var same = AppBundle.FromFiles("other-name", "/index.js", new Dictionary<string, byte[]> { ["/b.js"] = "y"u8.ToArray(), ["/index.js"] = "x"u8.ToArray() });
        var renamed = AppBundle.FromFiles("a", "/index.js", new Dictionary<string, byte[]> { ["/index.js"] = "x"u8.ToArray(), ["/c.js"] = "y"u8.ToArray() });
        var edited = AppBundle.FromFiles("a", "/index.js", new Dictionary<string, byte[]> { ["/index.js"] = "x"u8.ToArray(), ["/b.js"] = "z"u8.ToArray() });

        Assert.That(one.Sha256, Has.Length.EqualTo(64).And.Match("^[0-9a-f]+$"));
        Assert.That(same.Sha256, Is.EqualTo(one.Sha256), "order and name do not matter");
        Assert.That(renamed.Sha256, Is.Not.EqualTo(one.Sha256));
        Assert.That(edited.Sha256, Is.Not.EqualTo(one.Sha256));
        byte[] stream = [.. "/b.js"u8, 0, .. BitConverter.GetBytes(1L), .. "y"u8, .. "/index.js"u8, 0, .. BitConverter.GetBytes(1L), .. "x"u8];
        Assert.That(one.Sha256, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream))), "path, 0, length, content, in path order: the store's address");

        Assert.That(one.ContentId, Has.Length.EqualTo(16).And.Match("^[0-9a-f]+$"));
        Assert.That(same.ContentId, Is.EqualTo(one.ContentId), "order and name do not matter");
        Assert.That(renamed.ContentId, Is.Not.EqualTo(one.ContentId));
        Assert.That(edited.ContentId, Is.Not.EqualTo(one.ContentId));
        Assert.That(one.ContentId, Is.EqualTo(Convert.ToHexStringLower(System.IO.Hashing.XxHash3.Hash(stream))), "the same bytes as the SHA-256");
        Assert.That(one.Size, Is.EqualTo(2));
        Assert.That(one.FileCount, Is.EqualTo(2));
    }

    [Test]
    public void ABundleWithoutItsEntryIsRefused()
    {
        Assert.That(() => AppBundle.FromFiles("a", "/index.js", new Dictionary<string, byte[]> { ["/x.js"] = [] }), Throws.ArgumentException.With.Message.Contains("/index.js"));
    }

    [Test]
    public void AFolderWithoutIndexIsRefusedWithAReason()
    {
        Assert.That(() => AppBundle.Load(_root), Throws.ArgumentException.With.Message.Contains("index.js"));
    }

    [Test]
    public void AMissingPathIsRefused()
    {
        Assert.That(() => AppBundle.Check(Path.Combine(_root, "nope")), Throws.ArgumentException.With.Message.Contains("does not exist"));
    }
}
