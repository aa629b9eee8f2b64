using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Threading.Channels;
using LeanProxy.Listener.WebSockets;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.DataPlane;

/// <summary>
/// One tab's data plane: a WebSocket the page opened to its own page server, binary messages both ways, beside the CDP
/// control plane. A body (or any bytes a message carries) of <see cref="InlineMax"/> bytes or more travels here as one
/// binary message; the control message carries its number instead (<see cref="Protocol.BodyEncoding.Data"/>). Each
/// side numbers the messages it sends 1, 2, 3… (the socket keeps their order, so the number is never sent; the page
/// sends a string as a text message, whose UTF-8 the browser makes natively), and a
/// control payload that refers to data says the highest number it needs: the receiver holds that payload, and every
/// payload after it, until the data is there (<see cref="Run{TState}"/>). So a body never crosses CDP as escaped JSON
/// or base64, and the order of the tab's messages is kept whichever plane is faster.
/// </summary>
internal sealed partial class TabDataPlane : IAsyncDisposable
{
    /// <summary>Bytes from which a body goes on the data plane (below, it rides inline in its control message): where
    /// the plane began to win at 16 connections, measured (docs/PERFORMANCE.md, "The data plane").</summary>
    public const int DefaultInlineMax = 4096;

    /// <summary>The most one message may carry (a whole response body of the page's, say).</summary>
    public const long MaxMessageBytes = 256L * 1024 * 1024;

    /// <summary>What the page may have sent and not yet referred to; beyond it the page misbehaves and the plane closes.</summary>
    private const long MaxUnclaimedBytes = 256L * 1024 * 1024;

    private readonly ILogger _logger;
    private readonly string _app;
    private readonly int _tabIndex;
    private readonly Action<string> _lost;
    private List<Part>? _pending;
    private readonly Queue<int> _announced = new(); // lengths of the page's parts announced to come as messages of their own
    private readonly Channel<Outgoing> _outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<long, byte[]> _received = new();
    private readonly Queue<Waiting> _waiting = new();
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Prometheus.Counter.Child _bytesToPage;
    private readonly Prometheus.Counter.Child _bytesFromPage;
    private WebSocketConnection? _socket;
    private long _sent;
    private long _receivedCount;
    private long _unclaimedBytes;
    private bool _running;
    private int _state; // 0 not attached, 1 open, 2 closed

    public TabDataPlane(string app, int tabIndex, ILogger logger, Action<string> lost, int inlineMax = DefaultInlineMax)
    {
        _app = app;
        _tabIndex = tabIndex;
        _logger = logger;
        _lost = lost;
        InlineMax = inlineMax;
        _bytesToPage = Metrics.EngineMetrics.DataPlaneBytes.WithLabels(app, "to_page");
        _bytesFromPage = Metrics.EngineMetrics.DataPlaneBytes.WithLabels(app, "from_page");
        // Two version-4 GUIDs: 244 bits from the system's CSPRNG, without loading OpenSSL into the host.
        Token = Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N");
    }

    /// <summary>The unguessable name of this tab's endpoint on its page server (one connection, once).</summary>
    public string Token { get; }

    public int InlineMax { get; }

    /// <summary>Completes when the page's socket is attached.</summary>
    public Task Opened => _opened.Task;

    /// <summary>The page's socket is attached: bytes may go here.</summary>
    public bool IsOpen => Volatile.Read(ref _state) == 1;

    /// <summary>Whether <paramref name="length"/> bytes go on the data plane rather than inline.</summary>
    public bool Carries(int length) => length >= InlineMax && IsOpen;

    /// <summary>
    /// Adds bytes to the message the page gets at the next <see cref="Flush"/> (copied: the caller's buffer may be
    /// reused at once); returns their number for the control message. One writer at a time (the tab's batch writer).
    /// </summary>
    public long Send(ReadOnlySpan<byte> data)
    {
        var copy = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(copy);
        (_pending ??= []).Add(new Part(copy, data.Length));
        _bytesToPage.Inc(data.Length);
        return Interlocked.Increment(ref _sent);
    }

    /// <summary>
    /// Sends what <see cref="Send"/> gathered as one binary message: <c>[count u32][length u32 × count][bytes…]</c>
    /// (little-endian), so that a batch's bodies cost the page one message, not one each.
    /// </summary>
    public void Flush()
    {
        if (_pending is not { Count: > 0 } parts)
        {
            return;
        }

        _pending = null;
        var header = ArrayPool<byte>.Shared.Rent(4 + (4 * parts.Count));
        BinaryPrimitives.WriteInt32LittleEndian(header, parts.Count);
        for (var i = 0; i < parts.Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4 + (4 * i)), parts[i].Length);
        }

        parts.Insert(0, new Part(header, 4 + (4 * parts.Count)));
        if (!_outgoing.Writer.TryWrite(new Outgoing(parts)))
        {
            Return(parts);
        }
    }

    private static void Return(List<Part> parts)
    {
        foreach (var part in parts)
        {
            ArrayPool<byte>.Shared.Return(part.Buffer);
        }
    }

    /// <summary>The bytes the page sent as its message <paramref name="number"/> (once).</summary>
    public byte[] Take(long number)
    {
        if (!_received.TryRemove(number, out var data))
        {
            throw new FormatException($"The page referred to data-plane message {number}, which it did not send or which was taken already.");
        }

        Interlocked.Add(ref _unclaimedBytes, -data.Length);
        return data;
    }

    /// <summary>
    /// A payload that may start with the page's data-plane messages it needs (<c>N;[...]</c>): <paramref name="action"/>
    /// gets the rest of it once they are there (see <see cref="Run{TState}"/>).
    /// </summary>
    public void RunHeld<TState>(ReadOnlyMemory<byte> payload, TState state, Action<TState, ReadOnlyMemory<byte>> action)
    {
        var span = payload.Span;
        var need = Protocol.PageMessageReader.ReadNeed(ref span);
        Run(need, (state, payload[(payload.Length - span.Length)..], action), static held => held.action(held.state, held.Item2));
    }

    /// <summary>
    /// Runs <paramref name="action"/> once the page's message <paramref name="need"/> has arrived and everything held
    /// before it has run: at once (on this thread) in the common case, else on the thread the data arrives on.
    /// </summary>
    public void Run<TState>(long need, TState state, Action<TState> action)
    {
        lock (_gate)
        {
            if (_running || _waiting.Count > 0 || Volatile.Read(ref _receivedCount) < need)
            {
                if (Volatile.Read(ref _state) == 2)
                {
                    return; // closed: the tab is being given up, its answers with it
                }

                _waiting.Enqueue(new Waiting(need, () => action(state)));
                return;
            }

            _running = true;
        }

        try
        {
            action(state);
        }
        finally
        {
            lock (_gate)
            {
                _running = false;
            }

            Drain();
        }
    }

    /// <summary>Runs what was held, in order, while its data is there.</summary>
    private void Drain()
    {
        while (true)
        {
            Waiting next;
            lock (_gate)
            {
                if (_running || _waiting.Count == 0 || _waiting.Peek().Need > Volatile.Read(ref _receivedCount))
                {
                    return;
                }

                next = _waiting.Dequeue();
                _running = true;
            }

            try
            {
                next.Run();
            }
            catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or InvalidOperationException)
            {
                EngineLog.HeldPayloadFailed(_logger, _app, _tabIndex, ex);
            }
            finally
            {
                lock (_gate)
                {
                    _running = false;
                }
            }
        }
    }

    /// <summary>Ends the plane (once). While the tab lives that is its loss: what it was given or announced may be cut.</summary>
    private void Close(string reason)
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
        {
            return;
        }

        _outgoing.Writer.TryComplete();
        while (_outgoing.Reader.TryRead(out var message))
        {
            Return(message.Parts);
        }

        int held;
        lock (_gate)
        {
            held = _waiting.Count;
            _waiting.Clear();
        }

        _received.Clear();
        EngineLog.DataPlaneClosed(_logger, _app, _tabIndex, reason, held);
        _lost(reason);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
        {
            return;
        }

        _outgoing.Writer.TryComplete();
        lock (_gate)
        {
            _waiting.Clear();
        }

        if (_socket is { } socket)
        {
            await socket.CloseAsync(WebSocketCloseStatus.GoingAway, "the tab is closing").ConfigureAwait(false);
        }
    }

    private readonly record struct Part(byte[] Buffer, int Length);

    private readonly record struct Outgoing(List<Part> Parts);

    private readonly record struct Waiting(long Need, Action Run);
}
