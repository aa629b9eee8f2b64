using LeanProxy.Engine.Metrics;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;
using LeanProxy.Store;

namespace LeanProxy.Host.Ops;

/// <summary>
/// <c>GET /v1/apps/NAME/logs</c>: an app's live log as server-sent events (one JSON line per event). On a single-app
/// server the lines come straight from the app; on a node they come through the store from every node of it
/// (<see cref="Node.LogRelay"/>). A client that reads too slowly gets a "dropped" line instead of what it missed.
/// </summary>
internal static class LogStreams
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
    private static readonly byte[] Comment = ": leanproxy tail\n\n"u8.ToArray();

    /// <summary>The lines of this process's app.</summary>
    public static ProxyResponse Local(string app, ILogger logger, CancellationToken stopping)
    {
        var body = new LiveBody(stopping);
        FireAndForget.Run(PumpLocalAsync(AppStats.For(app).Tail(), body, app), logger, "the live log of " + app);
        return Response(body);
    }

    /// <summary>The lines of every node of the store.</summary>
    public static ProxyResponse Relayed(ILogRelayStore store, string app, ILogger logger, CancellationToken stopping)
    {
        var body = new LiveBody(stopping);
        FireAndForget.Run(PumpRelayedAsync(store, body, app), logger, "the relayed live log of " + app);
        return Response(body);
    }

    private static ProxyResponse Response(LiveBody body)
    {
        body.TryWrite(Comment); // the head and a first event go out at once
        var response = new ProxyResponse(200) { StreamingBody = body };
        response.Headers.Add(new("Content-Type", "text/event-stream; charset=utf-8"));
        response.Headers.Add(new("Cache-Control", "no-store"));
        return response;
    }

    private static async Task PumpLocalAsync(TailSubscription tail, LiveBody body, string app)
    {
        using (tail)
        {
            long dropped = 0;
            try
            {
                while (!body.Gone.IsCancellationRequested)
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(body.Gone);
                    wait.CancelAfter(KeepAlive);
                    try
                    {
                        if (!await tail.Lines.WaitToReadAsync(wait.Token).ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException) when (!body.Gone.IsCancellationRequested)
                    {
                        body.TryWrite(Comment); // a client that went away is noticed on a write
                        continue;
                    }

                    while (tail.Lines.TryRead(out var line))
                    {
                        dropped += body.TryWrite(TailFormat.Event(TailFormat.Json(line))) ? 0 : 1;
                    }

                    dropped += tail.TakeDropped();
                    if (dropped > 0 && body.TryWrite(TailFormat.Event(TailFormat.Json(TailFormat.Dropped(app, dropped)))))
                    {
                        dropped = 0;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                body.Complete();
            }
        }
    }

    private static async Task PumpRelayedAsync(ILogRelayStore store, LiveBody body, string app)
    {
        var gone = body.Gone;
        long start = -1, cursor = 0, dropped = 0;
        var seen = new HashSet<long>();
        var order = new Queue<long>();
        var renewed = DateTimeOffset.MinValue;
        var wrote = DateTimeOffset.UtcNow;
        var failing = false;
        try
        {
            while (!gone.IsCancellationRequested)
            {
                try
                {
                    var now = DateTimeOffset.UtcNow;
                    if (now - renewed > TimeSpan.FromSeconds(10))
                    {
                        await store.KeepTailAsync(app, now.ToUnixTimeSeconds() + 30, gone).ConfigureAwait(false);
                        renewed = now;
                    }

                    if (start < 0)
                    {
                        start = cursor = await store.LastLogAsync(gone).ConfigureAwait(false);
                    }

                    // Numbers may commit out of order: read again a little before the newest line seen.
                    foreach (var line in await store.ReadLogsAsync(app, Math.Max(start, cursor - 200), 1000, gone).ConfigureAwait(false))
                    {
                        if (!seen.Add(line.Seq))
                        {
                            continue;
                        }

                        order.Enqueue(line.Seq);
                        if (order.Count > 5000)
                        {
                            seen.Remove(order.Dequeue());
                        }

                        cursor = Math.Max(cursor, line.Seq);
                        dropped += body.TryWrite(TailFormat.Event(line.Line)) ? 0 : 1;
                        wrote = now;
                    }

                    if (failing)
                    {
                        failing = false;
                        body.TryWrite(TailFormat.Event(TailFormat.Json(new TailLine(now, app, "notice", -1, "the store is reachable again"))));
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException && !failing)
                {
                    failing = true;
                    body.TryWrite(TailFormat.Event(TailFormat.Json(new TailLine(DateTimeOffset.UtcNow, app, "notice", -1,
                        "the store is unreachable; lines from other nodes wait: " + ex.GetBaseException().Message))));
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                }

                if (dropped > 0 && body.TryWrite(TailFormat.Event(TailFormat.Json(TailFormat.Dropped(app, dropped)))))
                {
                    dropped = 0;
                }

                if (DateTimeOffset.UtcNow - wrote > KeepAlive && body.TryWrite(Comment))
                {
                    wrote = DateTimeOffset.UtcNow;
                }

                await Task.Delay(250, gone).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            body.Complete();
        }
    }
}
