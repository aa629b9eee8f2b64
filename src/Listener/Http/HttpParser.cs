using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace LeanProxy.Listener.Http;

/// <summary>
/// Stateless HTTP/1.1 request-head parser (RFC 9112). <c>false</c> means "need more bytes" and consumes nothing;
/// malformed or over-limit input throws <see cref="BadHttpRequestException"/> with a reason.
/// Limits are enforced while looking for the end of the head, so no input is ever buffered past them.
/// </summary>
internal static partial class HttpParser
{
    private const byte CR = (byte)'\r';
    private const byte LF = (byte)'\n';
    private const byte SP = (byte)' ';
    private const byte HT = (byte)'\t';

    /// <summary>Leading empty lines tolerated before a request line (RFC 9112 §2.2).</summary>
    private const int MaxLeadingEmptyLines = 4;

    private static readonly SearchValues<byte> Digits = SearchValues.Create("0123456789"u8);
    private static readonly SearchValues<byte> VersionChars = SearchValues.Create("0123456789."u8);
    private static readonly SearchValues<byte> SchemeChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."u8);

    private static readonly SearchValues<byte> TokenChars = SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>
    /// Parses one request head from the start of <paramref name="buffer"/> into <paramref name="request"/>.
    /// On success <paramref name="headEnd"/> is the position just after the blank line ending the head.
    /// </summary>
    public static bool TryParseHead(
        in ReadOnlySequence<byte> buffer,
        ProxyRequest request,
        HttpListenerOptions limits,
        out SequencePosition headEnd,
        out RequestFraming framing)
    {
        headEnd = buffer.Start;
        framing = default;
        if (buffer.IsEmpty)
        {
            return false;
        }

        var window = limits.MaxRequestLineBytes + limits.MaxHeaderBytes + (MaxLeadingEmptyLines * 2) + 4;
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> span;
            if (buffer.IsSingleSegment)
            {
                span = buffer.FirstSpan;
            }
            else
            {
                var length = (int)Math.Min(buffer.Length, window);
                rented = ArrayPool<byte>.Shared.Rent(length);
                buffer.Slice(0, length).CopyTo(rented);
                span = rented.AsSpan(0, length);
            }

            if (span.Length > window)
            {
                span = span[..window];
            }

            if (!TryFindHead(span, limits, out var start, out var length2))
            {
                return false;
            }

            var head = request.ResetHead(length2);
            span.Slice(start, length2).CopyTo(head);
            ParseHead(head, request, limits, out framing);
            headEnd = buffer.GetPosition(start + length2);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Finds the extent of the head (request line start to blank line end), checking line endings and limits.</summary>
    private static bool TryFindHead(ReadOnlySpan<byte> span, HttpListenerOptions limits, out int start, out int length)
    {
        start = 0;
        length = 0;

        // Tolerate a few empty lines before the request line (e.g. a client's stray CRLF after a body).
        for (var skipped = 0; ; skipped++)
        {
            if (span.Length - start < 2)
            {
                if (span.Length - start == 1 && span[start] == LF)
                {
                    BadHttpRequestException.Throw(RequestRejectionReason.BareLineFeed);
                }

                return false;
            }

            if (span[start] == CR && span[start + 1] == LF && skipped < MaxLeadingEmptyLines)
            {
                start += 2;
                continue;
            }

            if (span[start] == LF)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.BareLineFeed);
            }

            break;
        }

        var lineStart = start;
        var lineNumber = 0;
        var headersStart = -1;
        while (true)
        {
            var lf = span[lineStart..].IndexOf(LF);
            if (lf < 0)
            {
                var pending = span.Length - lineStart;
                if (lineNumber == 0)
                {
                    // "+ 1": the CR of a line exactly at the limit may already be here.
                    if (pending > limits.MaxRequestLineBytes + 1)
                    {
                        BadHttpRequestException.Throw(RequestRejectionReason.RequestLineTooLong);
                    }
                }
                else if (span.Length - headersStart > limits.MaxHeaderBytes)
                {
                    BadHttpRequestException.Throw(RequestRejectionReason.HeadersTooLarge);
                }

                return false;
            }

            lf += lineStart;
            if (lf == lineStart || span[lf - 1] != CR)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.BareLineFeed);
            }

            var lineLength = lf - 1 - lineStart;
            if (lineNumber == 0)
            {
                if (lineLength > limits.MaxRequestLineBytes)
                {
                    BadHttpRequestException.Throw(RequestRejectionReason.RequestLineTooLong);
                }

                headersStart = lf + 1;
            }
            else
            {
                if (lf + 1 - headersStart > limits.MaxHeaderBytes)
                {
                    BadHttpRequestException.Throw(RequestRejectionReason.HeadersTooLarge);
                }

                if (lineLength == 0)
                {
                    length = lf + 1 - start;
                    return true;
                }

                if (lineNumber > limits.MaxHeaderCount)
                {
                    BadHttpRequestException.Throw(RequestRejectionReason.TooManyHeaders);
                }
            }

            lineNumber++;
            lineStart = lf + 1;
        }
    }

    private static void ParseHead(ReadOnlySpan<byte> head, ProxyRequest request, HttpListenerOptions limits, out RequestFraming framing)
    {
        framing = default;
        var lineEnd = head.IndexOf(CR);
        ThrowIfBareCr(head, lineEnd);
        ParseRequestLine(head[..lineEnd], request);

        var hostCount = 0;
        var contentLength = -1L;
        var chunked = false;
        var sawTransferEncoding = false;
        var connectionClose = false;
        var connectionKeepAlive = false;

        var position = lineEnd + 2;
        while (true)
        {
            var relativeEnd = head[position..].IndexOf(CR);
            ThrowIfBareCr(head, position + relativeEnd);
            var line = head.Slice(position, relativeEnd);
            if (line.IsEmpty)
            {
                break;
            }

            if (line[0] is SP or HT)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.ObsoleteLineFolding);
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidHeaderName, "no field name or no colon");
            }

            var name = line[..colon];
            var invalid = name.IndexOfAnyExcept(TokenChars);
            if (invalid >= 0)
            {
                BadHttpRequestException.Throw(
                    name[invalid] is SP or HT ? RequestRejectionReason.WhitespaceBeforeColon : RequestRejectionReason.InvalidHeaderName);
            }

            var valueStart = colon + 1;
            var valueEnd = line.Length;
            while (valueStart < valueEnd && line[valueStart] is SP or HT)
            {
                valueStart++;
            }

            while (valueEnd > valueStart && line[valueEnd - 1] is SP or HT)
            {
                valueEnd--;
            }

            var value = line[valueStart..valueEnd];
            if (ContainsControl(value))
            {
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidCharacter, "control character in a field value");
            }

            var nameSlice = new ProxyRequest.Slice(position, colon);
            var valueSlice = new ProxyRequest.Slice(position + valueStart, valueEnd - valueStart);
            var index = request.HeaderCount;
            request.AddHeader(nameSlice, valueSlice);

            switch (KnownHeader(name))
            {
                case Known.Host:
                    hostCount++;
                    request.HostIndex = index;
                    break;
                case Known.ContentLength:
                    var parsed = ParseContentLength(value);
                    if (contentLength >= 0 && contentLength != parsed)
                    {
                        BadHttpRequestException.Throw(RequestRejectionReason.ConflictingContentLength);
                    }

                    contentLength = parsed;
                    break;
                case Known.TransferEncoding:
                    sawTransferEncoding = true;
                    ParseTransferEncoding(value, ref chunked);
                    break;
                case Known.Connection:
                    ParseConnection(value, ref connectionClose, ref connectionKeepAlive);
                    break;
                case Known.Expect:
                    if (Ascii.EqualsIgnoreCase(value, "100-continue"u8))
                    {
                        framing.ExpectContinue = true;
                    }

                    break;
            }

            position += relativeEnd + 2;
        }

        if (request.Version == HttpVersion.Http11)
        {
            if (hostCount == 0)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.MissingHost);
            }

            framing.KeepAlive = !connectionClose;
        }
        else
        {
            framing.KeepAlive = connectionKeepAlive && !connectionClose;
        }

        if (hostCount > 1)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.MultipleHost);
        }

        if (sawTransferEncoding)
        {
            if (contentLength >= 0)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.ContentLengthWithTransferEncoding);
            }

            if (request.Version == HttpVersion.Http10)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidTransferEncoding, "Transfer-Encoding in an HTTP/1.0 request");
            }

            if (!chunked)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidTransferEncoding, "chunked is not the final coding");
            }

            framing.Body = BodyKind.Chunked;
        }
        else if (contentLength > 0)
        {
            if (contentLength > limits.MaxBodyBytes)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.BodyTooLarge);
            }

            framing.Body = BodyKind.ContentLength;
            framing.ContentLength = contentLength;
        }

        request.KeepAlive = framing.KeepAlive;
    }
}
