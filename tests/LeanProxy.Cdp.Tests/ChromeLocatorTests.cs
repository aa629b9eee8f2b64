using LeanProxy.Cdp.Launch;

namespace LeanProxy.Cdp.Tests;

/// <summary>Which Chromium binary LeanProxy starts when it is not told: the headless shell first, past Debian's scripts.</summary>
[TestFixture]
public sealed class ChromeLocatorTests
{
    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("lp-locator-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private string File(string relative, string content = "\u007fELF")
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    private static Func<string, string?> Environment(string? path, string? chromePath = null) =>
        name => name switch { "PATH" => path, "CHROME_PATH" => chromePath, _ => null };

    [Test]
    public void TheHeadlessShellOnPathComesBeforeTheFullBrowser()
    {
        File("a/google-chrome");
        File("b/chromium");
        var shell = File("b/chromium-headless-shell");

        var found = ChromeLocator.Locate(null, Environment($"{_root}/a:{_root}/b"));

        Assert.That(found, Is.EqualTo(shell));
    }

    [Test]
    public void GooglesChromeHeadlessShellIsAHeadlessShellToo()
    {
        File("a/chromium");
        var shell = File("b/chrome-headless-shell");

        Assert.That(ChromeLocator.Locate(null, Environment($"{_root}/a:{_root}/b")), Is.EqualTo(shell));
    }

    [Test]
    public void WithoutAShellTheFullBrowserOnPathIsFound()
    {
        var chromium = File("a/chromium");

        Assert.That(ChromeLocator.Locate(null, Environment($"{_root}/a")), Is.EqualTo(chromium));
    }

    [Test]
    public void ChromePathAndTheFlagComeBeforeAnyShell()
    {
        File("a/chromium-headless-shell");
        var chosen = File("elsewhere/chromium");
        var flag = File("flag/chrome");

        Assert.That(ChromeLocator.Locate(null, Environment($"{_root}/a", chosen)), Is.EqualTo(chosen));
        Assert.That(ChromeLocator.Locate(flag, Environment($"{_root}/a", chosen)), Is.EqualTo(flag));
        Assert.That(() => ChromeLocator.Locate(Path.Combine(_root, "nope"), Environment($"{_root}/a")),
            Throws.TypeOf<ChromeNotFoundException>().With.Message.Contains("--chrome").And.Message.Contains("nope"));
    }

    [Test]
    public void DebiansScriptsArePassedForTheBinariesTheyRun()
    {
        var lib = Path.Combine(_root, "lib");
        var shellBinary = File("lib/chromium-headless-shell");
        var fullBinary = File("lib/chromium");
        // What Debian 12 ships as /usr/bin/chromium-headless-shell (it does not exec: the shell would stay the parent).
        var shellScript = File("bin/chromium-headless-shell", $"#!/bin/sh -e\n\n{shellBinary} \"$@\"\n");
        // The part of Debian's /usr/bin/chromium that names its binary.
        var fullScript = File("bin/chromium", "#!/bin/sh\nAPPNAME=chromium\nLIBDIR=/usr/lib/$APPNAME\nexec $LIBDIR/$APPNAME $CHROMIUM_FLAGS \"$@\"\n");

        Assert.That(ChromeLocator.PastWrapper(shellScript, lib), Is.EqualTo(shellBinary));
        Assert.That(ChromeLocator.PastWrapper(fullScript, lib), Is.EqualTo(fullBinary));
    }

    [TestCase("chromium-headless-shell", "#!/bin/sh\n/opt/other/chromium-headless-shell \"$@\"\n", Description = "a script that runs another binary")]
    [TestCase("chromium-headless-shell", "\u007fELF not a script", Description = "a binary")]
    [TestCase("chromium", "#!/bin/sh\nexec /opt/chromium/chrome \"$@\"\n", Description = "someone else's chromium script")]
    [TestCase("chrome", "#!/bin/sh\nexec /usr/lib/chromium/chrome \"$@\"\n", Description = "a name Debian's scripts do not have")]
    public void AnythingElseIsStartedAsFound(string name, string content)
    {
        File("lib/chromium-headless-shell");
        File("lib/chromium");
        File("lib/chrome");
        var candidate = File("bin/" + name, content);

        Assert.That(ChromeLocator.PastWrapper(candidate, Path.Combine(_root, "lib")), Is.EqualTo(candidate));
    }

    [Test]
    public void WithoutTheLibraryBinaryTheScriptIsStarted()
    {
        var script = File("bin/chromium-headless-shell", $"#!/bin/sh -e\n\n{_root}/lib/chromium-headless-shell \"$@\"\n");

        Assert.That(ChromeLocator.PastWrapper(script, Path.Combine(_root, "lib")), Is.EqualTo(script));
    }
}
