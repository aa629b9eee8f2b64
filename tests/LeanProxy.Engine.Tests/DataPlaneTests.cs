using System.Buffers;
using System.Text;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.DataPlane;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Engine.Tests;

/// <summary>
/// The data plane's rules without a browser: a fake page plays it (its messages arrive when the test says), so that
/// answers held for their data, their order, and who may connect are each seen alone.
/// </summary>
[CancelAfter(10_000)]
public sealed class DataPlaneTests
{
    private static readonly AppOptions OneTab = new() { Tabs = 1, WarmSpare = false, RequestTimeout = TimeSpan.FromSeconds(5) };

    [Test]
    public async Task AnAnswerThatRefersToDataWaitsForItAndWhatCameAfterWaitsBehindIt()
    {
        await using var app = await FakeApp.StartAsync(OneTab);
        var first = app.Send("GET", "/a");
        var second = app.Send("GET", "/b");
        var page = app.Page(0);
        var (a, b) = (page.Batches[0].CallIds[0], page.Batches[1].CallIds[0]);

        // The first answer's body is the page's data-plane message 1, not yet here; the second rides inline.
        page.Tab.Router.DeliverHeld(Encoding.ASCII.GetBytes($"1;[[1,{a},200,\"\",[],1,3]]"));
        page.Tab.Router.DeliverHeld(Encoding.ASCII.GetBytes($"[[1,{b},200,\"\",[],\"inline\",1]]"));
        Assert.That(first.IsCompleted || second.IsCompleted, Is.False, "both wait: the second is behind the first");

        var body = new byte[100_000];
        Random.Shared.NextBytes(body);
        Assert.That(page.Tab.Data.Receive(body), Is.True);
        Assert.That((await first).Body.ToArray(), Is.EqualTo(body));
        Assert.That(Encoding.ASCII.GetString((await second).Body.Span), Is.EqualTo("inline"));
        Assert.That(() => page.Tab.Data.Take(1), Throws.TypeOf<FormatException>(), "a message is taken once");
    }

    [Test]
    public async Task WithNothingHeldAPayloadIsDeliveredAtOnce()
    {
        await using var app = await FakeApp.StartAsync(OneTab);
        var answer = app.Send();
        var page = app.Page(0);
        page.Tab.Data.Receive([1, 2, 3]);
        page.Tab.Router.DeliverHeld(Encoding.ASCII.GetBytes($"1;[[1,{page.Batches[0].CallIds[0]},200,\"\",[],1,3]]"));
        Assert.That(answer.IsCompleted, Is.True, "its data was there: delivered on the caller's thread");
        Assert.That((await answer).Body.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public void OnlyTheTabsOwnPageMayConnectAndOnlyOnce()
    {
        var origin = new Uri("http://lp-aaaa.localhost:41000");
        var endpoint = new DataPlaneEndpoint();
        var other = new DataPlaneEndpoint(); // another app version's page server
        var plane = new TabDataPlane("a", 0, NullLogger.Instance, _ => { });
        var stranger = new TabDataPlane("a", 1, NullLogger.Instance, _ => { });
        endpoint.Expect(plane);

        int Status(DataPlaneEndpoint at, string token, string requestOrigin, bool upgrade = true) =>
            at.Handle(Handshake(token, requestOrigin, upgrade), DataPlaneEndpoint.Prefix + token, origin).StatusCode;

        Assert.That(Status(other, plane.Token, origin.GetLeftPart(UriPartial.Authority)), Is.EqualTo(404), "another app's server does not know it");
        Assert.That(Status(endpoint, stranger.Token, origin.GetLeftPart(UriPartial.Authority)), Is.EqualTo(404), "a token nobody was given");
        Assert.That(Status(endpoint, plane.Token, "http://lp-bbbb.localhost:41001"), Is.EqualTo(404), "another origin");
        Assert.That(Status(endpoint, plane.Token, origin.GetLeftPart(UriPartial.Authority), upgrade: false), Is.EqualTo(404), "not a handshake");
        Assert.That(Status(endpoint, plane.Token, origin.GetLeftPart(UriPartial.Authority)), Is.EqualTo(101));
        Assert.That(Status(endpoint, plane.Token, origin.GetLeftPart(UriPartial.Authority)), Is.EqualTo(404), "a token is taken once");
    }

    [Test]
    public void FramedMessagesAreSplitInTurnAndAnnouncedOnesTakenAsTheyCome()
    {
        var plane = new TabDataPlane("a", 0, NullLogger.Instance, _ => { });
        // Two parts in one message, then a header-only frame announcing one part that comes as a message of its own.
        Assert.That(plane.ReceiveFramed([2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 7, 8, 9]), Is.Null);
        Assert.That(plane.ReceiveFramed([1, 0, 0, 0, 3, 0, 0, 0]), Is.Null);
        Assert.That(plane.ReceiveFramed([4, 5, 6]), Is.Null);
        Assert.That(plane.Take(1), Is.EqualTo(new byte[] { 7 }));
        Assert.That(plane.Take(2), Is.EqualTo(new byte[] { 8, 9 }));
        Assert.That(plane.Take(3), Is.EqualTo(new byte[] { 4, 5, 6 }));

        Assert.That(plane.ReceiveFramed([1, 0, 0, 0, 9, 0, 0, 0, 1]), Does.Contain("malformed"), "a length beyond the message");
        Assert.That(plane.ReceiveFramed([0, 0, 0, 0]), Does.Contain("malformed"), "no parts");
        Assert.That(plane.ReceiveFramed([255, 255, 255, 127]), Does.Contain("malformed"), "more lengths than bytes");
        Assert.That(plane.ReceiveFramed([1, 0, 0, 0, 2, 0, 0, 0]), Is.Null);
        Assert.That(plane.ReceiveFramed([1, 2, 3]), Does.Contain("announced"), "not the length it announced");
    }

    [Test]
    public void TokensAreUnguessable()
    {
        var tokens = Enumerable.Range(0, 100).Select(i => new TabDataPlane("a", i, NullLogger.Instance, _ => { }).Token).ToList();
        Assert.That(tokens, Is.Unique);
        Assert.That(tokens, Has.All.Length.EqualTo(64).And.All.Matches("^[0-9a-f]+$"));
    }

    private static ProxyRequest Handshake(string token, string origin, bool upgrade)
    {
        var request = new ProxyRequest();
        var fields = upgrade ? "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" : "";
        var head = Encoding.ASCII.GetBytes($"GET {DataPlaneEndpoint.Prefix}{token} HTTP/1.1\r\nHost: lp-aaaa.localhost:41000\r\nOrigin: {origin}\r\n{fields}\r\n");
        Assert.That(HttpParser.TryParseHead(new ReadOnlySequence<byte>(head), request, new HttpListenerOptions(), out _, out _), Is.True);
        return request;
    }
}
