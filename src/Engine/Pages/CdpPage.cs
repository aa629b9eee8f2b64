using System.Text;
using System.Text.Json;
using LeanProxy.Cdp;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Tabs;

namespace LeanProxy.Engine.Pages;

/// <summary>
/// A tab's page over CDP: one flat session. Sends batches as <c>Runtime.evaluate</c> and reads the reply on the CDP
/// receive loop, handing the page's messages to the tab's router right there (the waiting HTTP connections write
/// their responses at once instead of after two thread-pool hops); routes binding calls by name; logs the page's
/// console and uncaught errors. Loading is <see cref="CdpPageFactory"/>'s.
/// </summary>
internal sealed partial class CdpPage : IPageChannel
{
    private readonly Tab _tab;
    private readonly AppScope _app;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly CdpResultReader<BatchReply> _readBatchReply;
    private readonly Func<string, string> _describeUrl;

    public CdpPage(Tab tab, CdpSession session, Func<string, string> describeUrl)
    {
        _tab = tab;
        _app = tab.App;
        Session = session;
        _describeUrl = describeUrl;
        // The reply's hand-off: run by PendingCall.Complete on the CDP receive loop's thread when the evaluate's answer
        // comes in, it completes every request the reply carries right there (their connections write on that thread);
        // SendBatchAsync's await below resumes only afterwards, with the BatchReply this returns.
        _readBatchReply = json =>
        {
            Metrics.RequestTimeline.ReplyRead();
            var reply = PageMessageReader.ReadEvaluateResult(json);
            if (!reply.Payload.IsEmpty)
            {
                // Held, with what comes after it, while data it refers to is still on its way (see TabDataPlane).
                _tab.Router.DeliverHeld(reply.Payload);
            }

            return reply;
        };
        Ended = WaitEndedAsync();
    }

    public CdpSession Session { get; }

    public Task<string> Ended { get; }

    public bool IsEnded => Session.IsEnded;

    /// <summary>An uncaught exception reported while the app loads: settles the load (see <see cref="CdpPageFactory"/>).</summary>
    internal TaskCompletionSource<PageLoadStatus> LoadFailure { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task<string> WaitEndedAsync()
    {
        var reason = await Session.Ended.ConfigureAwait(false);
        DisposeSubscriptions();
        return reason.ToString();
    }

    /// <summary>Subscribes to bindings, console and exceptions; call before enabling the Runtime domain.</summary>
    public void Subscribe()
    {
        lock (_subscriptions)
        {
            _subscriptions.Add(Session.Subscribe(CdpEvents.RuntimeBindingCalled, OnBindingCalled));
            _subscriptions.Add(Session.Subscribe(CdpEvents.RuntimeConsoleApiCalled, CdpJsonContext.Default.ConsoleApiCalledEvent, (e, _) => OnConsole(e)));
            _subscriptions.Add(Session.Subscribe(CdpEvents.RuntimeExceptionThrown, CdpJsonContext.Default.ExceptionThrownEvent, (e, _) => OnException(e)));
        }
    }

    public async ValueTask<BatchOutcome> SendBatchAsync(IReadOnlyList<Calls.TabItem> batch)
    {
        ValueTask<BatchReply> call;
        var expression = PooledBufferWriter.Rent();
        try
        {
            HostMessageWriter.WriteBatch(expression, batch, _tab.Data);
            call = Session.SendAsync(
                CdpMethods.RuntimeEvaluate,
                expression,
                static (writer, buffer) =>
                {
                    writer.WriteString("expression"u8, buffer.WrittenSpan);
                    writer.WriteBoolean("awaitPromise"u8, true);
                    writer.WriteBoolean("returnByValue"u8, true);
                },
                _readBatchReply,
                CancellationToken.None);
        }
        finally
        {
            PooledBufferWriter.Return(expression);
        }

        if (Metrics.RequestTimeline.Enabled)
        {
            var written = System.Diagnostics.Stopwatch.GetTimestamp();
            foreach (var item in batch)
            {
                if (item is Calls.PendingRequest request)
                {
                    request.WrittenAt = written;
                }
            }
        }

        try
        {
            // By the time this resumes, _readBatchReply has delivered the answers (see the constructor): what is left
            // is the batch's outcome for the sender.
            var reply = await call.ConfigureAwait(false);
            return reply.Exception is null ? BatchOutcome.Answered : BatchOutcome.Stopped;
        }
        catch (CdpClosedException)
        {
            return BatchOutcome.Lost;
        }
        catch (Exception ex) when (ex is CdpException or JsonException or FormatException or InvalidOperationException)
        {
            if (!_tab.Watchdog.IsTerminating)
            {
                EngineLog.BatchFailed(_app.Logger, _app.Name, _tab.Index, ex);
            }

            return BatchOutcome.Rejected;
        }
    }

    public async Task TerminateAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Session.SendAsync(CdpMethods.RuntimeTerminateExecution, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CdpClosedException or CdpException or OperationCanceledException)
        {
            // The tab is gone, or it did not answer: the watchdog gives it up later.
        }
    }

    public async Task CloseAsync()
    {
        DisposeSubscriptions();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await Session.Connection.SendAsync(
                CdpMethods.TargetCloseTarget,
                new CloseTargetParams(Session.TargetId),
                CdpJsonContext.Default.CloseTargetParams,
                cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CdpClosedException or CdpException or OperationCanceledException)
        {
            // Best effort: the browser may be closing already.
        }
    }

    private void OnBindingCalled(ReadOnlySpan<byte> json, string? sessionId)
    {
        Metrics.RequestTimeline.ReplyRead();
        var reader = new Utf8JsonReader(json);
        reader.Read();
        string? name = null;
        byte[]? payload = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = reader.GetString();
            }
            else if (reader.ValueTextEquals("payload"u8))
            {
                reader.Read();
                payload = reader.ValueIsEscaped ? Encoding.UTF8.GetBytes(reader.GetString()!) : reader.ValueSpan.ToArray();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (name is null || payload is null)
        {
            return;
        }

        // A payload that refers to data-plane messages waits for them, and whatever comes after it waits too.
        _tab.Data.RunHeld(payload, (this, name), static (call, rest) => call.Item1.Invoke(call.name, rest.Span));
    }

    private void Invoke(string name, ReadOnlySpan<byte> payload)
    {
        try
        {
            if (!_app.Bindings.Invoke(name, _tab, payload))
            {
                EngineLog.UnknownBinding(_app.Logger, _app.Name, _tab.Index, name);
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            EngineLog.BindingFailed(_app.Logger, _app.Name, _tab.Index, name, ex);
        }
    }

    private void DisposeSubscriptions()
    {
        lock (_subscriptions)
        {
            foreach (var subscription in _subscriptions)
            {
                subscription.Dispose();
            }

            _subscriptions.Clear();
        }
    }
}
