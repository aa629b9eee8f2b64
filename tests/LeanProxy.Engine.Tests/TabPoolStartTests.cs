using LeanProxy.Engine.Apps;

namespace LeanProxy.Engine.Tests;

/// <summary>
/// A pool against scripted fake pages: it serves from its first tab while the others load, and its heartbeat
/// sleeps while there is nothing to watch.
/// </summary>
[CancelAfter(10_000)]
public sealed class TabPoolStartTests
{
    private static AppOptions TwoTabs => new() { Tabs = 2, WarmSpare = false, RequestTimeout = TimeSpan.FromSeconds(5) };

    [Test]
    public async Task ThePoolServesFromTheFirstLoadedTabAndTheSecondJoinsWhenReady()
    {
        var second = new TaskCompletionSource();
        var factory = new FakePageFactory { Loading = n => n == 1 ? second.Task : Task.CompletedTask };
        await using var app = await FakeApp.StartAsync(TwoTabs, factory);
        Assert.That(app.Pool.Tabs[1], Is.Null, "started while the second tab loads");

        var early = Enumerable.Range(0, 3).Select(_ => app.Send()).ToList();
        Assert.That(app.Page(0).Batches, Is.Not.Empty, "the first tab serves");

        second.SetResult();
        Assert.That(app.Pool.Tabs[1], Is.Not.Null, "the second took its slot");
        var late = app.Send();
        Assert.That(app.Page(1).Batches, Has.Count.EqualTo(1), "and takes work: the first is busy with three requests");

        app.Factory.Pages.ForEach(p => p.AutoAnswer = true);
        foreach (var batch in app.Factory.Pages.SelectMany(p => p.Batches).ToList())
        {
            batch.Answer();
        }

        Assert.That((await Task.WhenAll(early.Append(late))).Select(r => r.StatusCode), Is.All.EqualTo(200));
    }

    [Test]
    public async Task ASecondTabThatFailsToLoadIsOpenedAgain()
    {
        var factory = new FakePageFactory { Loading = n => n == 1 ? Task.FromException(new AppLoadException("the renderer went away")) : Task.CompletedTask };
        await using var app = await FakeApp.StartAsync(TwoTabs, factory);
        Assert.That(app.Pool.Tabs[0], Is.Not.Null);
        Assert.That(app.Pool.Tabs[1], Is.Not.Null, "a third page took the second slot");
        Assert.That(factory.Pages, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task TheOtherTabsOpenOnlyOnceTheFirstHasLoaded()
    {
        var first = new TaskCompletionSource();
        var opened = new List<int>();
        var factory = new FakePageFactory
        {
            Loading = n =>
            {
                lock (opened)
                {
                    opened.Add(n);
                }

                return n == 0 ? first.Task : Task.CompletedTask;
            },
        };
        var starting = FakeApp.StartAsync(TwoTabs, factory);
        Assert.That(opened, Is.EqualTo(new[] { 0 }), "the first tab loads alone (tabs loading at once share the cores)");

        first.SetResult();
        await using var app = await starting;
        Assert.That(opened, Is.EqualTo(new[] { 0, 1 }), "then the second opens");
        Assert.That(app.Pool.Tabs[1], Is.Not.Null);
    }

    [Test]
    public void WhenTheFirstTabFailsTheAppDoesNotStartAndNoOtherTabOpens()
    {
        var opened = 0;
        var factory = new FakePageFactory
        {
            Loading = n =>
            {
                Interlocked.Increment(ref opened);
                return n == 0 ? Task.FromException(new AppLoadException("SyntaxError in index.js")) : Task.CompletedTask;
            },
        };
        Assert.That(async () => await FakeApp.StartAsync(TwoTabs, factory), Throws.TypeOf<AppLoadException>().With.Message.EqualTo("SyntaxError in index.js"));
        Assert.That(opened, Is.EqualTo(1));
    }

    [Test]
    public async Task TheHeartbeatSleepsWhileNothingIsOutstandingAndWakesForWork()
    {
        await using var app = await FakeApp.StartAsync(new AppOptions { Tabs = 1, WarmSpare = false, RequestTimeout = TimeSpan.FromSeconds(5) });
        app.Advance(TimeSpan.FromMilliseconds(100));
        Assert.That(app.Pool.IsAsleep, Is.True, "an idle pool");

        var request = app.Send();
        Assert.That(app.Pool.IsAsleep, Is.False, "a request woke it");
        app.Advance(TimeSpan.FromMilliseconds(100));
        Assert.That(app.Pool.IsAsleep, Is.False, "a call in the page: its deadline is watched");

        app.Advance(TimeSpan.FromSeconds(5));
        Assert.That((await request).StatusCode, Is.EqualTo(504), "the deadline was enforced by the heartbeat");
        app.Page(0).Pending.Single().Return();
        app.Advance(TimeSpan.FromMilliseconds(100));
        Assert.That(app.Pool.IsAsleep, Is.True, "nothing outstanding again");
    }
}
