using LeanProxy.Engine.Tabs;

namespace LeanProxy.Engine.Fetch;

/// <summary>
/// One subrequest of a tab: sends it (following redirects as Workers does: at most 20 hops, each through the egress
/// policy, Authorization and Cookie dropped when a hop leaves the origin; 303, and 301/302 after a POST, become a GET),
/// hands the page its head, then its body piece by piece — never more than <see cref="Window"/> bytes beyond what the
/// page's reader took, so that a slow reader holds the origin back — and ends with its end or its failure.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Its cancellation source holds no timer until RunAsync, whose finally disposes it.")]
internal sealed partial class Subrequest
{
    /// <summary>Body bytes that may be on their way to the page, not yet taken by its reader.</summary>
    public const int Window = 1024 * 1024;

    private const int MaxRedirects = 20;
    private const int ChunkSize = 64 * 1024;

    // Never sent as the handler set them: the URL decides Host, the body its length, the connection its own hops.
    private static readonly HashSet<string> Dropped = new(StringComparer.OrdinalIgnoreCase)
    {
        "host", "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "expect",
    };

    private readonly SubrequestStart _start;
    private readonly Tab _tab;
    private readonly TimeSpan _deadline;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _cancel = new();
    private long _taken;
    private long _sent;
    private TaskCompletionSource? _credit;

    // Where a body that did not come whole goes: to the page (its reader's first read), or to the client by the host
    // (the handler returned the answer untouched: Forward). Decided once.
    private readonly TaskCompletionSource<ForwardedBody?> _destination = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly Action<string> _refused;

    /// <summary><paramref name="refused"/> hears of a destination the egress policy refused (for the log).</summary>
    public Subrequest(SubrequestStart start, Tab tab, TimeSpan deadline, Action<string> refused)
    {
        _start = start;
        _tab = tab;
        _deadline = deadline;
        _refused = refused;
        Upload = start.Streamed ? new StreamedRequestBody(taken => tab.Enqueue(new FetchItem.Credit(start.Id, taken))) : null;
    }

    /// <summary>The body the handler streams, as its pieces come; null when the body came whole (or there is none).</summary>
    public StreamedRequestBody? Upload { get; }

    public int Id => _start.Id;

    public SubrequestStart Start => _start;

    /// <summary>The page's reader has taken <paramref name="total"/> bytes of the body in all.</summary>
    public void Taken(long total)
    {
        _destination.TrySetResult(null);
        TaskCompletionSource? credit;
        lock (_lock)
        {
            total = Math.Min(total, _sent); // a page cannot take what was not sent (and so cannot lift the window)
            if (total <= _taken)
            {
                return;
            }

            _taken = total;
            credit = _credit;
            _credit = null;
        }

        credit?.TrySetResult();
    }

    /// <summary>
    /// The handler returned this answer with its body untouched: the host sends the body to the client itself. Null
    /// when the page reads it already (or it came whole).
    /// </summary>
    public ForwardedBody? Forward()
    {
        var forwarded = new ForwardedBody(this);
        return _destination.TrySetResult(forwarded) ? forwarded : null;
    }

    /// <summary>The page gave it up (its signal, or its body cancelled): stop reading from the origin.</summary>
    public void Abort()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It had ended already.
        }
    }

    /// <summary>Runs it to its end (or the request's deadline); returns the status it got (0: none) for the metrics and the live log.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031", Justification = "Every failure becomes the page's rejection: a fetch never hangs.")]
    public async Task<int> RunAsync(Func<SubrequestClient> client)
    {
        _cancel.CancelAfter(_deadline);
        var token = _cancel.Token;
        HttpResponseMessage? response = null;
        try
        {
            var (answer, url, redirected) = await SendFollowingAsync(client(), token).ConfigureAwait(false);
            response = answer;
            if ((int)response.StatusCode is < 200 or > 599)
            {
                throw SubrequestException.Type($"Fetch to {Describe(_start.Url)} failed: the origin answered with status {(int)response.StatusCode}, " +
                    "which a Response cannot have.");
            }

            var head = new FetchItem.Head(Id, (int)response.StatusCode, response.ReasonPhrase ?? string.Empty, HeadersOf(response), url.AbsoluteUri,
                redirected);
            await PumpBodyAsync(head, response, token).ConfigureAwait(false);
            return (int)response.StatusCode;
        }
        catch (SubrequestException ex)
        {
            _tab.Enqueue(new FetchItem.Failure(Id, ex.Kind, ex.Message));
            return response is null ? 0 : (int)response.StatusCode;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Aborted by the page (it knows), or past the request's deadline (it must be told).
            _tab.Enqueue(new FetchItem.Failure(Id, "AbortError",
                $"The subrequest to {Describe(_start.Url)} was aborted: it was given up, or it outlived the request's deadline."));
            return response is null ? 0 : (int)response.StatusCode;
        }
        catch (Exception ex)
        {
            // Whatever else failed (an HTTP error, a bad CA file, a bug): the page's fetch rejects, it never hangs.
            _tab.Enqueue(new FetchItem.Failure(Id, "TypeError", Explain(ex)));
            return response is null ? 0 : (int)response.StatusCode;
        }
        finally
        {
            // A forward asked for after the body's pump had ended: its client gets an end, not a wait.
            if (!_destination.TrySetResult(null) && await _destination.Task.ConfigureAwait(false) is { } late && !late.Completion.IsCompleted)
            {
                late.Writer.TryComplete(new IOException("The subrequest ended before its body was forwarded."));
            }

            response?.Dispose();
            Upload?.Fail("the subrequest ended"); // a page still streaming it gets no more credit
            _cancel.Dispose();
        }
    }

    /// <summary>The URL without its query (which may carry secrets), for messages and logs.</summary>
    public static string Describe(Uri url) => url.GetLeftPart(UriPartial.Path);

    private string Explain(Exception ex)
    {
        var refused = FindRefusal(ex);
        if (refused is not null)
        {
            _refused(refused.Message);
            return $"Fetch to {Describe(_start.Url)} was refused: {refused.Message} (handlers may not reach loopback, private or link-local " +
                "addresses nor this node; the node's --allow-net HOST[:PORT] opens one).";
        }

        return $"Fetch to {Describe(_start.Url)} failed: {ex.GetBaseException().Message}";
    }

    private static EgressRefusedException? FindRefusal(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is EgressRefusedException refused)
            {
                return refused;
            }
        }

        return null;
    }
}
