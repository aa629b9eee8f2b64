namespace LeanProxy.Engine.Protocol;

// The page protocol: what the host sends a tab in a batch, and what the tab sends back (in the batch call's result or
// through the __lpDone binding). Every message is a JSON array whose first element is its kind and second its id
// (a request, datagram, connection or streamed body). The JavaScript side names the same numbers in
// Runtime/protocol.js; PageProtocolTests checks that both agree.

/// <summary>Host → page messages (element 0 of an item in <c>__lp.d([...])</c>).</summary>
internal enum HostMessageKind
{
    /// <summary><c>[1, id, method, url, [name, value, …], body, BodyEncoding, remoteAddress, remotePort]</c>: call <c>fetch</c>.</summary>
    Request = 1,

    /// <summary><c>[2, id, data, BodyEncoding, remoteAddress, remotePort]</c>: call <c>datagram</c>.</summary>
    Datagram = 2,

    /// <summary><c>[3, id, remoteAddress, remotePort]</c>: a connection opened; call <c>connect</c>.</summary>
    TcpOpen = 3,

    /// <summary><c>[4, id, data, BodyEncoding]</c>: bytes from the client (64 KiB at most).</summary>
    TcpData = 4,

    /// <summary><c>[5, id]</c>: the client shut down its send side: the readable ends.</summary>
    TcpEof = 5,

    /// <summary><c>[6, id]</c>: the connection is gone (reset, server stopping): the socket's streams error.</summary>
    TcpAbort = 6,

    /// <summary><c>[7, id, bytes]</c>: that many written bytes reached the socket: credit for the writable.</summary>
    TcpAck = 7,

    /// <summary><c>[8, id, bytes]</c>: the client's connection has taken that many bytes of a streamed body in all
    /// (cumulative, so sending it twice is harmless).</summary>
    StreamAck = 8,

    /// <summary><c>[9, id]</c>: the client's connection gave a streamed body up: the handler's stream is cancelled.</summary>
    StreamCancel = 9,

    /// <summary><c>[10, callId, ok, result]</c>: the answer to a KV call the page made through the <c>__lpKv</c> binding (see Runtime/kv.js).</summary>
    KvReply = 10,

    /// <summary><c>[11, 0, binding, key]</c>: a KV value changed; the page drops what it cached (null key: the binding; null binding: all).</summary>
    KvInvalidate = 11,

    /// <summary><c>[12, fetchId, status, statusText, [name, value, …], url, redirected]</c>: the answer to a subrequest the page
    /// asked for through the <c>__lpFetch</c> binding (see Runtime/subrequests.js); FetchChunk messages follow.</summary>
    FetchHead = 12,

    /// <summary><c>[13, fetchId, offset, data, BodyEncoding]</c>: a piece of its body; offset is the bytes before it (a repeat is skipped).</summary>
    FetchChunk = 13,

    /// <summary><c>[14, fetchId, total]</c>: its body ended after that many bytes.</summary>
    FetchEnd = 14,

    /// <summary><c>[15, fetchId, kind, message]</c>: it failed; kind is the JavaScript error the page throws (TypeError, AbortError, RangeError).</summary>
    FetchError = 15,

    /// <summary><c>[16, fetchId, taken]</c>: the origin's connection has taken that many bytes of a streamed request body in all
    /// (cumulative): the page may send up to a window beyond it.</summary>
    FetchCredit = 16,
}

/// <summary>The calls of the <c>__lpFetch</c> binding: the page's subrequests (Runtime/subrequests.js → <c>Fetch/FetchBinding</c>).</summary>
internal enum FetchCallKind
{
    /// <summary><c>[1, fetchId, method, url, [name, value, …], data, BodyEncoding, redirect, streamed]</c>: make it.</summary>
    Start = 1,

    /// <summary><c>[2, fetchId, taken]</c>: the answer's reader has taken that many bytes of its body in all.</summary>
    Taken = 2,

    /// <summary><c>[3, fetchId]</c>: give it up.</summary>
    Abort = 3,

    /// <summary><c>[4, fetchId, data, BodyEncoding]</c>: a piece of a request body the handler streams.</summary>
    Piece = 4,

    /// <summary><c>[5, fetchId]</c>: that body ended.</summary>
    End = 5,

    /// <summary><c>[6, fetchId, message]</c>: that body's stream failed.</summary>
    Fail = 6,
}

/// <summary>Page → host messages.</summary>
internal enum PageMessageKind
{
    /// <summary><c>[1, id, status, statusText, [name, value, …], body, BodyEncoding]</c>: a whole response.</summary>
    Response = 1,

    /// <summary><c>[2, id, status, statusText, [name, value, …]]</c>: the head of a streamed response; BodyChunk messages follow.</summary>
    ResponseHead = 2,

    /// <summary><c>[3, id, data, BodyEncoding]</c>: a piece of a streamed body.</summary>
    BodyChunk = 3,

    /// <summary><c>[4, id]</c>: the streamed body ended.</summary>
    BodyEnd = 4,

    /// <summary><c>[5, id, message]</c>: the streamed body failed midway.</summary>
    BodyError = 5,

    /// <summary><c>[6, id, HandlerFailure, message, stack]</c>: the handler of a request or datagram failed.</summary>
    HandlerError = 6,

    /// <summary><c>[7, id, data, BodyEncoding]</c>: a datagram's reply (possibly empty).</summary>
    DatagramReply = 7,

    /// <summary><c>[8, id]</c>: the datagram's handler returned nothing: no reply.</summary>
    DatagramNoReply = 8,

    /// <summary><c>[9, id, data, BodyEncoding]</c>: bytes the connection's handler wrote.</summary>
    TcpWrite = 9,

    /// <summary><c>[10, id, bytes]</c>: the page's readable handed that many bytes to the handler: credit for more.</summary>
    TcpAck = 10,

    /// <summary><c>[11, id]</c>: the handler closed the writable: shut the socket's send side once the writes before are out.</summary>
    TcpShutdownWrite = 11,

    /// <summary><c>[12, id]</c>: the connection is done: close it once the writes are out.</summary>
    TcpClose = 12,

    /// <summary><c>[13, id, message, stack]</c>: the connection's handler threw or rejected.</summary>
    TcpError = 13,

    /// <summary><c>[14, id, status, statusText, [name, value, …], fetchId]</c>: the handler answered with a subrequest's
    /// response, its body untouched: the host sends that body to the client itself (see Fetch/Subrequest.Forward).</summary>
    ResponseFromFetch = 14,
}

/// <summary>How bytes travel in a JSON string (Chromium escapes every non-ASCII character, so binary goes as base64).</summary>
internal enum BodyEncoding
{
    /// <summary>No body: the data element is null.</summary>
    None = 0,

    /// <summary>ASCII text, as is.</summary>
    Text = 1,

    /// <summary>Base64 of the bytes.</summary>
    Base64 = 2,

    /// <summary>The bytes went on the tab's data plane: the data element is the number of their message there
    /// (see <see cref="DataPlane.TabDataPlane"/>).</summary>
    Data = 3,
}

/// <summary>Why a handler produced no answer.</summary>
internal enum HandlerFailure
{
    /// <summary>It threw or its promise rejected.</summary>
    Threw = 1,

    /// <summary>It returned something that is not what its driver takes (not a Response, not bytes).</summary>
    BadReturn = 2,
}
