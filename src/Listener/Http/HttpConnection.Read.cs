using LeanProxy.Buffers;
using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Listener.Http;

/// <summary>Reading a request: its head (with its deadlines) and its body, by Content-Length or chunked.</summary>
internal sealed partial class HttpConnection
{
    /// <summary>Reads until a whole head is parsed; null when the connection should close quietly.</summary>
    private async ValueTask<RequestFraming?> ReadHeadAsync(bool first, CancellationToken cancellationToken)
    {
        var waitingForFirstByte = true;
        var mayTryRead = true;
        while (true)
        {
            // TryRead only once: after a partial head, ReadAsync (which honours "examined") waits for new bytes.
            ReadResult result = default;
            if (!(mayTryRead && _reader.TryRead(out result)))
            {
                // Nothing buffered: whatever we wrote must reach the client before we wait.
                if (_unflushed)
                {
                    await FlushAsync(cancellationToken).ConfigureAwait(false);
                }

                if (waitingForFirstByte)
                {
                    _context.SetTimeout(TimeoutKind.KeepAlive, first ? options.HeadersTimeout : options.KeepAliveTimeout);
                    _context.Idle = true;
                    if (_context.StopRequested)
                    {
                        return null;
                    }
                }

                result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                _context.Idle = false;
            }

            mayTryRead = false;

            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                _reader.AdvanceTo(buffer.Start, buffer.End);
                var expired = _context.Expired;
                if (expired == TimeoutKind.Headers)
                {
                    ListenerLog.Timeout(logger, connection.Id, expired);
                    BadHttpRequestException.Throw(RequestRejectionReason.HeadersTimeout);
                }

                if (expired != TimeoutKind.None || _context.StopRequested)
                {
                    ListenerLog.Timeout(logger, connection.Id, expired);
                    return null;
                }

                continue;
            }

            bool parsed;
            SequencePosition headEnd;
            RequestFraming framing;
            try
            {
                parsed = HttpParser.TryParseHead(buffer, _request, options, out headEnd, out framing);
            }
            catch (BadHttpRequestException)
            {
                _reader.AdvanceTo(buffer.End);
                throw;
            }

            if (parsed)
            {
                _reader.AdvanceTo(headEnd);
                _context.ClearTimeout();
                return framing;
            }

            if (result.IsCompleted)
            {
                if (!buffer.IsEmpty)
                {
                    ListenerLog.IncompleteRequest(logger, connection.Id);
                }

                _reader.AdvanceTo(buffer.End);
                return null;
            }

            if (waitingForFirstByte && !buffer.IsEmpty)
            {
                // The first bytes of a request: from now on the client has HeadersTimeout to finish the head.
                waitingForFirstByte = false;
                _context.SetTimeout(TimeoutKind.Headers, options.HeadersTimeout);
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async ValueTask ReadContentLengthBodyAsync(long length, CancellationToken cancellationToken)
    {
        var remaining = length;
        while (remaining > 0)
        {
            var result = await ReadBodyAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var take = Math.Min(remaining, buffer.Length);
            foreach (var segment in buffer.Slice(0, take))
            {
                _body.Write(segment.Span);
            }

            remaining -= take;
            _reader.AdvanceTo(buffer.GetPosition(take));
            if (remaining > 0 && result.IsCompleted)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.UnexpectedEndOfBody);
            }
        }
    }

    private async ValueTask ReadChunkedBodyAsync(CancellationToken cancellationToken)
    {
        var decoder = default(ChunkedBodyDecoder);
        while (true)
        {
            var result = await ReadBodyAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            bool done;
            try
            {
                done = decoder.TryDecode(ref reader, _body, options);
            }
            catch (BadHttpRequestException)
            {
                _reader.AdvanceTo(buffer.End);
                throw;
            }

            if (done)
            {
                _reader.AdvanceTo(reader.Position);
                return;
            }

            _reader.AdvanceTo(reader.Position, buffer.End);
            if (result.IsCompleted)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.UnexpectedEndOfBody);
            }
        }
    }

    private async ValueTask<ReadResult> ReadBodyAsync(CancellationToken cancellationToken)
    {
        // Always ReadAsync: it honours "examined", so a partial chunk line waits for new bytes instead of spinning.
        _context.SetTimeout(TimeoutKind.Body, options.BodyStallTimeout);
        var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        _context.ClearTimeout();
        if (result.IsCanceled)
        {
            _reader.AdvanceTo(result.Buffer.Start);
            ListenerLog.Timeout(logger, connection.Id, TimeoutKind.Body);
            BadHttpRequestException.Throw(RequestRejectionReason.BodyTimeout);
        }

        return result;
    }
}
