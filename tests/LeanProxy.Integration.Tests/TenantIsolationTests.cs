using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using LeanProxy.Tests.Shared;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// Two hostile tenants on one node (PLATFORM.md, "Isolation between tenants"): each tries to read what the other left
/// in every browser storage, to load the other's files, and to reach the node's admin API and listeners — by address
/// and by a name that resolves to loopback. And one app server whose operator opened a single local destination.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TenantIsolationTests
{
    [Test]
    [CancelAfter(180_000)]
    public async Task TenantsSeeNoneOfEachOthersStorageFilesOrTheNodesInternals(CancellationToken cancellationToken)
    {
        await using var postgres = await PostgresCluster.StartAsync(cancellationToken);
        await using var node = await NodeHarness.StartAsync(postgres.Uri(), admin: true, cancellationToken);
        foreach (var name in new[] { "alpha", "beta" })
        {
            var (code, _, stderr) = await node.CliAsync(cancellationToken, "deploy", LeanProxyProcess.AppPath("tenant"), "--name", name);
            Assert.That(code, Is.Zero, stderr);
        }

        Assert.That(await node.GetAsync("alpha", "/write?v=alpha-secret", cancellationToken), Is.EqualTo((200, "written")));
        using (var own = JsonDocument.Parse((await node.GetAsync("alpha", "/read", cancellationToken)).Body))
        {
            var r = own.RootElement;
            Assert.That((r.GetProperty("local").GetString(), r.GetProperty("idb").GetString(), r.GetProperty("cache").GetString()), Is.EqualTo(("alpha-secret", "alpha-secret", "alpha-secret")), "the writes worked");
            Assert.That(r.GetProperty("cookie").GetString(), Does.Contain("secret=alpha-secret"));
            Assert.That(r.GetProperty("workers").EnumerateArray().Select(w => w.GetString()), Has.One.EndsWith("/tenant/"), "the service worker registered");
        }

        using (var other = JsonDocument.Parse((await node.GetAsync("beta", "/read", cancellationToken)).Body))
        {
            var r = other.RootElement;
            Assert.That(r.GetProperty("local").ValueKind, Is.EqualTo(JsonValueKind.Null), "localStorage");
            Assert.That(r.GetProperty("session").ValueKind, Is.EqualTo(JsonValueKind.Null), "sessionStorage");
            Assert.That(r.GetProperty("cookie").GetString(), Is.Empty, "cookies (which browsers share across the ports of one host)");
            Assert.That(r.GetProperty("idb").ValueKind, Is.EqualTo(JsonValueKind.Null), "IndexedDB");
            Assert.That(r.GetProperty("cache").ValueKind, Is.EqualTo(JsonValueKind.Null), "Cache API");
            Assert.That(r.GetProperty("caches").GetArrayLength(), Is.Zero, "cache names");
            Assert.That(r.GetProperty("workers").GetArrayLength(), Is.Zero, "service workers");
        }

        // alpha's page server (its origin, its bundle), the node's admin API and public listener: all refused.
        var alphaOrigin = (await node.GetAsync("alpha", "/origin", cancellationToken)).Body;
        Assert.That(alphaOrigin, Does.Match(@"^http://lp-[0-9a-f]{12}\.localhost:[0-9]+$"), "a host name of its own: its own site");
        var betaOrigin = (await node.GetAsync("beta", "/origin", cancellationToken)).Body;
        Assert.That(betaOrigin, Is.Not.EqualTo(alphaOrigin), "each app version has its own origin");

        // alpha's page server serves its files to its own pages only: a request another site's page made gets 404.
        using (var direct = new HttpClient())
        {
            var pageServer = $"http://127.0.0.1:{new Uri(alphaOrigin).Port}/index.js";
            Assert.That((await direct.GetAsync(pageServer, cancellationToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "its own page's request");
            foreach (var site in new[] { "same-site", "cross-site" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, pageServer);
                request.Headers.Add("Sec-Fetch-Site", site);
                Assert.That((await direct.SendAsync(request, cancellationToken)).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), site);
            }
        }

        foreach (var target in new[] { alphaOrigin + "/index.js", node.AdminUrl + "/healthz", $"http://localhost:{node.HttpPort}/", $"http://127.0.0.1:{node.HttpPort}/" })
        {
            var (status, body) = await node.GetAsync("beta", "/fetch?url=" + Uri.EscapeDataString(target), cancellationToken);
            Assert.That(status, Is.EqualTo(200));
            Assert.That(body, Does.StartWith("TypeError: Fetch to " + new Uri(target).GetLeftPart(UriPartial.Path)).And.Contain("was refused")
                .And.Contain("is a loopback address").And.Contain("--allow-net"), target);
        }

        Assert.That((await node.GetAsync("beta", "/websocket?url=" + Uri.EscapeDataString($"ws://127.0.0.1:{node.AdminPort}/"), cancellationToken)).Body, Is.EqualTo("error"));
        Assert.That(node.Process.Stderr, Does.Contain("App beta: refused a connection: 127.0.0.1:" + node.AdminPort + " is a loopback address"));
        Assert.That(node.Process.Stderr, Does.Contain("App beta: refused a connection: localhost:" + node.HttpPort + " is a loopback address"), "a name that resolves to loopback is refused too");
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task AllowNetOpensExactlyTheNamedDestination(CancellationToken cancellationToken)
    {
        using var allowed = CorsServer.Start("from the allowed server");
        using var other = CorsServer.Start("from another local server");
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("tenant"), cancellationToken, "--allow-net", $"127.0.0.1:{allowed.Port}", "--allow-net", $"other-site.localhost:{allowed.Port}");
        using var client = new HttpClient { BaseAddress = host.BaseUri };

        // The handler's fetch is the host's (a server's request: no Sec-Fetch-* or Origin of the page), and goes where
        // --allow-net says: by name, or by the address a name resolves to.
        Assert.That(await client.GetStringAsync("/fetch?url=" + Uri.EscapeDataString($"http://other-site.localhost:{allowed.Port}/x"), cancellationToken), Is.EqualTo("200 from the allowed server"));
        Assert.That(allowed.LastHead, Does.Not.Contain("Sec-Fetch-Site").And.Not.Contain("Origin:"), "a server's request, not the page's");

        Assert.That(await client.GetStringAsync("/fetch?url=" + Uri.EscapeDataString($"http://127.0.0.1:{allowed.Port}/x"), cancellationToken), Is.EqualTo("200 from the allowed server"));
        Assert.That(await client.GetStringAsync("/fetch?url=" + Uri.EscapeDataString($"http://127.0.0.1:{other.Port}/x"), cancellationToken), Does.StartWith("TypeError: Fetch to").And.Contain("was refused"));
        Assert.That(await client.GetStringAsync("/fetch?url=" + Uri.EscapeDataString("http://10.255.255.1/"), cancellationToken), Does.StartWith("TypeError: Fetch to").And.Contain("a private address"), "a private address is refused at once, not after a connect timeout");
        Assert.That(await client.GetStringAsync("/fetch?url=" + Uri.EscapeDataString("http://169.254.169.254/latest/meta-data/"), cancellationToken), Does.StartWith("TypeError"), "the cloud metadata address");
        Assert.That(other.Requests, Is.Zero, "the other server was never reached");
        Assert.That(host.Stderr, Does.Contain("169.254.169.254:80 is a link-local address"));
    }

    [Test]
    public async Task AnUnknownAllowNetIsAUsageError()
    {
        await using var host = LeanProxyProcess.Start("serve", LeanProxyProcess.AppPath("tenant"), "--allow-net", "db.internal:99999");
        Assert.That(await host.WaitForExitAsync(CancellationToken.None), Is.EqualTo(2));
        Assert.That(host.Stderr, Does.Contain("--allow-net db.internal:99999: the port must be a number from 1 to 65535."));
    }

    /// <summary>A loopback HTTP server that answers every request with a text and CORS headers that allow any page.</summary>
    private sealed class CorsServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private int _requests;
        private string _lastHead = string.Empty;

        private CorsServer(string text)
        {
            _listener.Start();
            _ = ServeAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: {text.Length}\r\nConnection: close\r\n\r\n{text}"));
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Requests => Volatile.Read(ref _requests);

        /// <summary>The head of the last request it received.</summary>
        public string LastHead => Volatile.Read(ref _lastHead);

        public static CorsServer Start(string text) => new(text);

        private async Task ServeAsync(byte[] response)
        {
            try
            {
                while (true)
                {
                    using var client = await _listener.AcceptTcpClientAsync();
                    Interlocked.Increment(ref _requests);
                    var stream = client.GetStream();
                    var buffer = new byte[4096];
                    var head = string.Empty;
                    while (!head.Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var read = await stream.ReadAsync(buffer);
                        if (read == 0)
                        {
                            break;
                        }

                        head += Encoding.ASCII.GetString(buffer, 0, read);
                    }

                    Volatile.Write(ref _lastHead, head);

                    await stream.WriteAsync(response);
                }
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException or IOException)
            {
            }
        }

        public void Dispose() => _listener.Stop();
    }
}
