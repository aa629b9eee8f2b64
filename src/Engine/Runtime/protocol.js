// The page protocol, the page's side (the host's is src/Engine/Protocol/PageProtocol.cs; PageProtocolTests checks
// that both name the same numbers). Every message is a JSON array [kind, id, ...]; see PageProtocol.cs for what
// each kind carries. The host sends a batch as __lp.d([...]); the page answers in the call's result or, later,
// through the __lpDone binding (channel.js).

import { carries, sendData, takeData } from "./dataplane.js";

export const HostMessage = Object.freeze({
  Request: 1,       // [1, id, method, url, [name, value, ...], body, BodyEncoding, remoteAddress, remotePort]
  Datagram: 2,      // [2, id, data, BodyEncoding, remoteAddress, remotePort]
  TcpOpen: 3,       // [3, id, remoteAddress, remotePort]
  TcpData: 4,       // [4, id, data, BodyEncoding]
  TcpEof: 5,        // [5, id]
  TcpAbort: 6,      // [6, id]
  TcpAck: 7,        // [7, id, bytes]
  StreamAck: 8,     // [8, id, bytes taken in all]
  StreamCancel: 9,  // [9, id]
  KvReply: 10,      // [10, callId, ok, result]: the answer to a KV call (kv.js)
  KvInvalidate: 11, // [11, 0, binding, key]: a KV value changed: drop it from the cache (null key: the binding; null binding: all)
  FetchHead: 12,    // [12, fetchId, status, statusText, [name, value, ...], url, redirected]: a subrequest's answer (subrequests.js)
  FetchChunk: 13,   // [13, fetchId, offset, data, BodyEncoding]: a piece of its body (offset: bytes before it)
  FetchEnd: 14,     // [14, fetchId, total]: its body ended
  FetchError: 15,   // [15, fetchId, kind, message]: it failed (kind: TypeError, AbortError, RangeError, Error)
  FetchCredit: 16,  // [16, fetchId, taken]: the origin took that many bytes of a streamed request body
});

export const PageMessage = Object.freeze({
  Response: 1,          // [1, id, status, statusText, [name, value, ...], body, BodyEncoding]
  ResponseHead: 2,      // [2, id, status, statusText, [name, value, ...]]: BodyChunk messages follow
  BodyChunk: 3,         // [3, id, data, BodyEncoding]
  BodyEnd: 4,           // [4, id]
  BodyError: 5,         // [5, id, message]
  HandlerError: 6,      // [6, id, HandlerFailure, message, stack]
  DatagramReply: 7,     // [7, id, data, BodyEncoding]
  DatagramNoReply: 8,   // [8, id]
  TcpWrite: 9,          // [9, id, data, BodyEncoding]
  TcpAck: 10,           // [10, id, bytes]
  TcpShutdownWrite: 11, // [11, id]
  TcpClose: 12,         // [12, id]
  TcpError: 13,         // [13, id, message, stack]
  ResponseFromFetch: 14, // [14, id, status, statusText, [name, value, ...], fetchId]: the answer of a subrequest, its body sent by the host
});

// The calls of the __lpFetch binding (subrequests.js → src/Engine/Fetch/FetchBinding.cs).
export const FetchCall = Object.freeze({
  Start: 1, // [1, fetchId, method, url, [name, value, ...], data, BodyEncoding, redirect, streamed]
  Taken: 2, // [2, fetchId, taken]: the answer's reader took that many bytes in all
  Abort: 3, // [3, fetchId]
  Piece: 4, // [4, fetchId, data, BodyEncoding]: a piece of a streamed request body
  End: 5,   // [5, fetchId]: the streamed request body ended
  Fail: 6,  // [6, fetchId, message]: the streamed request body failed
});

export const BodyEncoding = Object.freeze({
  None: 0,   // no body: the data element is null
  Text: 1,   // ASCII text, as is
  Base64: 2, // base64 of the bytes
  Data: 3,   // the bytes went on the data plane: the data element is their message's number (dataplane.js)
});

export const HandlerFailure = Object.freeze({
  Threw: 1,     // it threw or its promise rejected
  BadReturn: 2, // it returned something its driver does not take
});

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

export function toBase64(bytes) {
  if (bytes.toBase64) return bytes.toBase64();
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
  const s = atob(text);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

export function isAscii(bytes) {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return false;
  return true;
}

// Bytes as the two elements [data, BodyEncoding] of a message: on the data plane when they are large, else text
// when ASCII (Chromium escapes every other character in CDP output), else base64. The one place that chooses.
export function encodeBytes(bytes) {
  if (carries(bytes.length)) return [sendData(bytes), BodyEncoding.Data];
  return isAscii(bytes) ? [decoder.decode(bytes), BodyEncoding.Text] : [toBase64(bytes), BodyEncoding.Base64];
}

// A string as [data, BodyEncoding]: as it is when short (it is already JSON-ready), else its UTF-8 on the data plane
// (a large one alone, as a text message whose UTF-8 the browser makes; see dataplane.js).
export function encodeText(text) {
  if (carries(text.length)) return [sendData(text), BodyEncoding.Data];
  return [text, BodyEncoding.Text];
}

// A message whose last two elements are bytes: [kind, id, data, BodyEncoding].
export function dataMessage(kind, id, bytes) {
  return [kind, id, ...encodeBytes(bytes)];
}

// The bytes of a [data, BodyEncoding] pair from the host.
export function decodeData(data, encoding) {
  if (encoding === BodyEncoding.Data) return takeData(data);
  return encoding === BodyEncoding.Base64 ? fromBase64(data) : encoder.encode(data);
}

export function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "string") return encoder.encode(value);
  return null;
}

export function describe(value) {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "object") return value.constructor?.name ? `an object of type ${value.constructor.name}` : "an object";
  return `a ${typeof value} (${String(value).slice(0, 80)})`;
}

// The handler threw or rejected.
export function failure(id, error) {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : `Uncaught ${describe(error)}`;
  return [PageMessage.HandlerError, id, HandlerFailure.Threw, message, error instanceof Error ? String(error.stack ?? "") : ""];
}

// The handler returned something its driver does not take.
export function badReturn(id, message) {
  return [PageMessage.HandlerError, id, HandlerFailure.BadReturn, message, ""];
}
