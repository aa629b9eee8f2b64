namespace LeanProxy.Engine.Tests;

public sealed class AppSourceTests
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
        var app = AppSource.Resolve(_root);
        Assert.That(app.Entry, Is.EqualTo(Path.Combine(_root, name)));
        Assert.That(app.Root, Is.EqualTo(_root));
        Assert.That(app.EntryUrlPath, Is.EqualTo("/" + name));
    }

    [Test]
    public void AFileIsItsOwnEntryAndItsFolderIsServed()
    {
        var file = Path.Combine(_root, "handler.mjs");
        File.WriteAllText(file, "export default {}");
        var app = AppSource.Resolve(file);
        Assert.That(app.Entry, Is.EqualTo(file));
        Assert.That(app.EntryUrlPath, Is.EqualTo("/handler.mjs"));
        Assert.That(app.Name, Is.EqualTo("handler"));
    }

    [Test]
    public void AFolderWithoutIndexIsRefusedWithAReason()
    {
        Assert.That(() => AppSource.Resolve(_root), Throws.ArgumentException.With.Message.Contains("index.js"));
    }

    [Test]
    public void AMissingPathIsRefused()
    {
        Assert.That(() => AppSource.Resolve(Path.Combine(_root, "nope")), Throws.ArgumentException.With.Message.Contains("does not exist"));
    }
}
