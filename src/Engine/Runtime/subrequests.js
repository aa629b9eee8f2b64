// fetch() to another server, made by the host (src/Engine/Fetch), as Workers does: no CORS and no preflight, every
// header the handler sets is sent (Cookie, Origin, User-Agent, ...), the answer carries every header (Set-Cookie
// too), redirect: "manual" gives the real 3xx. The page's own origin (the app's files) is still fetched by the page.
//
// Calls go to the host through the __lpFetch binding (those of one turn of the event loop travel together):
//   [1, id, method, url, [name, value, ...], data, BodyEncoding, redirect, streamed]
//                       start (redirect: 0 follow, 1 manual, 2 error; streamed 1: the body follows in pieces)
//   [2, id, taken]      the answer's reader has taken that many bytes
//   [3, id]             abort (the signal, or the answer's body cancelled)
//   [4, id, data, BodyEncoding]  a piece of a streamed request body      [5, id]  its end      [6, id, message]  its failure
// The answer comes in the tab's next batches (HostMessage.FetchHead, FetchChunk, FetchEnd, FetchError); the host
// sends at most a window of body bytes beyond what the reader took, so a slow reader holds the origin back. A
// streamed request body goes the other way the same way: at most a window beyond what the origin's connection took
// (HostMessage.FetchCredit), so a slow origin holds the handler's stream back.
import {
  IncomingRequest, NativeRequest, kFetchId, kNative, madeWithStream, nativeRequestOf, requestHeaderPairs, subrequestResponse,
} from "./facades.js";
import { withNeed } from "./dataplane.js";
import { headerPairs } from "./headers.js";
import { FetchCall, asBytes, decodeData, encodeBytes } from "./protocol.js";
const REDIRECT = { follow: 0, manual: 1, error: 2 };
const WINDOW = 1024 * 1024; // request body bytes that may be on their way beyond what the origin took
const PIECE = 64 * 1024;

const pending = new Map(); // id → state
let nextId = 1;
let queue = [];

let scheduled = false;

function post(call) {
  queue.push(call);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(flushFetchCalls);
  }
}

// Sends the calls waiting; index.js also calls it when a batch comes, so calls whose microtask a terminated script
// took with it (V8 drops the microtask queue) still go.
export function flushFetchCalls() {
  scheduled = false;
  if (queue.length === 0) return;
  const calls = queue;
  queue = [];
  globalThis.__lpFetch(withNeed(JSON.stringify(calls)));
}

// The absolute http(s) URL a fetch of `input` goes to when it leaves the page's own origin; null: the page fetches it.
export function serverSideUrl(input) {
  let raw;
  if (typeof input === "string") raw = input;
  else if (input instanceof URL) raw = input.href;
  else if (input instanceof NativeRequest || input instanceof IncomingRequest) raw = input.url;
  else raw = String(input);
  let url;
  try {
    url = new URL(raw, location.href);
  } catch {
    return null; // the page's fetch throws the usual TypeError
  }
  if (url.origin === location.origin) return null;
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

function flatten(pairs) {
  const flat = [];
  for (const [name, value] of pairs) flat.push(name, value);
  return flat;
}

export async function subrequest(input, init, url) {
  // A Blink Request made from the same arguments decides method, body, redirect and signal, and throws what
  // Workers' fetch throws for bad ones (a body on a GET, an unknown redirect mode, ...). A stream body needs
  // duplex "half" in a browser; Workers needs nothing.
  let options = init;
  if (init?.body instanceof ReadableStream && init.duplex === undefined) options = { ...init, duplex: "half" };
  const request = new NativeRequest(nativeRequestOf(input), options);
  const pairs = init?.headers !== undefined ? headerPairs(init.headers) : requestHeaderPairs(input);
  // The body's own type (FormData's boundary, a string's text/plain, a Blob's type), as Workers sends it.
  const type = request.headers.get("content-type");
  if (type !== null && !pairs.some(([name]) => name.toLowerCase() === "content-type")) pairs.push(["content-type", type]);
  // The request a handler received has redirect "manual" in Workers: fetch(request) hands a 3xx back as it is.
  const redirect = init?.redirect === undefined && input instanceof IncomingRequest ? "manual" : request.redirect;
  const signal = request.signal;
  signal.throwIfAborted();
  // A stream the handler made goes as it is produced; any other body (bytes, text, a received request's) whole.
  // (A Request passed as init, fetch(url, request), gives its body as a stream too: whole unless it was made from one.)
  const initStream = init?.body instanceof ReadableStream && (!(init instanceof NativeRequest) || streamedRequest(init));
  const streamed = request.body !== null && (initStream || (init?.body === undefined && streamedRequest(input)));
  const body = request.body === null || streamed ? null : new Uint8Array(await request.arrayBuffer());
  signal.throwIfAborted();

  const id = nextId++;
  return new Promise((resolve, reject) => {
    const state = { id, resolve, reject, controller: null, chunks: [], received: 0, taken: 0, wake: null, done: false,
      failed: null, headSeen: false, signal, onAbort: null, credit: WINDOW, creditWake: null, uploading: streamed,
      started: false, stream: null };
    state.onAbort = () => abort(state, signal.reason);
    signal.addEventListener("abort", state.onAbort, { once: true });
    pending.set(id, state);
    const [data, encoding] = body === null ? [null, 0] : encodeBytes(body);
    post([FetchCall.Start, id, request.method, url, flatten(pairs), data, encoding, REDIRECT[redirect], streamed ? 1 : 0]);
    if (streamed) upload(state, request.body.getReader());
  });
}

// A Request the handler made with a stream body (facades.js keeps which).
function streamedRequest(input) {
  return input instanceof NativeRequest && !(input instanceof IncomingRequest) && madeWithStream(input);
}

// Sends a streamed request body piece by piece, never more than WINDOW beyond what the origin's connection took.
async function upload(state, reader) {
  let sent = 0;
  const credit = async () => {
    while (sent >= state.credit && state.uploading) await new Promise((wake) => { state.creditWake = wake; });
    return state.uploading;
  };
  try {
    while (true) {
      if (!await credit()) {
        reader.cancel().catch(() => {});
        return;
      }
      const { done, value } = await reader.read();
      if (done) {
        post([FetchCall.End, state.id]);
        return;
      }
      const bytes = asBytes(value);
      if (bytes === null) throw new TypeError("Failed to fetch: a request body stream must give Uint8Array chunks");
      for (let at = 0; at < bytes.length; at += PIECE) {
        if (!await credit()) { // a large chunk goes piece by piece, each within the credit
          reader.cancel().catch(() => {});
          return;
        }
        const piece = bytes.subarray(at, Math.min(bytes.length, at + PIECE));
        post([FetchCall.Piece, state.id, ...encodeBytes(piece)]);
        sent += piece.length;
      }
    }
  } catch (e) {
    if (state.uploading) post([FetchCall.Fail, state.id, String(e?.message ?? e)]);
  } finally {
    state.uploading = false;
  }
}

// [FetchCredit, id, taken]: the origin's connection has taken that many bytes of the streamed request body.
export function fetchCredit(message) {
  const [, id, taken] = message;
  const state = pending.get(id);
  if (state === undefined) return;
  state.credit = Math.max(state.credit, taken + WINDOW);
  const wake = state.creditWake;
  state.creditWake = null;
  if (wake !== null) wake();
}

function finish(state) {
  pending.delete(state.id);
  state.signal.removeEventListener("abort", state.onAbort);
}

function stopUpload(state) {
  state.uploading = false;
  const wake = state.creditWake;
  state.creditWake = null;
  if (wake !== null) wake();
}

function abort(state, reason) {
  if (!pending.has(state.id)) return;
  post([FetchCall.Abort, state.id]);
  fail(state, reason);
}

function fail(state, error) {
  finish(state);
  stopUpload(state);
  if (!state.headSeen) state.reject(error);
  else {
    state.failed = error;
    if (state.wake !== null) state.wake();
    else state.controller?.error(error);
  }
}

// [FetchHead, id, status, statusText, [name, value, ...], url, redirected]
export function fetchHead(message) {
  const [, id, status, statusText, flat, url, redirected] = message;
  const state = pending.get(id);
  if (state === undefined || state.headSeen) return; // aborted meanwhile, or repeated after a stopped batch
  let response;
  const stream = new ReadableStream({
    start(controller) { state.controller = controller; },
    pull(controller) { return pull(state, controller); },
    cancel() {
      if (pending.has(state.id)) {
        post([FetchCall.Abort, state.id]);
        finish(state);
        stopUpload(state);
      }
    },
  }, { highWaterMark: 0 });
  try {
    response = subrequestResponse(stream, status, statusText, flat, url, redirected === 1, id);
  } catch (e) {
    abort(state, new TypeError(`Fetch to ${url} failed: ${e.message}`));
    return;
  }
  state.headSeen = true;
  state.stream = stream;
  state.resolve(response);
}

// The id of the subrequest whose answer `response` is, when the handler returns it with its body untouched and the
// host still has that body (it waits for the page's first read or this): the host then sends the body to the client
// itself, never through the page. Null: the page sends it as any other body.
export function forwardable(response) {
  const id = response[kFetchId];
  if (id === undefined) return null;
  const state = pending.get(id);
  if (state === undefined || state.started || state.received !== 0 || state.done || response.bodyUsed) return null;
  if (state.stream.locked || response[kNative]?.body?.locked) return null;
  state.started = true;
  finish(state);
  stopUpload(state);
  // The host sends the body to the client: reading it here again fails as a used body does.
  state.controller?.error(new TypeError("Failed to read the body: it was already sent to the client"));
  return id;
}

function pull(state, controller) {
  if (!state.started) {
    state.started = true;
    post([FetchCall.Taken, state.id, 0]); // the page reads it: the host sends the body here
  }
  if (state.chunks.length > 0) {
    const chunk = state.chunks.shift();
    state.taken += chunk.length;
    controller.enqueue(chunk);
    if (!state.done) post([FetchCall.Taken, state.id, state.taken]); // the host has sent it all: no credit to give
    return undefined;
  }
  if (state.failed !== null) {
    controller.error(state.failed);
    return undefined;
  }
  if (state.done) {
    controller.close();
    return undefined;
  }
  return new Promise((wake) => { state.wake = wake; }).then(() => {
    state.wake = null;
    return pull(state, controller);
  });
}

// [FetchChunk, id, offset, data, BodyEncoding]: a chunk already received (a repeat after a stopped batch) is skipped.
export function fetchChunk(message) {
  const [, id, offset, data, encoding] = message;
  const state = pending.get(id);
  if (state === undefined || offset < state.received) return; // a repeat after a stopped batch
  if (offset > state.received) {
    // A piece went missing (a stopped batch repeated out of order): the body cannot be whole any more.
    abort(state, new TypeError("Failed to read the body: a piece of it was lost"));
    return;
  }
  const bytes = decodeData(data, encoding);
  state.received += bytes.length;
  state.chunks.push(bytes);
  if (state.wake !== null) state.wake();
}

// [FetchEnd, id, total]
export function fetchEnd(message) {
  const [, id, total] = message;
  const state = pending.get(id);
  if (state === undefined) return;
  if (total !== state.received) {
    abort(state, new TypeError("Failed to read the body: a piece of it was lost"));
    return;
  }
  state.done = true;
  finish(state);
  stopUpload(state); // the origin answered whole: what is left of a streamed upload has nowhere to go
  if (state.wake !== null) state.wake();
}

// [FetchError, id, kind, message]: kind Error for a limit (as Workers' "Too many subrequests"), else TypeError or AbortError
export function fetchError(message) {
  const [, id, kind, text] = message;
  const state = pending.get(id);
  if (state === undefined) return;
  const error = kind === "AbortError" ? new DOMException(text, "AbortError")
    : kind === "RangeError" ? new RangeError(text) : kind === "Error" ? new Error(text) : new TypeError(text);
  fail(state, error);
}
