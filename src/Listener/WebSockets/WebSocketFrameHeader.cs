using System.Buffers;
using System.Buffers.Binary;

namespace LeanProxy.Listener.WebSockets;

/// <summary>
/// A frame's header (RFC 6455 §5.2), read statelessly: <see cref="TryRead"/> returns false and consumes nothing while the
/// header is incomplete, and throws <see cref="WebSocketProtocolException"/> for one this server never accepts (reserved
/// bits or opcodes, an unmasked client frame, a control frame that is fragmented or longer than 125 bytes, a 64-bit
/// length with its top bit set).
/// </summary>
internal readonly record struct WebSocketFrameHeader(bool Fin, WebSocketOpcode Opcode, uint MaskKey, long PayloadLength, int Length)
{
    public bool IsControl => ((byte)Opcode & 0x8) != 0;

    /// <summary>Reads a client frame's header from the start of <paramref name="buffer"/>.</summary>
    public static bool TryRead(ReadOnlySequence<byte> buffer, out WebSocketFrameHeader header)
    {
        header = default;
        if (buffer.Length < 2)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[14];
        var available = (int)Math.Min(buffer.Length, bytes.Length);
        buffer.Slice(0, available).CopyTo(bytes);
        var first = bytes[0];
        var second = bytes[1];
        if ((first & 0x70) != 0)
        {
            throw new WebSocketProtocolException(WebSocketCloseStatus.ProtocolError, "A frame has reserved bits set (no extension was agreed).");
        }

        var opcode = (WebSocketOpcode)(first & 0x0F);
        if (opcode is not (WebSocketOpcode.Continuation or WebSocketOpcode.Text or WebSocketOpcode.Binary or WebSocketOpcode.Close
            or WebSocketOpcode.Ping or WebSocketOpcode.Pong))
        {
            throw new WebSocketProtocolException(WebSocketCloseStatus.ProtocolError, $"A frame has the reserved opcode {(int)opcode}.");
        }

        if ((second & 0x80) == 0)
        {
            throw new WebSocketProtocolException(WebSocketCloseStatus.ProtocolError, "A client frame is not masked.");
        }

        var fin = (first & 0x80) != 0;
        long length = second & 0x7F;
        var headerLength = 2 + 4;
        if (length == 126)
        {
            headerLength += 2;
            if (available < headerLength)
            {
                return false;
            }

            length = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
        }
        else if (length == 127)
        {
            headerLength += 8;
            if (available < headerLength)
            {
                return false;
            }

            var wide = BinaryPrimitives.ReadUInt64BigEndian(bytes[2..]);
            if (wide > long.MaxValue)
            {
                throw new WebSocketProtocolException(WebSocketCloseStatus.ProtocolError, "A frame's 64-bit length has its most significant bit set.");
            }

            length = (long)wide;
        }
        else if (available < headerLength)
        {
            return false;
        }

        header = new WebSocketFrameHeader(fin, opcode, BinaryPrimitives.ReadUInt32LittleEndian(bytes[(headerLength - 4)..]), length, headerLength);
        if (header.IsControl && (!fin || length > 125))
        {
            throw new WebSocketProtocolException(WebSocketCloseStatus.ProtocolError, fin
                ? "A control frame is longer than 125 bytes."
                : "A control frame is fragmented.");
        }

        return true;
    }

    /// <summary>
    /// Writes a server frame's header (never masked) into <paramref name="destination"/>; returns its length (2, 4 or 10).
    /// </summary>
    public static int Write(Span<byte> destination, bool fin, WebSocketOpcode opcode, long payloadLength)
    {
        destination[0] = (byte)((fin ? 0x80 : 0) | (byte)opcode);
        if (payloadLength < 126)
        {
            destination[1] = (byte)payloadLength;
            return 2;
        }

        if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            return 4;
        }

        destination[1] = 127;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
        return 10;
    }

    /// <summary>XORs <paramref name="data"/> with the mask key, as if it started <paramref name="offset"/> bytes into the payload.</summary>
    public static void Unmask(Span<byte> data, uint maskKey, long offset)
    {
        // The key as it falls at this offset (little-endian: byte 0 of the key is the low byte), repeated to 64 bits.
        var shift = (int)(offset & 3) * 8;
        var rotated = shift == 0 ? maskKey : (maskKey >> shift) | (maskKey << (32 - shift));
        var wide = rotated | ((ulong)rotated << 32);
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            var value = BinaryPrimitives.ReadUInt64LittleEndian(data[i..]);
            BinaryPrimitives.WriteUInt64LittleEndian(data[i..], value ^ wide);
        }

        for (; i < data.Length; i++)
        {
            data[i] ^= (byte)(rotated >> (i & 3) * 8);
        }
    }
}
