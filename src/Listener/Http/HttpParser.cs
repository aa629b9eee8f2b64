using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;

namespace LeanProxy.Listener.Http;

/// <summary>
/// Stateless HTTP/1.1 request-head parser (RFC 9112). <c>false</c> means "need more bytes" and consumes nothing;
/// malformed or over-limit input throws <see cref="BadHttpRequestException"/> with a reason.
/// Limits are enforced while looking for the end of the head, so no input is ever buffered past them.
/// </summary>
public static class HttpParser
{
    private const byte CR = (byte)'\r';
    private const byte LF = (byte)'\n';
    private const byte SP = (byte)' ';
    private const byte HT = (byte)'\t';

    /// <summary>Leading empty lines tolerated before a request line (RFC 9112 §2.2).</summary>
    private const int MaxLeadingEmptyLines = 4;

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

    /// <summary>Every CR in a head must start a CRLF; a CR followed by anything else is malformed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ThrowIfBareCr(ReadOnlySpan<byte> head, int cr)
    {
        if (cr + 1 >= head.Length || head[cr + 1] != LF)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidCharacter, "bare CR");
        }
    }

    private static void ParseRequestLine(ReadOnlySpan<byte> line, ProxyRequest request)
    {
        var firstSpace = line.IndexOf(SP);
        if (firstSpace <= 0)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidRequestLine);
        }

        var method = line[..firstSpace];
        if (method.IndexOfAnyExcept(TokenChars) >= 0)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidMethod);
        }

        var rest = line[(firstSpace + 1)..];
        var secondSpace = rest.IndexOf(SP);
        if (secondSpace <= 0)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidRequestLine);
        }

        var target = rest[..secondSpace];
        var version = rest[(secondSpace + 1)..];

        // Version first: an HTTP/2 preface ("PRI * HTTP/2.0") must get 505, not a target error.
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            request.Version = HttpVersion.Http11;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            request.Version = HttpVersion.Http10;
        }
        else if (version.StartsWith("HTTP/"u8) && version.Length > 5 && version[5..].IndexOfAnyExcept("0123456789."u8) < 0)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.UnsupportedHttpVersion);
        }
        else
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidHttpVersion);
        }

        (request.KnownMethod, request.Method) = ParseMethod(method);

        for (var i = 0; i < target.Length; i++)
        {
            if (target[i] is <= 0x20 or >= 0x7F)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidRequestTarget, "invalid character");
            }
        }

        var valid = target[0] switch
        {
            (byte)'/' => true,
            (byte)'*' => target.Length == 1 && request.KnownMethod == HttpMethod.Options,
            _ when request.KnownMethod == HttpMethod.Connect => target.IndexOf((byte)':') > 0,
            _ => IsAbsoluteForm(target),
        };
        if (!valid)
        {
            BadHttpRequestException.Throw(RequestRejectionReason.InvalidRequestTarget);
        }

        var offset = firstSpace + 1;
        request.TargetRange = new ProxyRequest.Slice(offset, target.Length);
    }

    private static bool IsAbsoluteForm(ReadOnlySpan<byte> target)
    {
        var colon = target.IndexOf("://"u8);
        if (colon <= 0 || !char.IsAsciiLetter((char)target[0]))
        {
            return false;
        }

        return target[..colon].IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."u8) < 0
            && target.Length > colon + 3;
    }

    private static (HttpMethod, string) ParseMethod(ReadOnlySpan<byte> method) => method.Length switch
    {
        3 when method.SequenceEqual("GET"u8) => (HttpMethod.Get, HttpMethods.Get),
        3 when method.SequenceEqual("PUT"u8) => (HttpMethod.Put, HttpMethods.Put),
        4 when method.SequenceEqual("POST"u8) => (HttpMethod.Post, HttpMethods.Post),
        4 when method.SequenceEqual("HEAD"u8) => (HttpMethod.Head, HttpMethods.Head),
        5 when method.SequenceEqual("PATCH"u8) => (HttpMethod.Patch, HttpMethods.Patch),
        5 when method.SequenceEqual("TRACE"u8) => (HttpMethod.Trace, HttpMethods.Trace),
        6 when method.SequenceEqual("DELETE"u8) => (HttpMethod.Delete, HttpMethods.Delete),
        7 when method.SequenceEqual("OPTIONS"u8) => (HttpMethod.Options, HttpMethods.Options),
        7 when method.SequenceEqual("CONNECT"u8) => (HttpMethod.Connect, HttpMethods.Connect),
        _ => (HttpMethod.Custom, Encoding.ASCII.GetString(method)),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool ContainsControl(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            if ((b < 0x20 && b != HT) || b == 0x7F)
            {
                return true;
            }
        }

        return false;
    }

    private static long ParseContentLength(ReadOnlySpan<byte> value)
    {
        // RFC 9110 §8.6: a list of identical values may be accepted; anything else is an error.
        var result = -1L;
        foreach (var range in value.Split((byte)','))
        {
            var item = value[range].Trim(" \t"u8);
            long parsed = 0;
            if (item.IsEmpty || item.IndexOfAnyExcept("0123456789"u8) >= 0
                || !Utf8Parser.TryParse(item, out parsed, out var consumed) || consumed != item.Length)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidContentLength);
            }

            if (result >= 0 && result != parsed)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.ConflictingContentLength);
            }

            result = parsed;
        }

        return result;
    }

    private static void ParseTransferEncoding(ReadOnlySpan<byte> value, ref bool chunked)
    {
        foreach (var range in value.Split((byte)','))
        {
            var coding = value[range].Trim(" \t"u8);
            var semicolon = coding.IndexOf((byte)';');
            if (semicolon >= 0)
            {
                coding = coding[..semicolon].TrimEnd(" \t"u8);
            }

            if (coding.IsEmpty || coding.IndexOfAnyExcept(TokenChars) >= 0)
            {
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidTransferEncoding);
            }

            if (chunked)
            {
                // Something after "chunked" (or chunked twice): the body length cannot be determined.
                BadHttpRequestException.Throw(RequestRejectionReason.InvalidTransferEncoding, "chunked is not the final coding");
            }

            if (Ascii.EqualsIgnoreCase(coding, "chunked"u8))
            {
                chunked = true;
            }
            else
            {
                BadHttpRequestException.Throw(RequestRejectionReason.UnsupportedTransferCoding, Encoding.ASCII.GetString(coding));
            }
        }
    }

    private static void ParseConnection(ReadOnlySpan<byte> value, ref bool close, ref bool keepAlive)
    {
        foreach (var range in value.Split((byte)','))
        {
            var option = value[range].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(option, "close"u8))
            {
                close = true;
            }
            else if (Ascii.EqualsIgnoreCase(option, "keep-alive"u8))
            {
                keepAlive = true;
            }
        }
    }

    private enum Known : byte
    {
        Other,
        Host,
        ContentLength,
        TransferEncoding,
        Connection,
        Expect,
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Known KnownHeader(ReadOnlySpan<byte> name) => name.Length switch
    {
        4 when Ascii.EqualsIgnoreCase(name, "host"u8) => Known.Host,
        6 when Ascii.EqualsIgnoreCase(name, "expect"u8) => Known.Expect,
        10 when Ascii.EqualsIgnoreCase(name, "connection"u8) => Known.Connection,
        14 when Ascii.EqualsIgnoreCase(name, "content-length"u8) => Known.ContentLength,
        17 when Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8) => Known.TransferEncoding,
        _ => Known.Other,
    };
}
