using LeanProxy.Engine.Apps;
using LeanProxy.Host.Cli;

namespace LeanProxy.Host.Tests;

/// <summary>The command line, run in-process: bad usage exits 2 naming the problem, help and version exit 0.</summary>
public sealed class CliTests
{
    private static string ExampleApp => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../examples/hello"));

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Program.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task HelpListsTheServeCommandAndExits0()
    {
        var (code, stdout, _) = await RunAsync("--help");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("serve"));
    }

    [Test]
    public async Task ServeHelpListsItsOptions()
    {
        var (code, stdout, _) = await RunAsync("serve", "--help");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("--http").And.Contain("--tabs").And.Contain("--chrome").And.Contain("--timeout").And.Contain("--var"));
    }

    [Test]
    public async Task VersionExits0()
    {
        var (code, stdout, _) = await RunAsync("--version");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Match(@"leanproxy \d+\.\d+\.\d+"));
    }

    [Test]
    public async Task AnUnknownFlagExits2NamingIt()
    {
        var (code, _, stderr) = await RunAsync("serve", ExampleApp, "--htp", "127.0.0.1:0");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--htp"));
    }

    [Test]
    public async Task AMissingAppExits2()
    {
        var (code, _, stderr) = await RunAsync("serve");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("APP"));
    }

    [Test]
    public async Task AnAppThatDoesNotExistExits2NamingIt()
    {
        var (code, _, stderr) = await RunAsync("serve", "/nonexistent/app");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("/nonexistent/app"));
    }

    [Test]
    public async Task AnUnknownCommandExits2()
    {
        var (code, _, stderr) = await RunAsync("frobnicate");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("frobnicate"));
    }

    [TestCase("127.0.0.1", "expected HOST:PORT")]
    [TestCase("127.0.0.1:99999", "not a port")]
    [TestCase("127.0.0.1:http", "not a port")]
    [TestCase("example.com:80", "not an IP address")]
    [TestCase(":80", "expected HOST:PORT")]
    public async Task ABadAddressExits2NamingIt(string address, string reason)
    {
        var (code, _, stderr) = await RunAsync("serve", ExampleApp, "--http", address);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--http " + address).And.Contain(reason));
    }

    [TestCase("--tabs", "0", "--tabs 0")]
    [TestCase("--timeout", "-1", "--timeout -1")]
    [TestCase("--var", "NOEQUALS", "--var NOEQUALS")]
    [TestCase("--queue", "0", "--queue 0")]
    [TestCase("--log-level", "loud", "--log-level loud")]
    [TestCase("--browser-url", "ftp://x", "--browser-url ftp://x")]
    [TestCase("--max-subrequests", "0", "--max-subrequests 0: must be at least 1")]
    [TestCase("--ca-file", "/nonexistent/ca.pem", "--ca-file /nonexistent/ca.pem: no such file")]
    [TestCase("--ca-file", "/etc/passwd", "--ca-file /etc/passwd: holds no certificate")]
    public async Task ABadValueExits2NamingTheFlag(string flag, string value, string expected)
    {
        var (code, _, stderr) = await RunAsync("serve", ExampleApp, flag, value);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(expected));
    }

    [Test]
    public async Task ANonNumericTabsExits2NamingTheFlag()
    {
        var (code, _, stderr) = await RunAsync("serve", ExampleApp, "--tabs", "many");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--tabs"));
    }

    [Test]
    public void ValidOptionsBecomeEngineAndListenerSettings()
    {
        var options = new ServeOptions
        {
            App = ExampleApp,
            Http = ["127.0.0.1:0", "[::1]:8081", "localhost:9"],
            Tabs = 3,
            Timeout = 2.5,
            Vars = ["A=1", "B=x=y"],
            MaxBody = 1000,
        };
        var (plan, _) = ServeCommand.Validate(options);
        Assert.That(plan.App.Tabs, Is.EqualTo(3));
        Assert.That(plan.App.RequestTimeout, Is.EqualTo(TimeSpan.FromSeconds(2.5)));
        Assert.That(plan.App.Variables, Is.EquivalentTo(new Dictionary<string, string> { ["A"] = "1", ["B"] = "x=y" }));
        Assert.That(plan.Http.MaxBodyBytes, Is.EqualTo(1000));
        Assert.That(plan.HttpEndpoints.Select(EndpointParser.Format), Is.EqualTo(new[] { "127.0.0.1:0", "[::1]:8081", "127.0.0.1:9" }));
        Assert.That(plan.RequiredExports, Is.EqualTo(new[] { "fetch" }));
    }

    [Test]
    public void UnsetOptionsKeepTheDefaultsOfTheirOptionsTypes()
    {
        var (plan, _) = ServeCommand.Validate(new ServeOptions { App = ExampleApp, Tcp = ["127.0.0.1:0"], Udp = ["127.0.0.1:0"] });
        var defaults = new AppOptions();
        Assert.That((plan.App.Tabs, plan.App.RequestTimeout, plan.App.QueueLimit, plan.App.LoadTimeout, plan.App.WarmSpare),
            Is.EqualTo((defaults.Tabs, defaults.RequestTimeout, defaults.QueueLimit, defaults.LoadTimeout, defaults.WarmSpare)));
        Assert.That(plan.Http.MaxBodyBytes, Is.EqualTo(new LeanProxy.Listener.HttpListenerOptions().MaxBodyBytes));
        Assert.That(plan.HttpEndpoints, Is.Empty, "no default HTTP listener when a raw one is given");
        Assert.That(plan.RequiredExports, Is.EqualTo(new[] { "connect", "datagram" }));
    }

    [Test]
    public void WithoutHttpTheDefaultIs8080OnLoopback()
    {
        var (plan, _) = ServeCommand.Validate(new ServeOptions { App = ExampleApp });
        Assert.That(plan.HttpEndpoints.Select(EndpointParser.Format), Is.EqualTo(new[] { "127.0.0.1:8080" }));
    }
}
