namespace LeanProxy.Integration.Tests;

/// <summary>
/// What a tab keeps of the requests it answered: nothing. Every batch is a script of its own, and V8's compilation cache
/// kept each one through every ordinary collection (~200 bytes per request, a renderer growing ~300 MB a minute under
/// load) until LeanProxy started Chromium with <c>--no-compilation-cache</c> among its V8 flags.
/// </summary>
[TestFixture]
public sealed class RendererMemoryTests
{
    [Category(TestCategories.Load)]
    [Test]
    [CancelAfter(120_000)]
    public async Task ATabKeepsNothingOfTheRequestsItAnswered(CancellationToken cancellationToken)
    {
        // A --js-flags of the user's adds to LeanProxy's V8 flags: were it to replace them, the cache would be back.
        await using var host = await LeanProxyProcess.ServeAsync(
            LeanProxyProcess.AppPath("heap"), cancellationToken, "--no-spare", "--chrome-arg=--enable-precise-memory-info", "--chrome-arg=--js-flags=--max-old-space-size=512");
        using var client = new HttpClient { BaseAddress = host.BaseUri };
        await SendAsync(client, 1_000, cancellationToken);
        var before = long.Parse(await client.GetStringAsync("/heap", cancellationToken));

        const int Requests = 30_000;
        await SendAsync(client, Requests, cancellationToken);
        var after = long.Parse(await client.GetStringAsync("/heap", cancellationToken));

        TestContext.Out.WriteLine($"V8 heap after a full collection: {before:N0} bytes, then {after:N0} after {Requests:N0} more requests");
        Assert.That(after - before, Is.LessThan(1_000_000), "bytes kept (it was ~200 per request)");
    }

    private static async Task SendAsync(HttpClient client, int count, CancellationToken cancellationToken)
    {
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                Assert.That(await client.GetStringAsync("/", cancellationToken), Is.EqualTo("ok"));
            }
        }));
    }
}
