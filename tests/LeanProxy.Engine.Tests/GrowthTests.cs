using LeanProxy.Engine.Apps;

namespace LeanProxy.Engine.Tests;

/// <summary>
/// A pool between Tabs and MaxTabs against scripted fake pages: it grows while its queue does, one tab taken from the
/// budget at a time, and gives tabs back when they are idle, when a node asks, when one crashes, and all at the end.
/// </summary>
[CancelAfter(10_000)]
public sealed class GrowthTests
{
    private static AppOptions Growing(ITabBudget budget) => new()
    {
        Tabs = 1, MaxTabs = 3, WarmSpare = false, RequestTimeout = TimeSpan.FromSeconds(5), ExtraTabIdle = TimeSpan.FromSeconds(10), Budget = budget,
    };

    [Test]
    public async Task AGrowingQueueOpensTabsUpToMaxTabsEachTakenFromTheBudget()
    {
        var budget = new CountingBudget(max: 3) { InUse = 1 }; // the first tab, charged by whoever started the app
        await using var app = await FakeApp.StartAsync(Growing(budget));
        Assert.That(app.Host.LiveTabs, Is.EqualTo(1));

        var requests = Enumerable.Range(0, TabPoolGrowAt - 1).Select(_ => app.Send()).ToList();
        Assert.That(app.Host.LiveTabs, Is.EqualTo(1), "below the threshold: one tab");
        requests.Add(app.Send());
        Assert.That(app.Host.LiveTabs, Is.EqualTo(2), "the least busy tab had a queue: one more");
        Assert.That(budget.InUse, Is.EqualTo(2));

        // The new tab takes the next requests until it is as busy; then a third, and no fourth (MaxTabs 3).
        requests.AddRange(Enumerable.Range(0, 40).Select(_ => app.Send()));
        Assert.That(app.Host.LiveTabs, Is.EqualTo(3));
        Assert.That(budget.InUse, Is.EqualTo(3));
        Assert.That(app.Factory.Pages.Select(p => p.Batches.Count), Is.All.GreaterThan(0), "every tab got work");

        await AnswerAllAsync(app, requests, keepAnswering: true);
    }

    [Test]
    public async Task ASpentBudgetKeepsThePoolAsItIs()
    {
        var budget = new CountingBudget(max: 1) { InUse = 1 };
        await using var app = await FakeApp.StartAsync(Growing(budget));
        var requests = Enumerable.Range(0, 20).Select(_ => app.Send()).ToList();
        Assert.That(app.Host.LiveTabs, Is.EqualTo(1));
        Assert.That(budget.Refused, Is.GreaterThan(0), "it asked");

        app.Page(0).AutoAnswer = true;
        foreach (var batch in app.Page(0).Pending.ToList())
        {
            batch.Answer();
        }

        Assert.That((await Task.WhenAll(requests)).Select(r => r.StatusCode), Is.All.EqualTo(200));
    }

    [Test]
    public async Task AnExtraTabIdleForExtraTabIdleIsClosedAndTheFirstStays()
    {
        var budget = new CountingBudget(max: 8) { InUse = 1 };
        await using var app = await FakeApp.StartAsync(Growing(budget));
        await GrowToTwoAndAnswerAsync(app);
        Assert.That(budget.InUse, Is.EqualTo(2));

        app.Advance(TimeSpan.FromSeconds(1));  // idle from now
        app.Advance(TimeSpan.FromSeconds(9));
        Assert.That(app.Host.LiveTabs, Is.EqualTo(2), "not yet");
        app.Advance(TimeSpan.FromSeconds(1.5));
        Assert.That(app.Host.LiveTabs, Is.EqualTo(1));
        Assert.That(budget.InUse, Is.EqualTo(1), "its tab went back to the budget");
        Assert.That(app.Factory.Pages[1].Closed, Is.True);
        Assert.That(app.Factory.Pages[0].Closed, Is.False, "the first tab stays however idle");

        app.Advance(TimeSpan.FromMinutes(5));
        Assert.That(app.Host.LiveTabs, Is.EqualTo(1));
    }

    [Test]
    public async Task ANodeTakesBackTheLeastBusyExtraTabAndReleaseGivesAllBackOnce()
    {
        var budget = new CountingBudget(max: 8) { InUse = 1 };
        await using var app = await FakeApp.StartAsync(Growing(budget));
        await GrowToTwoAndAnswerAsync(app);

        Assert.That(app.Host.GiveOneTabBack(), Is.True);
        Assert.That(app.Host.LiveTabs, Is.EqualTo(1));
        Assert.That(budget.InUse, Is.EqualTo(1));
        Assert.That(app.Host.GiveOneTabBack(), Is.False, "the first tab is never given back this way");

        await GrowToTwoAndAnswerAsync(app);
        Assert.That(budget.InUse, Is.EqualTo(2));
        app.Host.ReleaseTabs();
        app.Host.ReleaseTabs();
        Assert.That(budget.InUse, Is.Zero, "all of them, once");
        var requests = Enumerable.Range(0, 20).Select(_ => app.Send()).ToList();
        Assert.That(app.Host.LiveTabs, Is.EqualTo(2), "released: it grows no more");
        Assert.That(budget.InUse, Is.Zero);
        await AnswerAllAsync(app, requests, keepAnswering: true);
    }

    [Test]
    public async Task ACrashedExtraTabIsNotReplacedAndItsTabGoesBack()
    {
        var budget = new CountingBudget(max: 8) { InUse = 1 };
        await using var app = await FakeApp.StartAsync(Growing(budget));
        await GrowToTwoAndAnswerAsync(app);

        var crashed = app.Pool.Tabs[1];
        app.Factory.Pages[1].Crash();
        while (app.Pool.Tabs[1] == crashed)
        {
            await Task.Yield();
        }

        Assert.That(app.Host.LiveTabs, Is.EqualTo(1));
        Assert.That(app.Factory.Pages, Has.Count.EqualTo(2), "no replacement opened");
        Assert.That(budget.InUse, Is.EqualTo(1));
    }

    private static int TabPoolGrowAt => LeanProxy.Engine.Tabs.TabPool.GrowAt;

    /// <summary>Queues enough on the first tab that a second opens, then answers everything.</summary>
    private static async Task GrowToTwoAndAnswerAsync(FakeApp app)
    {
        var requests = Enumerable.Range(0, TabPoolGrowAt).Select(_ => app.Send()).ToList();
        Assert.That(app.Host.LiveTabs, Is.EqualTo(2));
        await AnswerAllAsync(app, requests, keepAnswering: false);
    }

    /// <summary>Answers every pending batch of the open pages (and, with <paramref name="keepAnswering"/>, every later one); all requests get 200.</summary>
    private static async Task AnswerAllAsync(FakeApp app, List<Task<LeanProxy.Listener.ProxyResponse>> requests, bool keepAnswering)
    {
        foreach (var page in app.Factory.Pages.Where(p => !p.Closed))
        {
            page.AutoAnswer = true;
            foreach (var batch in page.Pending.ToList())
            {
                batch.Answer();
            }

            page.AutoAnswer = keepAnswering;
        }

        Assert.That((await Task.WhenAll(requests)).Select(r => r.StatusCode), Is.All.EqualTo(200));
    }

    private sealed class CountingBudget(int max) : ITabBudget
    {
        public int InUse { get; set; }

        public int Refused { get; private set; }

        public bool TryTake(int tabs)
        {
            if (InUse + tabs > max)
            {
                Refused++;
                return false;
            }

            InUse += tabs;
            return true;
        }

        public void Give(int tabs) => InUse -= tabs;
    }
}
