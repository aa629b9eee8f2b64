namespace LeanProxy.Listener.Http;

/// <summary>Why a request was refused before it reached the engine. Mapped to a status code in one place.</summary>
public enum RequestRejectionReason
{
    InvalidRequestLine,
    InvalidMethod,
    InvalidRequestTarget,
    RequestLineTooLong,
    UnsupportedHttpVersion,
    InvalidHttpVersion,
    BareLineFeed,
    InvalidCharacter,
    ObsoleteLineFolding,
    WhitespaceBeforeColon,
    InvalidHeaderName,
    HeadersTooLarge,
    TooManyHeaders,
    MissingHost,
    MultipleHost,
    InvalidContentLength,
    ConflictingContentLength,
    ContentLengthWithTransferEncoding,
    UnsupportedTransferCoding,
    InvalidTransferEncoding,
    InvalidChunk,
    BodyTooLarge,
    UnexpectedEndOfBody,
    HeadersTimeout,
    BodyTimeout,
}
