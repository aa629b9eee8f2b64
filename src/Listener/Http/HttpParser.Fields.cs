using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;

namespace LeanProxy.Listener.Http;

/// <summary>The parts of a head: the request line, the method, and the values of the headers the parser acts on.</summary>
internal static partial class HttpParser
{
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
        else if (version.StartsWith("HTTP/"u8) && version.Length > 5 && version[5..].IndexOfAnyExcept(VersionChars) < 0)
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

        return target[..colon].IndexOfAnyExcept(SchemeChars) < 0
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
            if (item.IsEmpty || item.IndexOfAnyExcept(Digits) >= 0
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
