using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Threading.Channels;
using LeanProxy.Listener.WebSockets;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.DataPlane;

/// <summary>The plane's socket: its receive loop (numbering the page's parts, framed or announced) and its send loop.</summary>
internal sealed partial class TabDataPlane
{
    /// <summary>The page's socket arrived at the endpoint: send and receive over it until it ends.</summary>
    public async Task RunAsync(WebSocketConnection socket, CancellationToken stopping)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            return;
        }

        _socket = socket;
        _opened.TrySetResult();
        EngineLog.DataPlaneOpened(_logger, _app, _tabIndex);
        var sending = SendLoopAsync(socket, stopping);
        string reason;
        try
        {
            reason = await ReceiveLoopAsync(socket, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            reason = ex.Message;
        }

        Close(reason);
        await sending.ConfigureAwait(false);
    }

    private async Task<string> ReceiveLoopAsync(WebSocketConnection socket, CancellationToken stopping)
    {
        using var message = new LeanProxy.Buffers.PooledBuffer();
        while (true)
        {
            message.Reset(keepAtMost: 1024 * 1024);
            var type = await socket.ReceiveAsync(message, stopping).ConfigureAwait(false);
            if (type == WebSocketMessageType.Close)
            {
                return $"the socket closed ({socket.CloseStatus}: {socket.CloseReason})";
            }

            // A text message is one string the page sent as its UTF-8 (checked by the socket); a binary one is framed
            // as the host's are: [count u32][length u32 × count][bytes…].
            var problem = type == WebSocketMessageType.Text
                ? Receive(message.WrittenSpan.ToArray()) ? null : TooMuch
                : ReceiveFramed(message.WrittenSpan);
            if (problem is not null)
            {
                await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, problem).ConfigureAwait(false);
                return "the page " + problem;
            }
        }
    }

    private const string TooMuch = "sent more data than it may without referring to it";

    /// <summary>
    /// Splits a framed message into its parts, each numbered in turn; what is wrong with it, or null. A frame of
    /// headers only announces its parts as the next binary messages, as they are (the page sends large bytes so).
    /// </summary>
    internal string? ReceiveFramed(ReadOnlySpan<byte> message)
    {
        if (_announced.Count > 0)
        {
            return message.Length == _announced.Dequeue() ? Receive(message.ToArray()) ? null : TooMuch
                : "sent a message of another length than it announced";
        }

        var count = message.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(message) : 0;
        if (count < 1 || count > (message.Length - 4) / 4)
        {
            return "sent a binary message whose frame is malformed";
        }

        var offset = 4 + (4 * count);
        if (message.Length == offset)
        {
            for (var i = 0; i < count; i++)
            {
                var announced = BinaryPrimitives.ReadInt32LittleEndian(message[(4 + (4 * i))..]);
                if (announced <= 0 || announced > MaxMessageBytes)
                {
                    return "announced a message of a length it may not send";
                }

                _announced.Enqueue(announced);
            }

            return null;
        }

        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(message[(4 + (4 * i))..]);
            if (length < 0 || length > message.Length - offset)
            {
                return "sent a binary message whose frame is malformed";
            }

            if (!Receive(message.Slice(offset, length).ToArray()))
            {
                return TooMuch;
            }

            offset += length;
        }

        return offset == message.Length ? null : "sent a binary message whose frame is malformed";
    }

    /// <summary>The page's next message arrived: it is kept until taken, and what waited for it runs. False when the
    /// page has sent more than it may without referring to it.</summary>
    internal bool Receive(byte[] data)
    {
        if (Interlocked.Add(ref _unclaimedBytes, data.Length) > MaxUnclaimedBytes)
        {
            return false;
        }

        _bytesFromPage.Inc(data.Length);
        _received[Interlocked.Increment(ref _receivedCount)] = data;
        Drain();
        return true;
    }

    private async Task SendLoopAsync(WebSocketConnection socket, CancellationToken stopping)
    {
        try
        {
            var memory = new List<ReadOnlyMemory<byte>>();
            await foreach (var message in _outgoing.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                try
                {
                    memory.Clear();
                    foreach (var part in message.Parts)
                    {
                        memory.Add(part.Buffer.AsMemory(0, part.Length));
                    }

                    await socket.SendAsync(WebSocketMessageType.Binary, memory, stopping).ConfigureAwait(false);
                }
                finally
                {
                    Return(message.Parts);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            Close("sending failed: " + ex.Message);
        }
    }
}
