using System.Buffers;
using System.Net;
using System.Text;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Calls;
using LeanProxy.Engine.Pages;
using LeanProxy.Engine.Protocol;
using LeanProxy.Engine.Tabs;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Engine.Tests;

/// <summary>One batch a fake page received; the test decides how its call ends.</summary>
internal sealed class SentBatch(FakePage page, IReadOnlyList<TabItem> items)
{
    public TaskCompletionSource<BatchOutcome> Completion { get; } = new();

    public FakePage Page { get; } = page;

    public IReadOnlyList<TabItem> Items { get; } = items;

    public IReadOnlyList<int> CallIds => [.. Items.OfType<PendingCall>().Select(c => c.Id)];

    /// <summary>Answers every request of the batch with 200 "tab N" within the call.</summary>
    public void Answer()
    {
        Page.Tab.Router.Deliver(Items.OfType<PendingRequest>()
            .Select(r => new PageMessage(PageMessageKind.Response, r.Id, ProxyResponse.Text(200, "tab " + Page.Tab.Index))).ToList());
        Completion.SetResult(BatchOutcome.Answered);
    }

    /// <summary>The call returns without answering (the handlers answer later, through the binding).</summary>
    public void Return() => Completion.SetResult(BatchOutcome.Answered);

    /// <summary>Runtime.terminateExecution stopped the call.</summary>
    public void Stop() => Completion.SetResult(BatchOutcome.Stopped);
}

/// <summary>
/// A scripted page: records every batch and lets the test answer, stop or lose it, crash the tab, and see whether the
/// engine asked it to terminate its script. No browser, no sleeps: everything happens when the test says so.
/// </summary>
internal sealed class FakePage(Tab tab) : IPageChannel
{
    private readonly TaskCompletionSource<string> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Tab Tab { get; } = tab;

    public List<SentBatch> Batches { get; } = [];

    public int Terminations { get; private set; }

    public bool Closed { get; private set; }

    /// <summary>Answer each batch at once (a page with fast handlers).</summary>
    public bool AutoAnswer { get; set; }

    public Task<string> Ended => _ended.Task;

    public bool IsEnded => _ended.Task.IsCompleted;

    public ValueTask<BatchOutcome> SendBatchAsync(IReadOnlyList<TabItem> batch)
    {
        var sent = new SentBatch(this, [.. batch]);
        lock (Batches)
        {
            Batches.Add(sent);
        }

        if (IsEnded)
        {
            sent.Completion.SetResult(BatchOutcome.Lost);
        }
        else if (AutoAnswer)
        {
            sent.Answer();
        }

        return new ValueTask<BatchOutcome>(sent.Completion.Task);
    }

    public Task TerminateAsync()
    {
        Terminations++;
        return Task.CompletedTask;
    }

    public Task CloseAsync()
    {
        Closed = true;
        End("Closed");
        return Task.CompletedTask;
    }

    /// <summary>The renderer died: pending calls are never answered (Chromium forgets them), the page ends.</summary>
    public void Crash() => End("TargetCrashed");

    private void End(string reason)
    {
        if (!_ended.TrySetResult(reason))
        {
            return;
        }

        foreach (var batch in Batches.ToArray())
        {
            batch.Completion.TrySetResult(BatchOutcome.Lost);
        }
    }

    /// <summary>The batches whose calls have not returned.</summary>
    public IEnumerable<SentBatch> Pending => Batches.Where(b => !b.Completion.Task.IsCompleted);
}

/// <summary>Opens fake pages; <see cref="Pages"/> in the order they were opened.</summary>
internal sealed class FakePageFactory : IPageFactory
{
    public List<FakePage> Pages { get; } = [];

    public bool AutoAnswer { get; set; }

    public int Contexts { get; private set; }

    public bool IsAvailable => true;

    /// <summary>What the Nth page opened (from 0) waits for before it has loaded; a fault there is a load that failed.</summary>
    public Func<int, Task> Loading { get; set; } = _ => Task.CompletedTask;

    private int _opened;

    public async Task<IPageChannel> OpenAsync(Tab tab, CancellationToken cancellationToken)
    {
        await Loading(Interlocked.Increment(ref _opened) - 1).ConfigureAwait(false);
        var page = new FakePage(tab) { AutoAnswer = AutoAnswer };
        lock (Pages)
        {
            Pages.Add(page);
        }

        return page;
    }

    public Task ResetContextAsync(CancellationToken cancellationToken)
    {
        Contexts++;
        return Task.CompletedTask;
    }

    public Task DisposeContextAsync() => Task.CompletedTask;

    public FakePage PageOf(Tab tab) => Pages.Single(p => p.Tab == tab);
}

/// <summary>An app host over fake pages, on a clock the test moves.</summary>
internal sealed class FakeApp : IAsyncDisposable
{
    private long _now = 1_000_000;

    private FakeApp(AppHost host, FakePageFactory pages)
    {
        Host = host;
        Factory = pages;
    }

    public AppHost Host { get; }

    public FakePageFactory Factory { get; }

    public TabPool Pool => Host.Pool;

    public FakePage Page(int slot) => Factory.PageOf(Pool.Tabs[slot]!);

    public static Task<FakeApp> StartAsync(AppOptions options, IReadOnlyDictionary<string, PageBindingHandler>? bindings = null) =>
        StartAsync(options, new FakePageFactory(), bindings);

    public static async Task<FakeApp> StartAsync(AppOptions options, FakePageFactory factory, IReadOnlyDictionary<string, PageBindingHandler>? bindings = null)
    {
        FakeApp? app = null;
        var scope = new AppScope
        {
            Name = "fake",
            Bundle = AppBundle.FromFiles("fake", "/index.js", new Dictionary<string, byte[]> { ["/index.js"] = "export default {}"u8.ToArray() }),
            Options = options,
            Logger = NullLogger.Instance,
            Bindings = PageBindings.Create(bindings),
            Pages = factory,
            Clock = () => Volatile.Read(ref app!._now),
        };
        app = new FakeApp(AppHost.Create(scope), factory);
        await app.Host.StartAsync(heartbeat: false, CancellationToken.None);
        return app;
    }

    /// <summary>Moves the clock and runs one heartbeat.</summary>
    public void Advance(TimeSpan by)
    {
        Interlocked.Add(ref _now, (long)by.TotalMilliseconds);
        Pool.Tick();
    }

    /// <summary>Sends a request; its task fails with a TimeoutException rather than hang when the engine never answers.</summary>
    public Task<ProxyResponse> Send(string method = "GET", string path = "/") =>
        Host.HandleAsync(Request(method, path), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public static ProxyRequest Request(string method, string path)
    {
        var request = new ProxyRequest();
        var head = Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: fake.test\r\n\r\n");
        if (!HttpParser.TryParseHead(new ReadOnlySequence<byte>(head), request, new HttpListenerOptions(), out _, out _))
        {
            throw new InvalidOperationException("The test request did not parse.");
        }

        request.RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 40000);
        return request;
    }

    public ValueTask DisposeAsync() => new(Host.StopAsync(TimeSpan.Zero));
}
