using System.Text;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Calls;
using LeanProxy.Engine.Pages;
using LeanProxy.Engine.Protocol;
using LeanProxy.Engine.Tabs;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Tests;

/// <summary>
/// The engine's policies against scripted fake pages (no Chromium, no sleeps): adaptive batching, queue full, crash
/// retry or 502, spare promotion, repeat after a stopped batch, termination, work stealing, bindings by name.
/// </summary>
[CancelAfter(10_000)]
public sealed class PolicyTests
{
    private static readonly AppOptions TwoTabs = new() { Tabs = 2, WarmSpare = false, RequestTimeout = TimeSpan.FromSeconds(5) };

    private static string Text(ProxyResponse response) => Encoding.UTF8.GetString(response.Body.Span);

    [Test]
    public async Task AnIdleTabSendsAtOnceAndABusyOneBatchesWhatArrives()
    {
        await using var app = await FakeApp.StartAsync(TwoTabs with { Tabs = 1 });
        var page = app.Page(0);

        var first = app.Send();
        var second = app.Send();
        Assert.That(page.Batches.Select(b => b.Items.Count), Is.EqualTo(new[] { 1, 1 }), "two calls in flight at most, each sent at once");

        var queued = Enumerable.Range(0, 5).Select(_ => app.Send()).ToList();
        Assert.That(page.Batches, Has.Count.EqualTo(2), "the rest waits while two calls are in flight");

        page.Batches[0].Answer();
        Assert.That(page.Batches, Has.Count.EqualTo(3));
        Assert.That(page.Batches[2].Items, Has.Count.EqualTo(5), "what waited leaves together in one call");
        page.Batches[1].Answer();
        page.Batches[2].Answer();

        Assert.That((await first).StatusCode, Is.EqualTo(200));
        Assert.That((await second).StatusCode, Is.EqualTo(200));
        Assert.That((await Task.WhenAll(queued)).Select(r => r.StatusCode), Is.All.EqualTo(200));
    }

    [Test]
    public async Task AFullQueueAnswers503WithRetryAfter()
    {
        await using var app = await FakeApp.StartAsync(TwoTabs with { Tabs = 1, QueueLimit = 3 });
        var held = Enumerable.Range(0, 3).Select(_ => app.Send()).ToList();

        var refused = await app.Send();
        Assert.That(refused.StatusCode, Is.EqualTo(503));
        Assert.That(refused.Headers, Has.Member(new KeyValuePair<string, string>("Retry-After", "1")));
        Assert.That(Text(refused), Does.Contain("queue is full"));
        Assert.That(held.Select(t => t.IsCompleted), Is.All.False, "the queued ones are still served");

        foreach (var batch in app.Page(0).Batches.ToList())
        {
            batch.Answer();
        }

        foreach (var batch in app.Page(0).Pending.ToList())
        {
            batch.Answer();
        }

        Assert.That((await Task.WhenAll(held)).Select(r => r.StatusCode), Is.All.EqualTo(200));
    }

    [Test]
    public async Task ACrashRetriesIdempotentRequestsElsewhereAndFailsTheOthersWith502()
    {
        await using var app = await FakeApp.StartAsync(TwoTabs);
        var crashing = app.Page(0);
        var get = app.Send("GET", "/get");       // tab 0
        var other = app.Send("GET", "/other");   // tab 1 (less work)
        var post = app.Send("POST", "/post");    // tab 0, second call in flight
        Assert.That(crashing.Batches.SelectMany(b => b.CallIds).Count(), Is.EqualTo(2));
        app.Page(1).AutoAnswer = true;
        app.Page(1).Pending.ToList().ForEach(b => b.Answer());
        app.Factory.AutoAnswer = true; // the replacement tab answers too

        crashing.Crash();

        Assert.That(Text(await get), Is.Not.EqualTo("tab 0"), "a GET that ran once is retried on a live tab");
        var failed = await post;
        Assert.That(failed.StatusCode, Is.EqualTo(502), "a POST that may have run is never run twice");
        Assert.That(Text(failed), Does.Contain("crashed"));
        Assert.That((await other).StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task QueuedRequestsOfACrashedTabNeverRanAndAreRetriedWhateverTheirMethod()
    {
        await using var app = await FakeApp.StartAsync(TwoTabs with { Tabs = 1 });
        var page = app.Page(0);
        _ = app.Send();
        _ = app.Send();
        var queued = app.Send("POST", "/queued");
        Assert.That(page.Batches, Has.Count.EqualTo(2));

        app.Factory.AutoAnswer = true; // the replacement tab answers
        page.Crash();

        var answer = await queued;
        Assert.That(answer.StatusCode, Is.EqualTo(200), "a POST that never reached the page is safe to send again");
        Assert.That(Text(answer), Is.EqualTo("tab 1"), "on the tab that replaced the crashed one");
    }

    [Test]
    public async Task ASpareTakesTheSlotOfACrashedTabAndANewSpareIsPrepared()
    {
        await using var app = await FakeApp.StartAsync(TwoTabs with { WarmSpare = true });
        app.Pool.EnsureSpare();
        await app.Pool.SpareCreation!;
        var spare = app.Pool.Spare!;
        Assert.That(spare, Is.Not.Null);
        var crashed = app.Pool.Tabs[0]!;

        app.Factory.PageOf(crashed).Crash();
        await app.Factory.PageOf(crashed).Ended;
        while (app.Pool.Tabs[0] == crashed)
        {
            await Task.Yield();
        }

        Assert.That(app.Pool.Tabs[0], Is.SameAs(spare), "the warm spare is promoted, not a new tab opened");
        await app.Pool.SpareCreation!;
        Assert.That(app.Pool.Spare, Is.Not.Null.And.Not.SameAs(spare), "and a new spare is prepared");
        Assert.That(app.Factory.Pages, Has.Count.EqualTo(4));
    }

    [Test]
    public async Task AStuckCallIsTerminatedAndTheInnocentRequestsOfItsBatchGoAgain()
    {
        await using var app = await FakeApp.StartAsync(TwoTabs with { Tabs = 1 });
        var page = app.Page(0);
        _ = app.Send("GET", "/busy1");
        _ = app.Send("GET", "/busy2");
        var spin = app.Send("GET", "/spin");
        app.Advance(TimeSpan.FromSeconds(2));
        var innocent = app.Send("POST", "/innocent"); // its deadline is 2 s after the spin's
        page.Batches[0].Answer();
        var shared = page.Batches[2];
        Assert.That(shared.Items.OfType<PendingRequest>().Select(r => r.Request.TargetString), Is.EqualTo(new[] { "/spin", "/innocent" }));
        page.Batches[1].Answer();

        // The spinner's deadline passes: 504 for it at once; its call has not come back for a second past that, so
        // the script is terminated on the same heartbeat.
        app.Advance(TimeSpan.FromSeconds(3));
        Assert.That((await spin).StatusCode, Is.EqualTo(504));
        Assert.That(page.Terminations, Is.EqualTo(1), "a call stuck past a deadline gets its script terminated");
        Assert.That(innocent.IsCompleted, Is.False);

        // The call was stopped with the spin: the innocent POST never started, and goes again within its deadline.
        shared.Stop();
        var resent = page.Batches.Last();
        Assert.That(resent, Is.Not.SameAs(shared));
        Assert.That(resent.Items.OfType<PendingRequest>().Single().Request.TargetString, Is.EqualTo("/innocent"));
        Assert.That(resent.Items.OfType<PendingCall>().Single().Attempts, Is.EqualTo(2));
        resent.Answer();
        Assert.That((await innocent).StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task ATabThatStaysStuckAfterTerminationIsClosed()
    {
        await using var app = await FakeApp.StartAsync(TwoTabs);
        var stuck = app.Page(0);
        app.Page(1).AutoAnswer = true;
        var spin = app.Send("GET", "/spin");
        var behind = app.Send("GET", "/behind");  // tab 1 answers it
        Assert.That((await behind).StatusCode, Is.EqualTo(200));

        app.Advance(TimeSpan.FromSeconds(5));
        Assert.That(stuck.Terminations, Is.EqualTo(1));
        Assert.That((await spin).StatusCode, Is.EqualTo(504));
        Assert.That(stuck.Closed, Is.False);

        app.Advance(TimeSpan.FromMilliseconds(TabWatchdog.UnresponsiveAfterMs));
        Assert.That(stuck.Closed, Is.True, "no answer even after termination: the tab is given up");
        app.Factory.AutoAnswer = true;
        Assert.That((await app.Send("GET", "/after")).StatusCode, Is.EqualTo(200), "the app serves on");
    }

    [Test]
    public async Task QueuedRequestsMoveOffAStalledTabToOneThatAnswers()
    {
        await using var app = await FakeApp.StartAsync(TwoTabs);
        var stalled = app.Page(0);
        var healthy = app.Page(1);
        _ = app.Send("GET", "/spin");      // tab 0
        var b = app.Send("GET", "/b");     // tab 1
        _ = app.Send("GET", "/c");         // tab 0, second call
        var d = app.Send("GET", "/d");     // tab 1, second call
        var raced = app.Send("GET", "/raced"); // tab 0: queued behind the spin
        Assert.That(stalled.Batches.SelectMany(x => x.CallIds).Count(), Is.EqualTo(2));
        Assert.That(app.Pool.Tabs[0]!.Sender.QueuedCalls, Is.EqualTo(1));
        healthy.Pending.ToList().ForEach(x => x.Answer());
        healthy.AutoAnswer = true;
        Assert.That((await b).StatusCode, Is.EqualTo(200));
        Assert.That((await d).StatusCode, Is.EqualTo(200));

        app.Advance(TimeSpan.FromMilliseconds(TabWatchdog.StallAfterMs));

        Assert.That(Text(await raced), Is.EqualTo("tab 1"), "work queued on a stalled tab is stolen by one that answers");
        Assert.That(app.Pool.Tabs[0]!.IsStalled, Is.True);
        Assert.That(Text(await app.Send("GET", "/new")), Is.EqualTo("tab 1"), "new work avoids the stalled tab");
        Assert.That(stalled.Batches.SelectMany(x => x.Items).OfType<PendingRequest>().Select(r => r.Request.TargetString), Is.EqualTo(new[] { "/spin", "/c" }));
    }

    [Test]
    public async Task AStreamAcknowledgementInAStoppedBatchIsSentAgain()
    {
        await using var app = await FakeApp.StartAsync(TwoTabs with { Tabs = 1 });
        var page = app.Page(0);
        var tab = app.Pool.Tabs[0]!;
        _ = app.Send("GET", "/a");
        _ = app.Send("GET", "/b");
        var ack = new StreamControl(42, HostMessageKind.StreamAck, 65536);
        tab.Enqueue(ack);
        page.Batches[0].Answer();
        var carrying = page.Batches[2];
        Assert.That(carrying.Items, Has.Member(ack));

        carrying.Stop();
        Assert.That(page.Batches.Skip(3).SelectMany(x => x.Items), Has.Member(ack), "the cumulative ack goes again");
    }

    [Test]
    public async Task BindingsAreRoutedByNameWithTheCallingTab()
    {
        var calls = new List<(int Tab, string Payload)>();
        var bindings = new Dictionary<string, PageBindingHandler>
        {
            ["__lpTest"] = (tab, payload) => calls.Add((tab.Index, Encoding.UTF8.GetString(payload))),
        };
        await using var app = await FakeApp.StartAsync(TwoTabs, bindings);
        var scope = app.Pool.App;

        Assert.That(scope.Bindings.Names, Is.EquivalentTo(new[] { PageBindings.Messages, "__lpTest" }));
        Assert.That(scope.Bindings.Invoke("__lpTest", app.Pool.Tabs[1]!, "hi"u8), Is.True);
        Assert.That(scope.Bindings.Invoke("__lpNope", app.Pool.Tabs[1]!, "hi"u8), Is.False);
        Assert.That(calls, Is.EqualTo(new[] { (1, "hi") }));

        // The page protocol's own binding answers requests through the tab's router.
        var request = app.Send();
        var id = app.Page(0).Batches[0].CallIds.Single();
        scope.Bindings.Invoke(PageBindings.Messages, app.Pool.Tabs[0]!, Encoding.UTF8.GetBytes($"[[1,{id},201,\"\",[],\"late\",1]]"));
        Assert.That((await request).StatusCode, Is.EqualTo(201));
        Assert.That(() => PageBindings.Create(new Dictionary<string, PageBindingHandler> { [PageBindings.Messages] = (_, _) => { } }), Throws.ArgumentException);
    }
}
