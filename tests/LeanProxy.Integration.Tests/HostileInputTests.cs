using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// Bad input through the real binary: 10,000 requests mutated at random (bytes replaced, inserted, removed, cut short)
/// against a running node. Each gets an answer or a close — never a hang — and the node stays healthy and serves the
/// next good request.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HostileInputTests
{
    private const int Requests = 10_000;

    [Category(TestCategories.Load)]
    [Test]
    [CancelAfter(300_000)]
    public async Task TenThousandMutatedRequestsEachGetAnAnswerOrACloseAndTheNodeServesOn(CancellationToken cancellationToken)
    {
        await using var node = await NodeHarness.StartOnSqliteAsync(admin: true, cancellationToken);
        Assert.That((await node.CliAsync(cancellationToken, "deploy", LeanProxyProcess.AppPath("hostile"), "--name", "app")).Code, Is.Zero);
        Assert.That(await node.GetAsync("app", "/count", cancellationToken), Is.EqualTo((200, "1")));

        var seeds = new[]
        {
            "GET /count HTTP/1.1\r\nHost: app.localhost\r\n\r\n",
            "POST /count HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 5\r\n\r\nhello",
            "POST /count HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
            "GET /count?x=%20y HTTP/1.0\r\nHost: app.localhost\r\nConnection: keep-alive\r\nX-A: 1\r\n\r\n",
        };
        var outcomes = new ConcurrentDictionary<string, int>();
        var endPoint = new IPEndPoint(IPAddress.Loopback, node.HttpPort);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Requests)
            {
                var random = new Random(i);
                var bytes = Mutate(Encoding.ASCII.GetBytes(seeds[i % seeds.Length]), random);
                outcomes.AddOrUpdate(await ExchangeAsync(endPoint, bytes, cancellationToken), 1, (_, n) => n + 1);
            }
        }));

        TestContext.Out.WriteLine(string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key}: {o.Value}")));
        Assert.That(outcomes.Keys, Has.None.EqualTo("hang"), "every exchange ended within 10 s");
        Assert.That(outcomes.Keys.Where(k => k.StartsWith('5') && k is not ("501" or "505")), Is.Empty, "no server error: bad input is the client's (4xx), or a version or coding not implemented");
        Assert.That(outcomes.Keys.Where(k => k.StartsWith('4')), Is.Not.Empty, "the mutations did reach the parser's refusals");
        Assert.That(node.Process.HasExited, Is.False);
        Assert.That((await node.GetAsync("app", "/count", cancellationToken)).Status, Is.EqualTo(200), "the next good request is served");
        using var health = await node.Client.GetAsync(node.AdminUrl + "/healthz", cancellationToken);
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AnAppThatLogs100MegabytesCostsTheLogAFewHundredLinesASecond(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("hostile"), cancellationToken);
        using var client = new HttpClient { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(90) };
        var started = DateTime.UtcNow;
        Assert.That(await client.GetStringAsync("/flood?lines=100000&size=1000", cancellationToken), Is.EqualTo("flooded"));
        Assert.That(await client.GetStringAsync("/count", cancellationToken), Is.EqualTo("1"), "the node answers at once");
        await host.WaitForLogAsync("console line(s) dropped", cancellationToken);
        var seconds = (DateTime.UtcNow - started).TotalSeconds + 2;

        var logged = host.Stderr.Split('\n').Count(l => l.Contains("flood line", StringComparison.Ordinal));
        Assert.That(logged, Is.GreaterThan(0).And.LessThanOrEqualTo(1000 + (200 * seconds)), "a burst of 1,000, then 200 a second");
        Assert.That(host.Stderr.Length, Is.LessThan(100_000_000 / 10), "the 100 MB did not reach the log");
    }

    [Category(TestCategories.Load)]
    [Test]
    [CancelAfter(120_000)]
    public async Task FiveHundredSlowClientsNeitherStarveOthersNorStayPastTheHeadersTimeout(CancellationToken cancellationToken)
    {
        await using var host = await LeanProxyProcess.ServeAsync(LeanProxyProcess.AppPath("hostile"), cancellationToken);
        var endPoint = new IPEndPoint(IPAddress.Loopback, host.BaseUri.Port);
        using var attack = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attack.CancelAfter(TimeSpan.FromSeconds(30));
        var started = DateTime.UtcNow;

        // Slowloris: each sends its head one byte every 300 ms and never finishes it.
        var sending = 0;
        var allSending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = Enumerable.Range(0, 500).Select(async _ =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(endPoint, attack.Token);
            var counted = false;
            void Sending()
            {
                if (!counted && Interlocked.Increment(ref sending) == 500)
                {
                    allSending.TrySetResult();
                }

                counted = true;
            }

            var head = Encoding.ASCII.GetBytes("GET /count HTTP/1.1\r\nHost: a\r\nX-Slow: " + new string('s', 1000));
            var answer = new byte[4096];
            var receive = socket.ReceiveAsync(answer, SocketFlags.None, attack.Token).AsTask();
            try
            {
                foreach (var b in head)
                {
                    if (receive.IsCompleted)
                    {
                        break;
                    }

                    await socket.SendAsync(new[] { b }, SocketFlags.None, attack.Token);
                    Sending();
                    await Task.WhenAny(receive, Task.Delay(300, attack.Token));
                }

                var read = await receive;
                return (Seconds: (DateTime.UtcNow - started).TotalSeconds, Answer: Encoding.ASCII.GetString(answer, 0, read));
            }
            catch (SocketException)
            {
                return (Seconds: (DateTime.UtcNow - started).TotalSeconds, Answer: "reset");
            }
            finally
            {
                Sending(); // one that ended before its first byte counts too: the wait below is for all of them
            }
        }).ToList();

        await allSending.Task.WaitAsync(cancellationToken); // every slow client is connected and sending
        using (var client = new HttpClient { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(5) })
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.That(await client.GetStringAsync("/count", cancellationToken), Is.EqualTo((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), "a good client is served during the attack");
            }
        }

        var ends = await Task.WhenAll(slow);
        Assert.That(ends.Select(e => e.Seconds), Is.All.LessThan(20), "closed by the node within the headers timeout (10 s), not by the client's 30");
        Assert.That(ends.Count(e => e.Answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal)), Is.GreaterThan(ends.Length / 2), "most got 408 Request Timeout: " + string.Join(" | ", ends.Select(e => e.Answer.Split('\r')[0]).Distinct()));
    }

    /// <summary>One to four random edits, sometimes cut short.</summary>
    private static byte[] Mutate(byte[] bytes, Random random)
    {
        var list = bytes.ToList();
        for (var edits = random.Next(1, 5); edits > 0; edits--)
        {
            var at = random.Next(list.Count + 1);
            var b = random.Next(4) == 0 ? (byte)random.Next(256) : (byte)"\r\n :\t0aZ/%;,\"-"[random.Next(14)];
            switch (random.Next(3))
            {
                case 0 when at < list.Count: list[at] = b; break;
                case 1: list.Insert(at, b); break;
                default: if (at < list.Count) list.RemoveAt(at); break;
            }
        }

        if (random.Next(8) == 0)
        {
            list = list.Take(random.Next(list.Count + 1)).ToList();
        }

        return [.. list];
    }

    /// <summary>Sends the bytes, ends the sending side, and reads until the node closes: the first status code, "close" for none, "hang" past 10 s.</summary>
    private static async Task<string> ExchangeAsync(IPEndPoint endPoint, byte[] bytes, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint, cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var received = new MemoryStream();
        try
        {
            await socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
            socket.Shutdown(SocketShutdown.Send);
            var buffer = new byte[8192];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "hang";
        }
        catch (SocketException)
        {
            // Reset by the node after an error answer: what arrived counts.
        }

        var text = Encoding.Latin1.GetString(received.ToArray());
        return text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Length >= 12 ? text[9..12] : text.Length == 0 ? "close" : "garbage";
    }
}
