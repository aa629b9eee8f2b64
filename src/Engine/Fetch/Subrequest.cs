using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using LeanProxy.Engine.Tabs;

namespace LeanProxy.Engine.Fetch;

/// <summary>What a page asked the host to fetch: the request as the handler made it.</summary>
internal sealed record SubrequestStart(int Id, string Method, Uri Url, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[]? Body,
    RedirectMode Redirect, bool Streamed = false);

/// <summary>Workers' (and the Fetch standard's) redirect modes.</summary>
internal enum RedirectMode
{
    Follow = 0,
    Manual = 1,
    Error = 2,
}

/// <summary>
/// One subrequest of a tab: sends it (following redirects as Workers does: at most 20 hops, each through the egress
/// policy, Authorization and Cookie dropped when a hop leaves the origin; 303, and 301/302 after a POST, become a GET),
/// hands the page its head, then its body piece by piece — never more than <see cref="Window"/> bytes beyond what the
/// page's reader took, so that a slow reader holds the origin back — and ends with its end or its failure.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Its cancellation source holds no timer until RunAsync, whose finally disposes it.")]
internal sealed class Subrequest
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

    private async Task<(HttpResponseMessage Response, Uri Url, bool Redirected)> SendFollowingAsync(SubrequestClient client,
        CancellationToken cancellationToken)
    {
        var url = _start.Url;
        var method = _start.Method;
        var body = _start.Body;
        HttpContent? upload = Upload;
        var headers = _start.Headers;
        for (var hop = 0; ; hop++)
        {
            using var request = Build(method, url, headers, body, upload);
            var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is not (301 or 302 or 303 or 307 or 308) || response.Headers.Location is not { } location || _start.Redirect == RedirectMode.Manual)
            {
                return (response, url, hop > 0);
            }

            response.Dispose();
            if (_start.Redirect == RedirectMode.Error)
            {
                throw SubrequestException.Type($"Fetch to {Describe(_start.Url)} redirected (status {status}) and its redirect mode is \"error\".");
            }

            if (hop == MaxRedirects)
            {
                throw SubrequestException.Type($"Fetch to {Describe(_start.Url)} was redirected more than {MaxRedirects} times.");
            }

            var next = new Uri(url, location);
            if (next.Scheme is not ("http" or "https"))
            {
                throw SubrequestException.Type($"Fetch to {Describe(_start.Url)} was redirected to {next.Scheme}:, which is not http(s).");
            }

            if (status == 303 && method != "HEAD" || status is 301 or 302 && method == "POST")
            {
                (method, body, upload) = ("GET", null, null);
                headers = [.. headers.Where(h => !h.Key.StartsWith("content-", StringComparison.OrdinalIgnoreCase))];
            }
            else if (upload is not null)
            {
                throw SubrequestException.Type($"Fetch to {Describe(_start.Url)} was redirected (status {status}) and its body was a stream, " +
                    "which cannot be sent again.");
            }

            if (!SameOrigin(url, next))
            {
                headers = [.. headers.Where(h => !h.Key.Equals("authorization", StringComparison.OrdinalIgnoreCase)
                    && !h.Key.Equals("cookie", StringComparison.OrdinalIgnoreCase)
                    && !h.Key.Equals("proxy-authorization", StringComparison.OrdinalIgnoreCase))];
            }

            url = next;
        }
    }

    private static HttpRequestMessage Build(string method, Uri url, IReadOnlyList<KeyValuePair<string, string>> headers, byte[]? body,
        HttpContent? upload)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
        }
        else if (upload is not null)
        {
            request.Content = upload;
        }

        foreach (var (name, value) in headers)
        {
            if (Dropped.Contains(name))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, value) && request.Content is not null)
            {
                request.Content.Headers.Remove(name);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return request;
    }

    /// <summary>
    /// The head and the body: a body of a known length up to <see cref="ChunkSize"/> goes with the head in one item (one
    /// batch, and the page's reader needs no credit); any other follows the head piece by piece as it comes (a stream
    /// of events gets its head at once).
    /// </summary>
    private async Task PumpBodyAsync(FetchItem.Head head, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var first = new byte[ChunkSize];
            var filled = 0;
            var ended = false;
            var small = response.Content.Headers.ContentLength is { } length && length <= ChunkSize;
            if (!small)
            {
                _tab.Enqueue(head);
                if (await _destination.Task.WaitAsync(cancellationToken).ConfigureAwait(false) is { } forwarded)
                {
                    _cancel.CancelAfter(Timeout.InfiniteTimeSpan); // the handler has answered: the client's pace decides now
                    await ForwardAsync(stream, forwarded, cancellationToken).ConfigureAwait(false);
                    return;
                }
            }
            else
            {
                _destination.TrySetResult(null); // it comes whole to the page
            }

            while (small && filled < first.Length)
            {
                var read = await ReadAsync(stream, first.AsMemory(filled), 0, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    ended = true;
                    break;
                }

                filled += read;
            }

            if (ended)
            {
                _tab.Enqueue(new FetchItem.Whole(head, first, filled));
                return;
            }

            if (small)
            {
                _tab.Enqueue(head); // longer than it said: the rest comes piece by piece
            }

            if (filled > 0)
            {
                lock (_lock)
                {
                    _sent = filled;
                }

                _tab.Enqueue(new FetchItem.Chunk(Id, 0, first, filled));
            }

            long sent = filled;
            while (true)
            {
                await WaitForCreditAsync(sent, cancellationToken).ConfigureAwait(false);
                var buffer = new byte[ChunkSize];
                var read = await ReadAsync(stream, buffer, sent, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (_tab.IsDead)
                {
                    return; // nobody to hand it to: the tab's end failed its request
                }

                lock (_lock)
                {
                    _sent = sent + read;
                }

                _tab.Enqueue(new FetchItem.Chunk(Id, sent, buffer, read));
                sent += read;
            }

            _tab.Enqueue(new FetchItem.End(Id, sent));
        }
    }

    /// <summary>The body from the origin straight to the client's connection (<see cref="ForwardedBody"/>).</summary>
    private async Task ForwardAsync(Stream stream, ForwardedBody forwarded, CancellationToken cancellationToken)
    {
        long sent = 0;
        try
        {
            while (true)
            {
                var buffer = new byte[ChunkSize];
                var read = await ReadAsync(stream, buffer, sent, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    forwarded.Writer.TryComplete();
                    return;
                }

                await forwarded.Writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                sent += read;
            }
        }
        catch (ChannelClosedException)
        {
            // The client went away (the listener disposed the body).
        }
        catch (Exception ex) when (ex is SubrequestException or OperationCanceledException)
        {
            forwarded.Writer.TryComplete(new InvalidOperationException("The forwarded body failed: " + ex.Message, ex));
            throw;
        }
    }

    private async Task<int> ReadAsync(Stream stream, Memory<byte> buffer, long sent, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw SubrequestException.Type($"The body of {Describe(_start.Url)} failed after {sent} bytes: {ex.GetBaseException().Message}", ex);
        }
    }

    private async Task WaitForCreditAsync(long sent, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (sent - _taken < Window)
                {
                    return;
                }

                _credit ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _credit.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Every header as received, each value of a repeated one (Set-Cookie…) apart; content headers included.</summary>
    private static List<KeyValuePair<string, string>> HeadersOf(HttpResponseMessage response)
    {
        var headers = new List<KeyValuePair<string, string>>();
        Add(response.Headers, headers);
        Add(response.Content.Headers, headers);
        return headers;

        static void Add(HttpHeaders from, List<KeyValuePair<string, string>> to)
        {
            foreach (var (name, values) in from.NonValidated)
            {
                foreach (var value in values)
                {
                    to.Add(new(name.ToLowerInvariant(), value));
                }
            }
        }
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && a.Port == b.Port && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase);

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
