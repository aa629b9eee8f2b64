using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Egress;
using LeanProxy.Engine.Tabs;
using LeanProxy.Listener;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Fetch;

/// <summary>
/// The <c>__lpFetch</c> binding of one app version: the page's <c>fetch</c> to another server (Runtime/subrequests.js)
/// is made here, by the host. Calls: <c>[1, id, method, url, [name, value, …], data, BodyEncoding, redirect, streamed]</c>
/// starts one, <c>[2, id, taken]</c> gives credit for its answer's body, <c>[3, id]</c> aborts it, and
/// <c>[4, id, data, BodyEncoding]</c>, <c>[5, id]</c>, <c>[6, id, message]</c> carry a request body the handler streams
/// (a piece, its end, its failure; see <see cref="StreamedRequestBody"/>). The answer goes back in the tab's batches
/// (<see cref="FetchItem"/>).
///
/// Limits a page cannot pass: at most <see cref="OpenPerRequest"/> subrequests open at once per request in its tab
/// (more wait, as Workers' six connections), at most <see cref="AppOptions.MaxSubrequests"/> per request (a browser has
/// no async context to tell which request's code made one after an await, so a tab has a credit: each request handed
/// to it adds that many, and the credit never exceeds that many per request in its page now; see
/// <see cref="TabSubrequests"/>), at most <see cref="MaxOpenPerApp"/> open for the whole app (its connection cap), a request body of at most
/// <see cref="MaxBodyBytes"/>, and the request's deadline for each. A refusal is an error in the handler that names the
/// limit, never a hang.
/// </summary>
internal sealed class FetchBinding : IDisposable
{
    public const string Name = "__lpFetch";

    public const int OpenPerRequest = 6;

    public const int MaxOpenPerApp = 256;

    /// <summary>A subrequest's body crosses CDP whole until the data plane carries it.</summary>
    public const int MaxBodyBytes = 10 * 1024 * 1024;

    private readonly AppOptions _options;
    private readonly string _app;
    private readonly ILogger _logger;
    private readonly Metrics.AppStats _stats;
    private readonly Lazy<SubrequestClient> _client;
    private readonly ConcurrentDictionary<Tab, TabSubrequests> _tabs = new();
    private int _open;

    public FetchBinding(AppOptions options, string app, ILogger logger, Metrics.AppStats stats)
    {
        _options = options;
        _app = app;
        _logger = logger;
        _stats = stats;
        var policy = new EgressPolicy(options.AllowNet);
        _client = new Lazy<SubrequestClient>(() => new SubrequestClient(policy, options.CaFile), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Runs on the CDP receive loop: parses and hands over, never waits.</summary>
    public void Handle(Tab tab, ReadOnlySpan<byte> payload)
    {
        var state = _tabs.GetOrAdd(tab, Watch);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload.ToArray());
        }
        catch (JsonException)
        {
            EngineLog.FetchMalformed(_logger, _app, tab.Index);
            return;
        }

        using (document)
        {
            foreach (var call in document.RootElement.EnumerateArray())
            {
                Handle(tab, state, call);
            }
        }
    }

    /// <summary>One call; a malformed one is logged and skipped, the others of its payload still run.</summary>
    private void Handle(Tab tab, TabSubrequests state, JsonElement call)
    {
        try
        {
            var id = call[1].GetInt32();
            switch ((FetchCallKind)call[0].GetInt32())
            {
                case FetchCallKind.Start:
                    Start(tab, state, id, call);
                    break;
                case FetchCallKind.Taken:
                    state.Find(id)?.Taken(call[2].GetInt64());
                    break;
                case FetchCallKind.Abort:
                    state.Abort(id);
                    break;
                case FetchCallKind.Piece:
                    var bytes = PageData.Bytes(call[2], call[3], tab.Data); // taken even when the subrequest is gone
                    if (state.Find(id) is { Upload: { } upload } piece && !upload.Append(bytes))
                    {
                        piece.Abort();
                    }

                    break;
                case FetchCallKind.End:
                    state.Find(id)?.Upload?.End();
                    break;
                case FetchCallKind.Fail:
                    state.Find(id)?.Upload?.Fail(call[2].GetString() ?? "it failed");
                    break;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            EngineLog.FetchMalformed(_logger, _app, tab.Index);
        }
    }

    /// <summary>The body of <paramref name="tab"/>'s subrequest <paramref name="fetchId"/>, for the host to send to the client; null when it is gone.</summary>
    public ForwardedBody? Forward(Tab tab, int fetchId) =>
        _tabs.TryGetValue(tab, out var state) ? state.Find(fetchId)?.Forward() : null;

    public void Dispose()
    {
        foreach (var state in _tabs.Values)
        {
            state.AbortAll();
        }

        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }

    private TabSubrequests Watch(Tab tab)
    {
        var state = new TabSubrequests();
        tab.Page.Ended.ContinueWith(
            _ =>
            {
                state.AbortAll();
                _tabs.TryRemove(tab, out var _);
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return state;
    }

    private void Start(Tab tab, TabSubrequests state, int id, JsonElement call)
    {
        if (state.Find(id) is not null)
        {
            EngineLog.FetchMalformed(_logger, _app, tab.Index); // an id in use: a page that does not follow the protocol
            return;
        }

        // The body first, whatever becomes of the call: bytes on the data plane are taken once, or would be held for nothing.
        var body = call[6].GetInt32() == (int)BodyEncoding.None ? null : PageData.Bytes(call[5], call[6], tab.Data);
        if (Parse(id, call, body, out var invalid) is not { } start)
        {
            tab.Enqueue(new FetchItem.Failure(id, "TypeError", invalid!));
            Count("refused");
            return;
        }

        if (state.Admit(tab.Calls.Count, tab.Calls.Added, _options.MaxSubrequests) is { } refusal)
        {
            tab.Enqueue(new FetchItem.Failure(id, "Error", refusal));
            Count("refused");
            return;
        }

        var subrequest = new Subrequest(start, tab, _options.RequestTimeout, Refused);
        if (state.Queue(subrequest, OpenPerRequest * Math.Max(1, tab.Calls.Count)))
        {
            Launch(tab, state, subrequest);
        }
    }

    /// <summary>The start call as a <see cref="SubrequestStart"/>; null with <paramref name="refusal"/> when it cannot be made.</summary>
    private static SubrequestStart? Parse(int id, JsonElement call, byte[]? body, out string? refusal)
    {
        refusal = null;
        var method = call[2].GetString() ?? string.Empty;
        var rawUrl = call[3].GetString() ?? string.Empty;
        if (!Uri.TryCreate(rawUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            refusal = $"Fetch API cannot load {rawUrl}: only absolute http: and https: URLs go to other servers.";
            return null;
        }

        if (method.Length == 0 || !IsToken(method) || method.Equals("CONNECT", StringComparison.OrdinalIgnoreCase))
        {
            refusal = $"'{method}' is not a valid HTTP method for fetch.";
            return null;
        }

        var flat = call[4];
        var headers = new List<KeyValuePair<string, string>>(flat.GetArrayLength() / 2);
        for (var i = 0; i + 1 < flat.GetArrayLength(); i += 2)
        {
            var name = flat[i].GetString() ?? string.Empty;
            var value = flat[i + 1].GetString() ?? string.Empty;
            if (!IsToken(name) || value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
            {
                refusal = $"Invalid header: {(IsToken(name) ? name : "a name that is not a token")}.";
                return null;
            }

            headers.Add(new(name, value.Trim(' ', '\t')));
        }

        if (body is { Length: > MaxBodyBytes })
        {
            refusal = $"A subrequest's body may be {MaxBodyBytes / (1024 * 1024)} MiB at most (this one is {body.Length} bytes).";
            return null;
        }

        var redirect = call[7].GetInt32() switch
        {
            1 => RedirectMode.Manual,
            2 => RedirectMode.Error,
            _ => RedirectMode.Follow,
        };
        var streamed = call.GetArrayLength() > 8 && call[8].GetInt32() == 1;
        return new SubrequestStart(id, method, url, headers, body, redirect, streamed);
    }

    private void Launch(Tab tab, TabSubrequests state, Subrequest subrequest)
    {
        if (Interlocked.Increment(ref _open) > MaxOpenPerApp)
        {
            Interlocked.Decrement(ref _open);
            tab.Enqueue(new FetchItem.Failure(subrequest.Id, "Error",
                $"App {_app} has {MaxOpenPerApp} subrequests open: LeanProxy refuses more (its connection cap)."));
            Count("refused");
            Finished(tab, state, subrequest);
            return;
        }

        FireAndForget.Run(RunAsync(tab, state, subrequest), _logger, "a subrequest");
    }

    private async Task RunAsync(Tab tab, TabSubrequests state, Subrequest subrequest)
    {
        var started = Stopwatch.GetTimestamp();
        var status = 0;
        try
        {
            status = await subrequest.RunAsync(() => _client.Value).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
            var elapsed = Stopwatch.GetElapsedTime(started);
            Count(status == 0 ? "error" : (status / 100) + "xx");
            Metrics.EngineMetrics.SubrequestDuration.WithLabels(_app).Observe(elapsed.TotalSeconds);
            if (_stats.IsTailed)
            {
                _stats.Publish(new Metrics.TailLine(DateTimeOffset.UtcNow, _app, "subrequest", tab.Index, string.Empty, subrequest.Start.Method,
                    Subrequest.Describe(subrequest.Start.Url), status, elapsed.TotalMilliseconds));
            }

            Finished(tab, state, subrequest);
        }
    }

    private void Finished(Tab tab, TabSubrequests state, Subrequest subrequest)
    {
        foreach (var next in state.Done(subrequest, OpenPerRequest * Math.Max(1, tab.Calls.Count)))
        {
            Launch(tab, state, next);
        }
    }

    /// <summary>Logged once per destination (at most 1000 of them), as the egress proxy does.</summary>
    private void Refused(string refusal)
    {
        if (_refusalsLogged.Count < 1000 && _refusalsLogged.TryAdd(refusal, 0))
        {
            EngineLog.EgressRefused(_logger, _app, refusal);
        }
    }

    private readonly ConcurrentDictionary<string, byte> _refusalsLogged = new(StringComparer.Ordinal);

    private void Count(string status) => Metrics.EngineMetrics.Subrequests.WithLabels(_app, status).Inc();

    private static bool IsToken(string text)
    {
        foreach (var c in text)
        {
            if (c <= ' ' || c >= 0x7f || "\"(),/:;<=>?@[\\]{}".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return text.Length > 0;
    }
}
