using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using System.Text.Unicode;
using LeanProxy.Buffers;

namespace LeanProxy.Listener.WebSockets;

/// <summary>
/// The server's side of one WebSocket session (RFC 6455) over an upgraded connection: whole messages in, whole
/// messages out. Fragmented messages are put together (control frames may come between their fragments), pings are
/// answered with pongs, text is checked to be UTF-8, a message longer than the limit closes the session with 1009 and a
/// protocol error with 1002. Receiving is one loop's (one caller at a time); sending may come from any thread.
/// </summary>
public sealed class WebSocketConnection : IAsyncDisposable
{
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly long _maxMessageBytes;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly byte[] _control = new byte[125];
    private int _closeSent;
    private int _disposed;

    public WebSocketConnection(IDuplexPipe transport, long maxMessageBytes, string? subProtocol = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _input = transport.Input;
        _output = transport.Output;
        _maxMessageBytes = maxMessageBytes;
        SubProtocol = subProtocol;
    }

    /// <summary>The subprotocol agreed in the handshake, or null.</summary>
    public string? SubProtocol { get; }

    /// <summary>Once the session is over: the code the peer closed with (or 1005/1006), or the one this side closed with.</summary>
    public int? CloseStatus { get; private set; }

    /// <summary>The reason that went with <see cref="CloseStatus"/>.</summary>
    public string CloseReason { get; private set; } = string.Empty;

    /// <summary>Whether this side has sent its close frame (nothing more can be sent).</summary>
    public bool IsCloseSent => Volatile.Read(ref _closeSent) != 0;

    /// <summary>
    /// Reads the next whole message into <paramref name="message"/> (appended); returns its type, or
    /// <see cref="WebSocketMessageType.Close"/> once the session is over (<see cref="CloseStatus"/> says why; a close
    /// frame from the peer was answered, a protocol error was told to the peer with its code).
    /// </summary>
    public async ValueTask<WebSocketMessageType> ReceiveAsync(PooledBuffer message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var type = WebSocketOpcode.Continuation;
        var start = message.WrittenCount;
        try
        {
            while (true)
            {
                var header = await ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
                if (header is not { } frame)
                {
                    Ended(WebSocketCloseStatus.Abnormal, "The connection ended without a close frame.");
                    return WebSocketMessageType.Close;
                }

                if (frame.IsControl)
                {
                    if (await OnControlFrameAsync(frame, cancellationToken).ConfigureAwait(false))
                    {
                        return WebSocketMessageType.Close;
                    }

                    continue;
                }

                if (frame.Opcode == WebSocketOpcode.Continuation ? type == WebSocketOpcode.Continuation : type != WebSocketOpcode.Continuation)
                {
                    throw new WebSocketProtocolException(WebSocketCloseStatus.ProtocolError, type == WebSocketOpcode.Continuation
                        ? "A continuation frame came with no message to continue."
                        : "A new message began before the fragmented one before it ended.");
                }

                if (frame.Opcode != WebSocketOpcode.Continuation)
                {
                    type = frame.Opcode;
                }

                if (message.WrittenCount - start + frame.PayloadLength > _maxMessageBytes)
                {
                    throw new WebSocketProtocolException(WebSocketCloseStatus.MessageTooBig,
                        $"A message is longer than {_maxMessageBytes} bytes.");
                }

                if (!await ReadPayloadAsync(frame, message, cancellationToken).ConfigureAwait(false))
                {
                    Ended(WebSocketCloseStatus.Abnormal, "The connection ended in the middle of a frame.");
                    return WebSocketMessageType.Close;
                }

                if (frame.Fin)
                {
                    if (type == WebSocketOpcode.Text && !Utf8.IsValid(message.WrittenSpan[start..]))
                    {
                        throw new WebSocketProtocolException(WebSocketCloseStatus.InvalidPayload, "A text message is not valid UTF-8.");
                    }

                    return type == WebSocketOpcode.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
                }
            }
        }
        catch (WebSocketProtocolException ex)
        {
            await TrySendCloseAsync(ex.CloseStatus, ex.Message).ConfigureAwait(false);
            Ended(ex.CloseStatus, ex.Message);
            return WebSocketMessageType.Close;
        }
    }

    /// <summary>Sends one message (one frame). Throws <see cref="InvalidOperationException"/> once this side has closed.</summary>
    public ValueTask SendAsync(WebSocketMessageType type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        SendAsync(type, default, payload, cancellationToken);

    /// <summary>Sends one message made of <paramref name="prefix"/> then <paramref name="payload"/>, without copying them together first.</summary>
    public ValueTask SendAsync(WebSocketMessageType type, ReadOnlyMemory<byte> prefix, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        SendAsync(type, [prefix, payload], cancellationToken);

    /// <summary>Sends one message made of <paramref name="parts"/>, in order, without copying them together first.</summary>
    public async ValueTask SendAsync(WebSocketMessageType type, IReadOnlyList<ReadOnlyMemory<byte>> parts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (type == WebSocketMessageType.Close)
        {
            throw new ArgumentException("A close is sent with CloseAsync.", nameof(type));
        }

        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (IsCloseSent)
            {
                throw new InvalidOperationException("The WebSocket session is closing: nothing more can be sent.");
            }

            long length = 0;
            foreach (var part in parts)
            {
                length += part.Length;
            }

            var header = _output.GetSpan(10);
            _output.Advance(WebSocketFrameHeader.Write(header, fin: true, (WebSocketOpcode)type, length));
            foreach (var part in parts)
            {
                _output.Write(part.Span);
            }

            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Starts the close handshake (once): the peer's close frame then ends <see cref="ReceiveAsync"/>.</summary>
    public ValueTask CloseAsync(int status, string reason) => TrySendCloseAsync(status, reason);

    private async ValueTask<WebSocketFrameHeader?> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                _input.AdvanceTo(buffer.Start);
                throw new OperationCanceledException("The WebSocket's read was cancelled.");
            }

            WebSocketFrameHeader header;
            bool complete;
            try
            {
                complete = WebSocketFrameHeader.TryRead(buffer, out header);
            }
            catch (WebSocketProtocolException)
            {
                _input.AdvanceTo(buffer.End);
                throw;
            }

            if (complete)
            {
                _input.AdvanceTo(buffer.GetPosition(header.Length));
                return header;
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    /// <summary>Copies a frame's payload, unmasked, into <paramref name="destination"/> as it arrives; false when the connection ended first.</summary>
    private async ValueTask<bool> ReadPayloadAsync(WebSocketFrameHeader frame, IBufferWriter<byte> destination, CancellationToken cancellationToken)
    {
        long offset = 0;
        while (offset < frame.PayloadLength)
        {
            var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                _input.AdvanceTo(buffer.Start);
                throw new OperationCanceledException("The WebSocket's read was cancelled.");
            }

            var take = buffer.Slice(0, Math.Min(buffer.Length, frame.PayloadLength - offset));
            foreach (var segment in take)
            {
                var span = destination.GetSpan(segment.Length)[..segment.Length];
                segment.Span.CopyTo(span);
                WebSocketFrameHeader.Unmask(span, frame.MaskKey, offset);
                destination.Advance(segment.Length);
                offset += segment.Length;
            }

            _input.AdvanceTo(take.End);
            if (offset < frame.PayloadLength && result.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Handles a ping, pong or close; true when the session is over.</summary>
    private async ValueTask<bool> OnControlFrameAsync(WebSocketFrameHeader frame, CancellationToken cancellationToken)
    {
        var payload = new ControlBuffer(_control);
        if (!await ReadPayloadAsync(frame, payload, cancellationToken).ConfigureAwait(false))
        {
            Ended(WebSocketCloseStatus.Abnormal, "The connection ended in the middle of a frame.");
            return true;
        }

        var data = _control.AsMemory(0, payload.Written);
        switch (frame.Opcode)
        {
            case WebSocketOpcode.Ping:
                await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    if (!IsCloseSent)
                    {
                        WriteFrame(WebSocketOpcode.Pong, data.Span);
                        await FlushAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _sendLock.Release();
                }

                return false;
            case WebSocketOpcode.Pong:
                return false;
            default:
                var (status, reason) = ReadClosePayload(data.Span);
                await TrySendCloseAsync(status == WebSocketCloseStatus.NoStatus ? WebSocketCloseStatus.Normal : status, string.Empty).ConfigureAwait(false);
                Ended(status, reason);
                return true;
        }
    }

    private static (int Status, string Reason) ReadClosePayload(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return (WebSocketCloseStatus.NoStatus, string.Empty);
        }

        if (payload.Length == 1)
        {
            throw new WebSocketProtocolException(WebSocketCloseStatus.ProtocolError, "A close frame has a one-byte payload.");
        }

        var status = BinaryPrimitives.ReadUInt16BigEndian(payload);
        if (!WebSocketCloseStatus.IsValidOnTheWire(status))
        {
            throw new WebSocketProtocolException(WebSocketCloseStatus.ProtocolError, $"A close frame has the code {status}, which may not be sent.");
        }

        if (!Utf8.IsValid(payload[2..]))
        {
            throw new WebSocketProtocolException(WebSocketCloseStatus.InvalidPayload, "A close frame's reason is not valid UTF-8.");
        }

        return (status, Encoding.UTF8.GetString(payload[2..]));
    }

    private async ValueTask TrySendCloseAsync(int status, string reason)
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Interlocked.Exchange(ref _closeSent, 1) != 0)
            {
                return;
            }

            Span<byte> payload = stackalloc byte[125];
            BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)status);
            var length = 2 + Utf8Prefix(reason, payload[2..]);
            WriteFrame(WebSocketOpcode.Close, payload[..length]);
            await _output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
        {
            // The connection is gone already: there is nobody to tell.
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>As much of <paramref name="text"/> as fits, cut at a character boundary.</summary>
    private static int Utf8Prefix(string text, Span<byte> destination)
    {
        Utf8.FromUtf16(text, destination, out _, out var written, replaceInvalidSequences: true, isFinalBlock: true);
        return written;
    }

    /// <summary>A control frame (pong, close): its header and payload.</summary>
    private void WriteFrame(WebSocketOpcode opcode, ReadOnlySpan<byte> payload)
    {
        var header = _output.GetSpan(10);
        _output.Advance(WebSocketFrameHeader.Write(header, fin: true, opcode, payload.Length));
        if (!payload.IsEmpty)
        {
            _output.Write(payload);
        }
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var result = await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new IOException("The WebSocket peer stopped reading.");
        }
    }

    private void Ended(int status, string reason)
    {
        CloseStatus ??= status;
        if (CloseReason.Length == 0)
        {
            CloseReason = reason;
        }
    }

    /// <summary>Completes the connection's pipes (the upgrade's owner closes the socket).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _input.CompleteAsync().ConfigureAwait(false);
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _output.CompleteAsync().ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>A fixed 125-byte buffer for a control frame's payload.</summary>
    private sealed class ControlBuffer(byte[] buffer) : IBufferWriter<byte>
    {
        public int Written { get; private set; }

        public void Advance(int count) => Written += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => buffer.AsMemory(Written);

        public Span<byte> GetSpan(int sizeHint = 0) => buffer.AsSpan(Written);
    }
}
