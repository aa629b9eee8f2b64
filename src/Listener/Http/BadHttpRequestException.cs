using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace LeanProxy.Listener.Http;

/// <summary>Malformed or refused input: carries the reason and the status code the client gets.</summary>
public sealed class BadHttpRequestException : Exception
{
    private BadHttpRequestException(RequestRejectionReason reason, string message)
        : base(message)
    {
        Reason = reason;
        StatusCode = StatusFor(reason);
    }

    public RequestRejectionReason Reason { get; }

    public int StatusCode { get; }

    /// <summary>The one place where a rejection becomes a status code.</summary>
    public static int StatusFor(RequestRejectionReason reason) => reason switch
    {
        RequestRejectionReason.RequestLineTooLong => 414,
        RequestRejectionReason.HeadersTooLarge or RequestRejectionReason.TooManyHeaders => 431,
        RequestRejectionReason.BodyTooLarge => 413,
        RequestRejectionReason.UnsupportedHttpVersion => 505,
        RequestRejectionReason.UnsupportedTransferCoding => 501,
        RequestRejectionReason.HeadersTimeout or RequestRejectionReason.BodyTimeout => 408,
        _ => 400,
    };

    [DoesNotReturn]
    [StackTraceHidden]
    public static void Throw(RequestRejectionReason reason) => throw new BadHttpRequestException(reason, Describe(reason));

    [DoesNotReturn]
    [StackTraceHidden]
    public static void Throw(RequestRejectionReason reason, string detail) =>
        throw new BadHttpRequestException(reason, Describe(reason) + ": " + detail);

    public static string Describe(RequestRejectionReason reason) => reason switch
    {
        RequestRejectionReason.InvalidRequestLine => "Malformed request line",
        RequestRejectionReason.InvalidMethod => "Invalid method",
        RequestRejectionReason.InvalidRequestTarget => "Invalid request target",
        RequestRejectionReason.RequestLineTooLong => "Request line too long",
        RequestRejectionReason.UnsupportedHttpVersion => "HTTP version not supported",
        RequestRejectionReason.InvalidHttpVersion => "Malformed HTTP version",
        RequestRejectionReason.BareLineFeed => "Line not terminated by CRLF",
        RequestRejectionReason.InvalidCharacter => "Invalid character in request head",
        RequestRejectionReason.ObsoleteLineFolding => "Obsolete line folding is not allowed",
        RequestRejectionReason.WhitespaceBeforeColon => "Whitespace between header name and colon",
        RequestRejectionReason.InvalidHeaderName => "Invalid header name",
        RequestRejectionReason.HeadersTooLarge => "Request header fields too large",
        RequestRejectionReason.TooManyHeaders => "Too many header fields",
        RequestRejectionReason.MissingHost => "Missing Host header",
        RequestRejectionReason.MultipleHost => "More than one Host header",
        RequestRejectionReason.InvalidContentLength => "Invalid Content-Length",
        RequestRejectionReason.ConflictingContentLength => "Conflicting Content-Length values",
        RequestRejectionReason.ContentLengthWithTransferEncoding => "Both Content-Length and Transfer-Encoding",
        RequestRejectionReason.UnsupportedTransferCoding => "Transfer coding not implemented",
        RequestRejectionReason.InvalidTransferEncoding => "Invalid Transfer-Encoding",
        RequestRejectionReason.InvalidChunk => "Malformed chunked body",
        RequestRejectionReason.BodyTooLarge => "Request body too large",
        RequestRejectionReason.UnexpectedEndOfBody => "Connection closed before the body was complete",
        RequestRejectionReason.HeadersTimeout => "Request headers not received in time",
        RequestRejectionReason.BodyTimeout => "Request body not received in time",
        _ => reason.ToString(),
    };
}
