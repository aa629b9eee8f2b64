using System.Buffers;

namespace LeanProxy.Listener.Http;

/// <summary>
/// Incremental decoder of a chunked request body (RFC 9112 §7.1): chunk extensions are skipped, trailers are
/// read and dropped. State survives between reads; each call consumes what it can and says whether the body is done.
/// </summary>
internal struct ChunkedBodyDecoder
{
    private const int MaxChunkSizeLine = 4096;

    private State _state;
    private long _remaining;
    private long _total;
    private int _trailerBytes;

    private enum State : byte
    {
        Size,
        Data,
        DataEnd,
        Trailer,
        Done,
    }

    /// <summary>Decodes from <paramref name="reader"/> into <paramref name="body"/>; true when the final chunk and trailers are in.</summary>
    public bool TryDecode(ref SequenceReader<byte> reader, IBufferWriter<byte> body, HttpListenerOptions limits)
    {
        while (true)
        {
            switch (_state)
            {
                case State.Size:
                    if (!TryReadLine(ref reader, MaxChunkSizeLine, out var sizeLine))
                    {
                        return false;
                    }

                    _remaining = ParseChunkSize(sizeLine);
                    if (_total + _remaining > limits.MaxBodyBytes)
                    {
                        BadHttpRequestException.Throw(RequestRejectionReason.BodyTooLarge);
                    }

                    _total += _remaining;
                    _state = _remaining == 0 ? State.Trailer : State.Data;
                    break;

                case State.Data:
                    if (reader.End)
                    {
                        return false;
                    }

                    var take = (int)Math.Min(_remaining, reader.Remaining);
                    var chunk = reader.UnreadSequence.Slice(0, take);
                    foreach (var segment in chunk)
                    {
                        body.Write(segment.Span);
                    }

                    reader.Advance(take);
                    _remaining -= take;
                    if (_remaining == 0)
                    {
                        _state = State.DataEnd;
                    }

                    break;

                case State.DataEnd:
                    if (reader.Remaining < 2)
                    {
                        if (reader.Remaining == 1 && !reader.IsNext((byte)'\r'))
                        {
                            BadHttpRequestException.Throw(RequestRejectionReason.InvalidChunk, "chunk data not followed by CRLF");
                        }

                        return false;
                    }

                    if (!reader.IsNext("\r\n"u8, advancePast: true))
                    {
                        BadHttpRequestException.Throw(RequestRejectionReason.InvalidChunk, "chunk data not followed by CRLF");
                    }

                    _state = State.Size;
                    break;

                case State.Trailer:
                    var before = reader.Consumed;
                    if (!TryReadLine(ref reader, limits.MaxHeaderBytes - _trailerBytes, out var trailer))
                    {
                        return false;
                    }

                    _trailerBytes += (int)(reader.Consumed - before);
                    if (trailer.IsEmpty)
                    {
                        _state = State.Done;
                        return true;
                    }

                    ValidateTrailer(trailer);
                    break;

                case State.Done:
                    return true;
            }
        }
    }

    private static bool TryReadLine(ref SequenceReader<byte> reader, int maxLength, out ReadOnlySequence<byte> line)
    {
        if (!reader.TryReadTo(out line, (byte)'\n', advancePastDelimiter: true))
        {
            if (reader.Remaining > maxLength)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidChunk, "line too long");
            }

            return false;
        }

        if (line.Length > maxLength)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidChunk, "line too long");
        }

        if (line.IsEmpty || !EndsWithCr(line))
        {
            BadHttpRequestException.Throw(RequestRejectionReason.BareLineFeed);
        }

        line = line.Slice(0, line.Length - 1);
        if (line.PositionOf((byte)'\r') is not null)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidCharacter, "bare CR");
        }

        return true;
    }

    private static bool EndsWithCr(ReadOnlySequence<byte> line)
    {
        var last = line.Slice(line.Length - 1);
        return last.FirstSpan[0] == (byte)'\r';
    }

    private static long ParseChunkSize(ReadOnlySequence<byte> line)
    {
        Span<byte> buffer = stackalloc byte[MaxChunkSizeLine];
        var span = line.IsSingleSegment ? line.FirstSpan : CopyTo(line, buffer);
        var size = 0L;
        var digits = 0;
        var i = 0;
        for (; i < span.Length; i++)
        {
            var value = HexValue(span[i]);
            if (value < 0)
            {
                break;
            }

            if (++digits > 15)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidChunk, "chunk size too large");
            }

            size = (size << 4) | (uint)value;
        }

        if (digits == 0)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidChunk, "missing chunk size");
        }

        var rest = span[i..].TrimStart(" \t"u8);
        if (!rest.IsEmpty && rest[0] != (byte)';')
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidChunk, "invalid chunk size");
        }

        foreach (var b in rest)
        {
            if ((b < 0x20 && b != (byte)'\t') || b == 0x7F)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidCharacter, "control character in a chunk extension");
            }
        }

        return size;
    }

    private static void ValidateTrailer(ReadOnlySequence<byte> line)
    {
        Span<byte> first = stackalloc byte[1];
        line.Slice(0, 1).CopyTo(first);
        if (first[0] is (byte)' ' or (byte)'\t')
        {
            BadHttpRequestException.Throw(RequestRejectionReason.ObsoleteLineFolding);
        }

        if (line.PositionOf((byte)':') is null)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidHeaderName, "trailer without a colon");
        }
    }

    private static ReadOnlySpan<byte> CopyTo(ReadOnlySequence<byte> line, Span<byte> buffer)
    {
        line.CopyTo(buffer);
        return buffer[..(int)line.Length];
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
