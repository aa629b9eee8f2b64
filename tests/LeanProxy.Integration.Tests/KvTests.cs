using System.Text.Json;

namespace LeanProxy.Integration.Tests;

/// <summary>env.KV through the real binary and a real Chromium: the API, its errors, expiry, durability, and namespaces a tenant cannot cross.</summary>
[TestFixture]
[NonParallelizable]
public sealed class KvTests
{
    private string _root = null!;

    [SetUp]
    public void CopyApp()
    {
        _root = Path.Combine(Path.GetTempPath(), "lp-kv-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_root);
    }

    [TearDown]
    public void Delete() => Directory.Delete(_root, recursive: true);

    /// <summary>The kv-api app copied to a folder of its own (its name is the app's name, hence its namespace).</summary>
    private string App(string name)
    {
        var folder = Path.Combine(_root, name);
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(LeanProxyProcess.AppPath("kv-api"), "index.js"), Path.Combine(folder, "index.js"));
        return folder;
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TheApiBehavesAsWorkersKv(CancellationToken cancellationToken)
    {
        var app = App("api");
        await using var host = await LeanProxyProcess.ServeAsync(app, cancellationToken, "--kv", "KV");
        using var client = new HttpClient { BaseAddress = host.BaseUri };
        using var result = JsonDocument.Parse(await client.GetStringAsync("/api", cancellationToken));
        var r = result.RootElement;

        Assert.That(r.GetProperty("text").ValueKind, Is.EqualTo(JsonValueKind.Null), "deleted");
        Assert.That(r.GetProperty("json").GetProperty("a")[1].GetInt32(), Is.EqualTo(2));
        Assert.That(r.GetProperty("binary").EnumerateArray().Select(b => b.GetInt32()), Is.EqualTo(new[] { 0, 1, 255, 128 }));
        Assert.That(r.GetProperty("unicode").GetString(), Is.EqualTo("caf\u00e9 \u2603"));
        Assert.That(r.GetProperty("stream").GetString(), Is.EqualTo("from a stream"), "a ReadableStream value is stored whole");
        Assert.That(r.GetProperty("streamed").GetString(), Is.EqualTo("hello"), "get(key, \"stream\")");
        Assert.That(r.GetProperty("withMeta").GetProperty("metadata").GetProperty("tag").GetString(), Is.EqualTo("m"));
        Assert.That(r.GetProperty("withMeta").GetProperty("value").GetProperty("a")[0].GetInt32(), Is.EqualTo(1));
        var bulk = r.GetProperty("bulk");
        Assert.That((bulk.GetProperty("text").GetString(), bulk.GetProperty("missing").ValueKind, bulk.GetProperty("unicode-\u00e9").GetString()),
            Is.EqualTo(("hello", JsonValueKind.Null, "caf\u00e9 \u2603")), "a bulk get is a Map of every key asked for");
        Assert.That(r.GetProperty("page1").GetProperty("keys").EnumerateArray().Select(k => k.GetString()), Is.EqualTo(new[] { "p:a", "p:b" }));
        Assert.That((r.GetProperty("page1").GetProperty("complete").GetBoolean(), r.GetProperty("page1").GetProperty("hasCursor").GetBoolean()), Is.EqualTo((false, true)));
        Assert.That(r.GetProperty("page2").GetProperty("keys").EnumerateArray().Select(k => k.GetString()), Is.EqualTo(new[] { "p:c" }));
        Assert.That(r.GetProperty("page2").GetProperty("complete").GetBoolean(), Is.True);
        Assert.That(r.GetProperty("missing").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(r.GetProperty("many").GetBoolean(), Is.True, "50 gets with Promise.all");
        Assert.That(File.Exists(Path.Combine(app, ".leanproxy", "state", "kv.db")), Is.True);
        Assert.That(host.Stderr, Does.Contain("KV bindings KV: values in sqlite:" + Path.Combine(app, ".leanproxy", "state", "kv.db")));
    }

    private string Example(string name)
    {
        var folder = Path.Combine(_root, name);
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(LeanProxyProcess.ExamplePath(name), "index.js"), Path.Combine(folder, "index.js"));
        return folder;
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task LargeValuesGoBothWaysOnTheDataPlaneAndEachReadIsItsOwnCopy(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(App("big"), cancellationToken, "--kv", "KV", "--admin", "127.0.0.1:0");
        using var client = new HttpClient { BaseAddress = host.BaseUri };
        using var result = JsonDocument.Parse(await client.GetStringAsync("/big?n=1000000", cancellationToken));
        Assert.That(result.RootElement.GetProperty("bytes").GetBoolean(), Is.True, "the value read back byte for byte, untouched by a read before");
        Assert.That(result.RootElement.GetProperty("text").GetBoolean(), Is.True);
        Assert.That(await host.MetricAsync("""leanproxy_data_plane_bytes_total{app="big",direction="from_page"}""", cancellationToken),
            Is.GreaterThanOrEqualTo(2_000_000), "both puts");
        Assert.That(await host.MetricAsync("""leanproxy_data_plane_bytes_total{app="big",direction="to_page"}""", cancellationToken),
            Is.GreaterThanOrEqualTo(2_000_000), "the gets (the second read of the bytes may come from the tab's cache)");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TheExamplesCountAndShorten(CancellationToken cancellationToken)
    {
        await using (var counter = await LeanProxyProcess.ServeAsync(Example("kv-counter"), cancellationToken, "--kv", "COUNTS"))
        {
            using var client = new HttpClient { BaseAddress = counter.BaseUri };
            await client.GetStringAsync("/hello", cancellationToken);
            Assert.That(await client.GetStringAsync("/hello", cancellationToken), Is.EqualTo("{\"path\":\"/hello\",\"count\":2}"));
            Assert.That(await client.GetStringAsync("/", cancellationToken), Is.EqualTo("{\"/hello\":2}"));
        }

        await using var shortener = await LeanProxyProcess.ServeAsync(Example("kv-shortener"), cancellationToken, "--kv", "LINKS");
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = shortener.BaseUri };
        using var created = await http.PostAsync("/", new StringContent("https://example.com/a/long/path"), cancellationToken);
        Assert.That((int)created.StatusCode, Is.EqualTo(201));
        using var link = JsonDocument.Parse(await created.Content.ReadAsStringAsync(cancellationToken));
        using var redirect = await http.GetAsync("/" + link.RootElement.GetProperty("code").GetString(), cancellationToken);
        Assert.That(((int)redirect.StatusCode, redirect.Headers.Location?.ToString()), Is.EqualTo((302, "https://example.com/a/long/path")));
        using var bad = await http.PostAsync("/", new StringContent("javascript:alert(1)"), cancellationToken);
        Assert.That((int)bad.StatusCode, Is.EqualTo(400));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task BadArgumentsThrowWorkersErrorsThatNameTheLimit(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(App("errors"), cancellationToken, "--kv", "KV");
        using var client = new HttpClient { BaseAddress = host.BaseUri };
        using var result = JsonDocument.Parse(await client.GetStringAsync("/errors", cancellationToken));
        var r = result.RootElement;
        Assert.That(r.GetProperty("empty").GetString(), Does.StartWith("Error: KV GET failed: 400").And.Contain("empty"));
        Assert.That(r.GetProperty("dot").GetString(), Is.EqualTo("Error: KV PUT failed: 400 Illegal key name \".\". Please use a different name."));
        Assert.That(r.GetProperty("long").GetString(), Is.EqualTo("Error: KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512."));
        Assert.That(r.GetProperty("value").GetString(), Is.EqualTo("Error: KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400."));
        Assert.That(r.GetProperty("metadata").GetString(), Does.StartWith("Error: KV PUT failed: 413 Metadata length of").And.EndWith("exceeds limit of 1024."));
        Assert.That(r.GetProperty("limit").GetString(), Is.EqualTo("Error: KV LIST failed: 400 Invalid key_count_limit of 1001. Please specify an integer between 1-1000."));
        Assert.That(r.GetProperty("type").GetString(), Does.StartWith("TypeError: Unknown response type."));
        Assert.That(r.GetProperty("cursor").GetString(), Is.EqualTo("Error: KV LIST failed: 400 Invalid cursor."), "checked by the host");
        Assert.That(r.GetProperty("ttl").GetString(), Does.StartWith("Error: KV PUT failed: 400 Invalid expiration_ttl of 0."));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ExpiredValuesAreGoneAndAcknowledgedWritesSurviveARestart(CancellationToken cancellationToken)
    {
        var app = App("durable");
        await using (var host = await LeanProxyProcess.ServeAsync(app, cancellationToken, "--kv", "KV"))
        {
            using var client = new HttpClient { BaseAddress = host.BaseUri };
            Assert.That(await client.GetStringAsync("/expire", cancellationToken), Is.EqualTo("soon gone"));
            while (await client.GetStringAsync("/short", cancellationToken) != "null")
            {
                await Task.Delay(100, cancellationToken); // expirationTtl: 1 (Workers asks for at least 60)
            }

            Assert.That(await client.GetStringAsync("/set?k=kept&v=written", cancellationToken), Is.EqualTo("ok"));
        }

        await using var again = await LeanProxyProcess.ServeAsync(app, cancellationToken, "--kv", "KV");
        using var second = new HttpClient { BaseAddress = again.BaseUri };
        Assert.That(await second.GetStringAsync("/get?k=kept", cancellationToken), Is.EqualTo("written"), "every acknowledged put is there after a restart");
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task AForgedBindingCallStillOnlyTouchesItsOwnAppsNamespace(CancellationToken cancellationToken)
    {
        var store = "sqlite:" + Path.Combine(_root, "shared-kv.db");
        await using var alpha = await LeanProxyProcess.ServeAsync(App("alpha"), cancellationToken, "--kv", "KV", "--store", store);
        await using var beta = await LeanProxyProcess.ServeAsync(App("beta"), cancellationToken, "--kv", "KV", "--store", store);
        using var alphaClient = new HttpClient { BaseAddress = alpha.BaseUri };
        using var betaClient = new HttpClient { BaseAddress = beta.BaseUri };

        Assert.That(await alphaClient.GetStringAsync("/set?k=secret&v=alpha-only", cancellationToken), Is.EqualTo("ok"));
        Assert.That(await betaClient.GetStringAsync("/get?k=secret", cancellationToken), Is.EqualTo("null"), "one store, two namespaces");

        Assert.That(await betaClient.GetStringAsync("/forge?k=secret", cancellationToken), Is.EqualTo("forged in my own namespace"));
        Assert.That(await alphaClient.GetStringAsync("/get?k=secret", cancellationToken), Is.EqualTo("alpha-only"), "the payload's app and namespace are never used");
        Assert.That(beta.Stderr, Does.Contain("malformed payload").Or.Contain("malformed"), "junk in the payload is logged, not obeyed");
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task EveryTabReadsAWriteAtOnceAndOtherProcessesWithinASecond(CancellationToken cancellationToken)
    {
        var store = "sqlite:" + Path.Combine(_root, "shared-kv.db");
        await using var node = await LeanProxyProcess.ServeAsync(App("shop"), cancellationToken, "--kv", "KV", "--store", store, "--tabs", "2");
        await node.WaitForLogAsync("tab 1 ready", cancellationToken); // it listens once the first tab has loaded
        using var client = new HttpClient { BaseAddress = node.BaseUri };
        Assert.That(await client.GetStringAsync("/set?k=price&v=1", cancellationToken), Is.EqualTo("ok"));

        // Both tabs read (and cache) the value…
        var tabs = new HashSet<string>();
        for (var round = 0; round < 5 && tabs.Count < 2; round++)
        {
            foreach (var answer in await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetStringAsync("/tab-get?k=price", cancellationToken))))
            {
                var parts = answer.Split(' ');
                Assert.That(parts[1], Is.EqualTo("1"));
                tabs.Add(parts[0]);
            }
        }

        Assert.That(tabs, Has.Count.EqualTo(2), "both tabs answered");

        // …and once a write is acknowledged, every later read on this node has the new value, whichever tab runs it.
        Assert.That(await client.GetStringAsync("/set?k=price&v=2", cancellationToken), Is.EqualTo("ok"));
        var after = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.GetStringAsync("/tab-get?k=price", cancellationToken)));
        Assert.That(after.Select(a => a.Split(' ')[1]).Distinct(), Is.EqualTo(new[] { "2" }), "no tab answered from a stale cache");

        // Another process of the same app on the same store: its write reaches this node's caches through the store's
        // log of changes, within about a second (the contract says "about a second"; 10 s is the bound of this test).
        // (an app's name is its folder's: a copy in another folder named shop shares the namespace)
        var copy = Path.Combine(_root, "elsewhere", "shop");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(App("unused"), "index.js"), Path.Combine(copy, "index.js"));
        await using var other = await LeanProxyProcess.ServeAsync(copy, cancellationToken, "--kv", "KV", "--store", store);
        using var otherClient = new HttpClient { BaseAddress = other.BaseUri };
        Assert.That(await otherClient.GetStringAsync("/get?k=price", cancellationToken), Is.EqualTo("2"));
        Assert.That(await otherClient.GetStringAsync("/set?k=price&v=3", cancellationToken), Is.EqualTo("ok"));
        var seen = await Eventually.ReadAsync(() => client.GetStringAsync("/get?k=price", cancellationToken), "3", TimeSpan.FromSeconds(10), cancellationToken);
        Assert.That(seen, Is.EqualTo("3"), "the other process's write was seen");
    }
}
