using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// Bodies on the tab's data plane (a WebSocket beside CDP, 4 KiB and more) and inline (smaller), every kind and both
/// ways, through the real binary and Chromium: byte for byte, the page's own tampering, and a renderer killed mid-body.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DataPlaneTests
{
    private LeanProxyProcess _host = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("bodies"), timeout.Token, "--tabs", "1", "--log-level", "debug",
            "--max-body", "20000000", "--admin", "127.0.0.1:0");
        _client = new HttpClient { BaseAddress = _host.BaseUri, Timeout = TimeSpan.FromSeconds(60) };
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    private static byte[] Pattern(int n) => Enumerable.Range(0, n).Select(i => (byte)((i * 131 + 7) & 255)).ToArray();

    private static byte[] Random(int n) => RandomNumberGenerator.GetBytes(n);

    [Test]
    [CancelAfter(30_000)]
    public async Task ThePlaneOpensWithTheTabAndCarriesWhatIsLargeWhileSmallBodiesRideInline(CancellationToken cancellationToken)
    {
        await _host.WaitForLogAsync("tab 0's data plane is open", cancellationToken);
        Assert.That(_host.Stderr, Does.Not.Contain("did not open its data plane"));
        const string toPage = """leanproxy_data_plane_bytes_total{app="bodies",direction="to_page"}""";
        const string fromPage = """leanproxy_data_plane_bytes_total{app="bodies",direction="from_page"}""";
        var before = (await _host.MetricAsync(toPage, cancellationToken) ?? 0, await _host.MetricAsync(fromPage, cancellationToken) ?? 0);

        using (var small = await _client.PostAsync("/echo", new ByteArrayContent(Random(1000)), cancellationToken))
        {
            Assert.That(small.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That((await _host.MetricAsync(toPage, cancellationToken) ?? 0, await _host.MetricAsync(fromPage, cancellationToken) ?? 0), Is.EqualTo(before));

        using (var large = await _client.PostAsync("/echo", new ByteArrayContent(Random(500_000)), cancellationToken))
        {
            Assert.That((await large.Content.ReadAsByteArrayAsync(cancellationToken)).Length, Is.EqualTo(500_000));
        }

        Assert.That(await _host.MetricAsync(toPage, cancellationToken), Is.EqualTo(before.Item1 + 500_000));
        Assert.That(await _host.MetricAsync(fromPage, cancellationToken), Is.EqualTo(before.Item2 + 500_000));
    }

    [TestCase(0)]
    [TestCase(100)]
    [TestCase(4095)]
    [TestCase(4096)]
    [TestCase(100_000)]
    [TestCase(3 * 1024 * 1024)]
    [CancelAfter(60_000)]
    public async Task UploadsComeBackByteForByteAsBytesAndAsAStream(int size, CancellationToken cancellationToken)
    {
        var body = Random(size);
        foreach (var path in new[] { "/echo", "/stream" })
        {
            using var response = await _client.PostAsync(path, new ByteArrayContent(body), cancellationToken);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
            Assert.That(await response.Content.ReadAsByteArrayAsync(cancellationToken), Is.EqualTo(body), path);
        }
    }

    [TestCase(10, "é")]
    [TestCase(5000, "é")]
    [TestCase(200_000, "日本")]
    [TestCase(100_000, "x")]
    [CancelAfter(30_000)]
    public async Task TextKeepsEveryCharacterBothWays(int copies, string text, CancellationToken cancellationToken)
    {
        var expected = string.Concat(Enumerable.Repeat(text, copies)) + "\U0001F600";
        using var content = new StringContent(expected, Encoding.UTF8, "text/plain");
        using var echoed = await _client.PostAsync("/text", content, cancellationToken);
        Assert.That(await echoed.Content.ReadAsStringAsync(cancellationToken), Is.EqualTo(expected));

        var made = await _client.GetStringAsync($"/text-out?n={copies}&c={Uri.EscapeDataString(text)}", cancellationToken);
        Assert.That(made, Is.EqualTo(string.Concat(Enumerable.Repeat(text, copies))));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task JsonAndFormDataAreRead(CancellationToken cancellationToken)
    {
        var big = new string('é', 50_000);
        using var json = new StringContent(JsonSerializer.Serialize(new { big, n = 1 }), Encoding.UTF8, "application/json");
        using var jsonAnswer = await _client.PostAsync("/json", json, cancellationToken);
        using (var document = JsonDocument.Parse(await jsonAnswer.Content.ReadAsStringAsync(cancellationToken)))
        {
            Assert.That(document.RootElement.GetProperty("big").GetString(), Is.EqualTo(big));
        }

        var file = Random(300_000);
        using var form = new MultipartFormDataContent { { new StringContent("v"), "field" }, { new ByteArrayContent(file), "file", "f.bin" } };
        using var formAnswer = await _client.PostAsync("/form", form, cancellationToken);
        using var parsed = JsonDocument.Parse(await formAnswer.Content.ReadAsStringAsync(cancellationToken));
        Assert.That(parsed.RootElement.GetProperty("field").GetString(), Is.EqualTo("v"));
        Assert.That(parsed.RootElement.GetProperty("file").GetProperty("size").GetInt32(), Is.EqualTo(file.Length));
    }

    [TestCase("/bytes", 1000)]
    [TestCase("/bytes", 1024 * 1024)]
    [TestCase("/blob", 500_000)]
    [TestCase("/chunks", 5 * 1024 * 1024)]
    [CancelAfter(60_000)]
    public async Task ResponseBodiesOfEveryKindArriveWhole(string path, int n, CancellationToken cancellationToken)
    {
        var bytes = await _client.GetByteArrayAsync($"{path}?n={n}&size=100000", cancellationToken);
        Assert.That(bytes, Is.EqualTo(Pattern(n)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AStreamedResponseComesChunkByChunk(CancellationToken cancellationToken)
    {
        // 4 chunks of 64 KiB, 300 ms apart: the first reaches the client while the handler still produces the rest.
        using var response = await _client.GetAsync("/chunks?n=262144&size=65536&ms=300", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.That(response.Headers.TransferEncodingChunked, Is.True);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var first = new byte[65536];
        await stream.ReadExactlyAsync(first, cancellationToken);
        Assert.That(_host.Stderr, Does.Not.Contain("chunks sent 262144"), "the first chunk came before the last was made");
        var rest = new MemoryStream();
        await stream.CopyToAsync(rest, cancellationToken);
        Assert.That(first.Concat(rest.ToArray()).ToArray(), Is.EqualTo(Pattern(262144)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TheAppCanNeitherReachNorSeeItsDataPlane(CancellationToken cancellationToken)
    {
        // Traffic on the plane first, so that a patched WebSocket would have seen it.
        using (var echoed = await _client.PostAsync("/echo", new ByteArrayContent(Random(100_000)), cancellationToken))
        {
            Assert.That(echoed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        using var probe = JsonDocument.Parse(await _client.GetStringAsync("/probe", cancellationToken));
        var root = probe.RootElement;
        Assert.That(root.GetProperty("guessed").GetString(), Is.EqualTo("refused"), "a guessed token is a 404");
        Assert.That(root.GetProperty("redefined").GetString(), Does.StartWith("refused"), "the host's entry points cannot be replaced");
        Assert.That(root.GetProperty("seen").GetProperty("send").GetInt32(), Is.Zero, "the runtime's sends do not go through the app's patch");
        Assert.That(root.GetProperty("seen").GetProperty("onmessage").GetInt32(), Is.Zero, "nor its handlers");
        Assert.That(root.GetProperty("lp").GetString(), Is.EqualTo("function"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ARendererKilledMidBodyFailsOnlyItsOwnRequestsAndTheNextTabHasAPlaneOfItsOwn(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("bodies"), cancellationToken, "--tabs", "1", "--log-level", "debug");
        using var client = new HttpClient { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        await host.WaitForLogAsync("tab 0's data plane is open", cancellationToken);

        // An upload that reached the handler over the plane, and a download streaming over it, when the renderer dies.
        var held = client.PostAsync("/hold?id=a", new ByteArrayContent(Random(1024 * 1024)), cancellationToken);
        await host.WaitForLogAsync("hold a 1048576", cancellationToken);
        using var streaming = await client.GetAsync("/chunks?n=4194304&size=65536&ms=200", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await host.WaitForLogAsync("chunks sent 131072", cancellationToken);
        var planes = host.Stderr.Split("data plane is open").Length - 1;
        foreach (var pid in host.Descendants().Where(pid => ProcessTree.CommandLine(pid).Contains("--type=renderer", StringComparison.Ordinal)))
        {
            using var kill = System.Diagnostics.Process.Start("kill", ["-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync(cancellationToken);
        }

        using (var failed = await held)
        {
            Assert.That((int)failed.StatusCode, Is.EqualTo(502), "a POST that was in the page is not repeated");
        }

        var cut = new MemoryStream();
        Assert.That(async () => await (await streaming.Content.ReadAsStreamAsync(cancellationToken)).CopyToAsync(cut, cancellationToken),
            Throws.InstanceOf<HttpRequestException>().Or.InstanceOf<IOException>(), "a body cut short is never passed off as whole");
        Assert.That(cut.Length, Is.LessThan(4194304));

        // The replacement tab opened a plane of its own: big bodies go both ways again.
        await host.WaitForLogAsync("data plane is open", cancellationToken, times: planes + 1);
        var body = Random(2 * 1024 * 1024);
        using var echoed = await client.PostAsync("/echo", new ByteArrayContent(body), cancellationToken);
        Assert.That(await echoed.Content.ReadAsByteArrayAsync(cancellationToken), Is.EqualTo(body));
    }
}
