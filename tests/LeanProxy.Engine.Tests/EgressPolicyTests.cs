using System.Net;
using LeanProxy.Engine.Egress;

namespace LeanProxy.Engine.Tests;

/// <summary>The egress policy's address table, --allow-net's syntax, and the proxy's request parsing.</summary>
public sealed class EgressPolicyTests
{
    [TestCase("127.0.0.1", "a loopback address")]
    [TestCase("127.255.0.9", "a loopback address")]
    [TestCase("::1", "a loopback address")]
    [TestCase("::ffff:127.0.0.1", "a loopback address")]
    [TestCase("10.1.2.3", "a private address")]
    [TestCase("172.16.0.1", "a private address")]
    [TestCase("172.31.255.255", "a private address")]
    [TestCase("192.168.1.1", "a private address")]
    [TestCase("100.64.0.1", "a private address")]
    [TestCase("fd12:3456::1", "a private address")]
    [TestCase("fc00::1", "a private address")]
    [TestCase("169.254.169.254", "a link-local address")]
    [TestCase("fe80::1", "a link-local address")]
    [TestCase("0.0.0.0", "an unspecified address")]
    [TestCase("::", "an unspecified address")]
    [TestCase("224.0.0.1", "a reserved or multicast address")]
    [TestCase("ff02::1", "a multicast address")]
    [TestCase("93.184.216.34", null)]
    [TestCase("172.32.0.1", null)]
    [TestCase("2606:4700::1111", null)]
    public void AddressesAreRefusedByKind(string address, string? reason) =>
        Assert.That(EgressPolicy.WhyRefused(IPAddress.Parse(address)), Is.EqualTo(reason));

    [Test]
    public void AllowNetOpensANamedHostAndPortOnly()
    {
        var policy = new EgressPolicy([AllowedDestination.Parse("db.internal:5432"), AllowedDestination.Parse("10.0.0.5"), AllowedDestination.Parse("[fd00::7]:8080")]);
        var internalAddress = IPAddress.Parse("10.9.9.9");
        Assert.That(policy.Refusal("db.internal", 5432, internalAddress), Is.Null);
        Assert.That(policy.Refusal("DB.internal", 5432, internalAddress), Is.Null, "host names compare without case");
        Assert.That(policy.Refusal("db.internal", 5433, internalAddress), Is.EqualTo("db.internal:5433 is a private address"));
        Assert.That(policy.Refusal("other.internal", 5432, internalAddress), Is.EqualTo("other.internal:5432 is a private address"), "a name is not allowed by the address it resolves to");
        Assert.That(policy.Refusal("10.0.0.5", 1234, IPAddress.Parse("10.0.0.5")), Is.Null, "an address without a port: every port");
        Assert.That(policy.Refusal("fd00::7", 8080, IPAddress.Parse("fd00::7")), Is.Null);
        Assert.That(policy.Refusal("example.com", 443, IPAddress.Parse("93.184.216.34")), Is.Null, "public destinations need nothing");
    }

    [TestCase("127.0.0.1", 8080, "127.0.0.1:8080 is a loopback address")]
    [TestCase("localhost", 80, "localhost:80 is a loopback address")]
    [TestCase("lp-abc.localhost", 443, "lp-abc.localhost:443 is a loopback address")]
    [TestCase("LocalHost", 80, "LocalHost:80 is a loopback address")]
    [TestCase("169.254.169.254", 80, "169.254.169.254:80 is a link-local address")]
    [TestCase("::1", 80, "::1:80 is a loopback address")]
    [TestCase("::ffff:10.0.0.1", 80, "::ffff:10.0.0.1:80 is a private address")]
    [TestCase("93.184.216.34", 443, null)]
    [TestCase("127.0.0.1", 9000, null)]
    [TestCase("localhost", 9000, null)]
    public async Task BothWaysOutResolveAndDecideOnWhatTheNameResolvedTo(string host, int port, string? refusal)
    {
        // 127.0.0.1:9000 is opened by --allow-net; localhost:9000 resolves to it and is allowed by the address.
        var policy = new EgressPolicy([AllowedDestination.Parse("127.0.0.1:9000")]);
        var decision = await policy.ResolveAsync(host, port, CancellationToken.None);
        Assert.That(decision.Refusal, Is.EqualTo(refusal));
        Assert.That(decision.Addresses, refusal is null ? Is.Not.Empty : Is.Empty, "addresses only when they may be connected to");
    }

    [TestCase("db.internal:0", "the port must be a number from 1 to 65535.")]
    [TestCase("db.internal:http", "the port must be a number from 1 to 65535.")]
    [TestCase("http://db.internal", "expected HOST or HOST:PORT")]
    [TestCase("[fd00::7", "needs its closing ']'")]
    [TestCase("", "expected HOST or HOST:PORT")]
    public void BadAllowNetValuesSayWhatIsWrong(string value, string message) =>
        Assert.That(() => AllowedDestination.Parse(value), Throws.TypeOf<FormatException>().With.Message.Contains(message));

    [Test]
    public void ProxyRequestsAreParsedAndPlainOnesRewrittenToOriginFormWithConnectionClose()
    {
        Assert.That(EgressProxy.TryParse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", out var connect), Is.True);
        Assert.That((connect.Connect, connect.Host, connect.Port), Is.EqualTo((true, "example.com", 443)));
        Assert.That(EgressProxy.TryParse("CONNECT [::1]:8081 HTTP/1.1\r\n\r\n", out var v6), Is.True);
        Assert.That((v6.Host, v6.Port), Is.EqualTo(("::1", 8081)));

        Assert.That(EgressProxy.TryParse("GET http://example.com:8080/a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n", out var plain), Is.True);
        Assert.That((plain.Connect, plain.Host, plain.Port), Is.EqualTo((false, "example.com", 8080)));
        Assert.That(plain.ForwardHead, Is.EqualTo("GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"));

        Assert.That(EgressProxy.TryParse("GET /relative HTTP/1.1\r\n\r\n", out _), Is.False, "not a proxy request");
        Assert.That(EgressProxy.TryParse("GET ftp://example.com/ HTTP/1.1\r\n\r\n", out _), Is.False);
        Assert.That(EgressProxy.TryParse("GET http://user:pw@example.com/ HTTP/1.1\r\n\r\n", out _), Is.False);
        Assert.That(EgressProxy.TryParse("CONNECT example.com HTTP/1.1\r\n\r\n", out _), Is.False, "CONNECT needs a port");
    }
}
