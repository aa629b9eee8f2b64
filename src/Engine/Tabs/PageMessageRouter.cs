using System.Collections.Concurrent;
using System.Threading.Channels;
using LeanProxy.Engine.Raw;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Tabs;

/// <summary>
/// Routes a tab's page messages (<see cref="PageMessageKind"/>) to whom they are for: a response or failure to its
/// call, a body chunk to its streamed body, a connection's message to its session, a reply to its datagram. Runs on
/// the CDP receive loop: never blocks.
/// </summary>
internal sealed class PageMessageRouter(Tab tab)
{
    private readonly ConcurrentDictionary<int, ChannelWriter<ReadOnlyMemory<byte>>> _streams = new();
    private readonly ConcurrentDictionary<int, TcpSession> _connections = new();
    private int _connectionCount;

    /// <summary>Open connections on this tab (the pool spreads new ones by it).</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>
    /// A payload of page messages that may start with the data-plane messages it needs (<c>N;[...]</c>): delivered once
    /// they are there, after whatever was held before it (see <see cref="DataPlane.TabDataPlane.RunHeld{TState}"/>).
    /// </summary>
    public void DeliverHeld(ReadOnlyMemory<byte> payload) =>
        tab.Data.RunHeld(payload, this, static (router, messages) => router.DeliverPayload(messages.Span));

    /// <summary>A binding payload: a JSON array of page messages.</summary>
    public void DeliverPayload(ReadOnlySpan<byte> payload)
    {
        var messages = new List<PageMessage>();
        PageMessageReader.ReadMessages(payload, messages, tab.Data);
        Deliver(messages);
    }

    public void Deliver(List<PageMessage> messages)
    {
        foreach (var message in messages)
        {
            Deliver(message);
        }
    }

    private void Deliver(in PageMessage message)
    {
        switch (message.Kind)
        {
            case PageMessageKind.BodyChunk:
                if (_streams.TryGetValue(message.Id, out var stream))
                {
                    stream.TryWrite(message.Data);
                }

                return;
            case PageMessageKind.BodyEnd:
                if (_streams.TryRemove(message.Id, out var ended))
                {
                    ended.TryComplete();
                }

                return;
            case PageMessageKind.BodyError:
                if (_streams.TryRemove(message.Id, out var failed))
                {
                    failed.TryComplete(new InvalidOperationException("The response body stream failed: " + message.ErrorMessage));
                }

                return;
            case PageMessageKind.TcpWrite or PageMessageKind.TcpAck or PageMessageKind.TcpShutdownWrite or PageMessageKind.TcpClose or PageMessageKind.TcpError:
                if (_connections.TryGetValue(message.Id, out var session))
                {
                    session.OnPageMessage(message);
                }

                return;
        }

        if (!tab.Calls.TryTake(message.Id, out var call))
        {
            return; // answered meanwhile (a deadline)
        }

        switch (call)
        {
            case PendingRequest request:
                CompleteRequest(request, message);
                break;
            case PendingDatagram datagram:
                CompleteDatagram(datagram, message);
                break;
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000", Justification = "A streamed body goes to the response, which the listener disposes; or it is disposed here when nobody will read it.")]
    private void CompleteRequest(PendingRequest request, in PageMessage message)
    {
        var app = tab.App;
        switch (message.Kind)
        {
            case PageMessageKind.Response:
                request.TryComplete(message.Response!);
                return;
            case PageMessageKind.ResponseHead:
                var body = new StreamedBody(tab, message.Id);
                _streams[message.Id] = body.Writer;
                message.Response!.StreamingBody = body;
                if (!request.TryComplete(message.Response))
                {
                    body.Dispose(); // answered meanwhile (a deadline): nobody will read the body
                }

                return;
            case PageMessageKind.ResponseFromFetch:
                if (app.Subrequests?.Forward(tab, (int)message.Count) is not { } forwarded)
                {
                    request.TryComplete(ProxyResponse.Text(502, "Bad Gateway: the subrequest's body is no longer there."));
                    return;
                }

                message.Response!.StreamingBody = forwarded;
                if (!request.TryComplete(message.Response))
                {
                    forwarded.Dispose(); // answered meanwhile (a deadline): nobody will read the body
                }

                return;
            case PageMessageKind.HandlerError when message.Failure == HandlerFailure.BadReturn:
                EngineLog.HandlerBadReturn(app.Logger, app.Name, request.Id, request.Request.Method, request.Request.TargetString,
                    message.ErrorMessage ?? string.Empty);
                request.TryComplete(ProxyResponse.Text(500, "Internal Server Error: " + message.ErrorMessage));
                return;
            case PageMessageKind.HandlerError:
                EngineLog.HandlerThrew(app.Logger, app.Name, request.Id, request.Request.Method, request.Request.TargetString,
                    message.ErrorMessage ?? string.Empty, message.ErrorStack ?? string.Empty);
                if (app.Stats.IsTailed)
                {
                    app.Stats.Publish(new Metrics.TailLine(DateTimeOffset.UtcNow, app.Name, "error", tab.Index,
                        $"request {request.Request.Method} {request.Request.TargetString} failed in the handler: " +
                            $"{message.ErrorMessage}\n{message.ErrorStack}"));
                }
                request.TryComplete(ProxyResponse.Text(500, "Internal Server Error"));
                return;
            default:
                request.TryComplete(ProxyResponse.Text(502, $"Bad Gateway: the page answered a request with a {message.Kind} message"));
                return;
        }
    }

    private void CompleteDatagram(PendingDatagram datagram, in PageMessage message)
    {
        var app = tab.App;
        switch (message.Kind)
        {
            case PageMessageKind.DatagramReply:
                datagram.TryComplete(message.Data);
                return;
            case PageMessageKind.HandlerError when message.Failure == HandlerFailure.BadReturn:
                EngineLog.DatagramBadReturn(app.Logger, app.Name, datagram.Id, datagram.Remote, message.ErrorMessage ?? string.Empty);
                break;
            case PageMessageKind.HandlerError:
                EngineLog.DatagramHandlerThrew(app.Logger, app.Name, datagram.Id, datagram.Remote, message.ErrorMessage ?? string.Empty,
                    message.ErrorStack ?? string.Empty);
                break;
        }

        datagram.TryComplete(null);
    }

    /// <summary>The listener gave up a streamed body: chunks that still arrive for it are dropped.</summary>
    public void AbandonStream(int id) => _streams.TryRemove(id, out _);

    /// <summary>Binds a new connection to this tab; false when the tab is dead already.</summary>
    public bool TryAttach(TcpSession session)
    {
        if (tab.IsDead)
        {
            return false;
        }

        _connections[session.Id] = session;
        Interlocked.Increment(ref _connectionCount);

        // The tab's end may have swept the connections just before the add: then nobody else ends this one.
        if (tab.IsDead && _connections.TryRemove(session.Id, out _))
        {
            Interlocked.Decrement(ref _connectionCount);
            return false;
        }

        return true;
    }

    public void Detach(TcpSession session)
    {
        if (_connections.TryRemove(session.Id, out _))
        {
            Interlocked.Decrement(ref _connectionCount);
        }
    }

    /// <summary>The tab ended: every connection on it ends, every streamed body fails.</summary>
    public void OnTabEnded()
    {
        foreach (var (id, session) in _connections)
        {
            if (_connections.TryRemove(id, out _))
            {
                Interlocked.Decrement(ref _connectionCount);
                session.OnTabLost();
            }
        }

        foreach (var (id, stream) in _streams)
        {
            if (_streams.TryRemove(id, out _))
            {
                stream.TryComplete(new InvalidOperationException("The tab ended while streaming the response body."));
            }
        }
    }
}
