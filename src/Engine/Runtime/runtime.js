// LeanProxy page runtime: turns request batches sent over CDP into Workers-style fetch(request, env, ctx) calls
// and sends the finished responses back. Loaded as an ES module by the bootstrap page; see src/Engine/PageServer.cs.
//
// Wire format (both directions are JSON arrays, one item per request):
//   request  item: [id, method, url, headers[name, value, ...], body, bodyEncoding, remoteAddress, remotePort]
//                  bodyEncoding: 0 = none, 1 = text, 2 = base64
//   response item: [id, status, statusText, headers[name, value, ...], body, bodyEncoding]
//                  bodyEncoding 3 = streamed: the body follows in chunk items, always through the binding
//              or: [id, 0, errorKind, message, stack]       (the handler failed: errorKind "throw" | "type")
//   stream items:  [id, -1, data, encoding] a chunk; [id, -2] the end; [id, -3, message] the stream failed
//   stream ack:    [id, 16, bytes] (host → page) the client's connection took that many bytes of the body: credit
//   stream cancel: [id, 17] (host → page) the client's connection gave the body up: the stream is cancelled
//
// Datagrams and raw TCP connections use the same batches; item[1] is then a number (HTTP items have the method there):
//   datagram    [id, 10, data, encoding, remoteAddress, remotePort]   encoding 1 = text (ASCII), 2 = base64
//     reply     [id, -10, data, encoding]   data null (encoding 0): no reply; "" (1): an empty datagram
//               or the failure item above   (no reply is sent; the error is logged)
//   tcp-open    [id, 11, remoteAddress, remotePort]    calls connect(socket, env, ctx)
//   tcp-data    [id, 12, data, encoding]   bytes from the client (64 KiB at most)
//   tcp-eof     [id, 13]                   the client shut down its send side: the readable ends
//   tcp-abort   [id, 14]                   the connection is gone (reset, server stopping): streams error
//   tcp-ack     [id, 15, bytes]            that many written bytes reached the socket: credit for the writable
//   from the page: [id, -20, data, encoding] write; [id, -21, bytes] the readable handed that many bytes to the
//   handler (credit for more); [id, -22] shut down the send side; [id, -23] close; [id, -24, message, stack] the
//   handler failed (logged, connection closed).
// Flow control both ways: at most TCP_WINDOW bytes are unacknowledged in either direction (the host stops reading the
// socket; the writable's write() waits).
// Responses finished before the next macrotask ride back in the Runtime.evaluate result (one CDP message);
// later ones are coalesced per macrotask and sent through the __lpDone binding. Connection items always go through
// the binding.

// The __lpDone binding is added over CDP while the page loads: look it up when a response is sent, not now.
const done = (payload) => globalThis.__lpDone(payload);

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const asciiOnly = /^[\x00-\x7f]*$/;

// --- Request and Response ---------------------------------------------------------------------------------------
// Blink's Request and Response constructors are the largest cost of a small request in the page (measured: about
// a third of the renderer's time for a hello handler). So the request a handler receives, and the Response it builds
// from a string, bytes or JSON, are JavaScript objects that hold their parts as given; a Blink object is made only
// when something needs one (a body stream, blob(), formData(), signal, fetch(request), the Cache API). Both are
// `instanceof Request` / `instanceof Response` and have every member of Blink's, and they keep what a browser's drop
// but a server must not: forbidden request headers (Cookie, Host, ...) and Set-Cookie on a response.
const NativeRequest = globalThis.Request;
const NativeResponse = globalThis.Response;
const nativeFetch = globalThis.fetch;
const nativeResponseHeaders = Object.getOwnPropertyDescriptor(NativeResponse.prototype, "headers").get;

const kNative = Symbol("leanproxy.native");   // the Blink object, once made (undefined until then)
const kBody = Symbol("leanproxy.body");       // null | string | Uint8Array; NO_SIMPLE_BODY: the body lives in kNative
const kUsed = Symbol("leanproxy.used");       // the body was read without a Blink object
const kHeaders = Symbol("leanproxy.headers"); // a guard-less Headers, made when first needed
const NO_SIMPLE_BODY = Symbol("leanproxy.nativeBody");
const kSimpleBody = Symbol("leanproxy.simpleBody");
const kToNative = Symbol("leanproxy.toNative");
const kHeaderList = Symbol("leanproxy.headerList");
const kMethod = Symbol("leanproxy.method");
const kUrl = Symbol("leanproxy.url");
const kNormalized = Symbol("leanproxy.normalized");
const kFlat = Symbol("leanproxy.flat");
const kEncoding = Symbol("leanproxy.encoding");
const kStatus = Symbol("leanproxy.status");
const kStatusText = Symbol("leanproxy.statusText");
const kDefaultType = Symbol("leanproxy.defaultType"); // a string body and no content-type given: text/plain

function bodyText(body) {
  return body === null ? "" : typeof body === "string" ? body : decoder.decode(body);
}
function bodyBytes(body) {
  return body === null ? new Uint8Array(0) : typeof body === "string" ? encoder.encode(body) : body.slice();
}

// Body reading shared by both facades: from the parts while there is no Blink object, else from it.
function consume(self, method, read) {
  const native = self[kNative];
  if (native !== undefined) return native[method]();
  if (self[kUsed]) {
    return Promise.reject(new TypeError(`Failed to execute '${method}' on '${self.constructor.name}': body stream already read`));
  }
  self[kUsed] = true;
  try {
    return Promise.resolve(read(self[kSimpleBody]()));
  } catch (e) {
    return Promise.reject(e);
  }
}

const bodyMembers = {
  text() { return consume(this, "text", bodyText); },
  json() { return consume(this, "json", (body) => JSON.parse(bodyText(body))); },
  arrayBuffer() { return consume(this, "arrayBuffer", (body) => bodyBytes(body).buffer); },
  bytes() { return consume(this, "bytes", bodyBytes); },
  blob() { return this[kToNative]().blob(); },
  formData() { return this[kToNative]().formData(); },
  get body() {
    if (this[kNative] === undefined && this[kBody] === null) return null;
    return this[kToNative]().body;
  },
  get bodyUsed() {
    const native = this[kNative];
    return native === undefined ? this[kUsed] : native.bodyUsed;
  },
};

// Installs the body members, then makes every other member of the Blink prototype work on the facade by handing it
// to the Blink object (so a member a later Chromium adds is never an "Illegal invocation").
function completePrototype(proto, nativeProto) {
  for (const name of Object.keys(Object.getOwnPropertyDescriptors(bodyMembers))) {
    if (!Object.hasOwn(proto, name)) Object.defineProperty(proto, name, Object.getOwnPropertyDescriptor(bodyMembers, name));
  }
  for (const name of Object.getOwnPropertyNames(nativeProto)) {
    if (name === "constructor" || Object.hasOwn(proto, name)) continue;
    const d = Object.getOwnPropertyDescriptor(nativeProto, name);
    if (d.get) {
      Object.defineProperty(proto, name, {
        get() { return d.get.call(this[kToNative]()); },
        set: d.set && function (value) { d.set.call(this[kToNative](), value); },
        enumerable: d.enumerable,
        configurable: true,
      });
    } else if (typeof d.value === "function") {
      Object.defineProperty(proto, name, {
        value: { [name](...args) { return d.value.apply(this[kToNative](), args); } }[name],
        writable: true,
        enumerable: d.enumerable,
        configurable: true,
      });
    }
  }
}

// Makes a Blink object's body "used" when the facade's body was already read from its parts.
function disturb(native) {
  if (native.body !== null) native.body.getReader().read().catch(() => {});
}

// Names a browser's Request silently drops ("forbidden request headers"); a server must still see them.
const FORBIDDEN = new Set(["accept-charset", "accept-encoding", "access-control-request-headers",
  "access-control-request-method", "access-control-request-private-network", "connection", "content-length",
  "cookie", "cookie2", "date", "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te",
  "trailer", "transfer-encoding", "upgrade", "via"]);

function isForbidden(name) {
  const lower = name.toLowerCase();
  return FORBIDDEN.has(lower) || lower.startsWith("proxy-") || lower.startsWith("sec-");
}

// new Request(...) made by a handler is Blink's; it also accepts the facade as its input.
class Request extends NativeRequest {
  constructor(input, init) {
    super(input instanceof IncomingRequest ? input[kToNative]() : input, init);
  }
  static [Symbol.hasInstance](value) {
    return this === Request ? value instanceof NativeRequest : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}
Object.defineProperty(Request, "name", { value: "Request" });

// A URL a parser would write back unchanged: http(s), a lower-case DNS name or dotted-quad IPv4, a port that is not
// the default, path and query of characters that need no percent-encoding, no dot segments. Anything else is
// normalised by URL (as Blink's Request does: "/a/../b" → "/b", "'" in a query → "%27", "HOST:80" → "host").
const PLAIN_URL = /^https?:\/\/(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*(?::[1-9][0-9]{0,4})?(?:\/[\w\-.~!$&'()*+,;=:@%]*)+(?:\?[\w\-.~!$&()*+,;=:@%/?]*)?$|^https?:\/\/(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?::[1-9][0-9]{0,4})?(?:\/[\w\-.~!$&'()*+,;=:@%]*)+(?:\?[\w\-.~!$&()*+,;=:@%/?]*)?$/;
const DOT_SEGMENT = /\/(?:\.|%2e)(?:\.|%2e)?(?:\/|\?|$)/i;
const PORT = /:(\d+)\//;

function normalizeUrl(raw) {
  if (PLAIN_URL.test(raw) && !DOT_SEGMENT.test(raw)) {
    const port = PORT.exec(raw.slice(raw.indexOf("//") + 2));
    if (port === null) return raw;
    const n = Number(port[1]);
    if (n <= 65535 && n !== (raw.startsWith("https:") ? 443 : 80)) return raw;
  }
  return new URL(raw).href;
}

const STANDARD_METHODS = /^(?:get|head|post|put|delete|options)$/i;

// The request a handler receives: built from the wire item, a Blink Request only if needed.
class IncomingRequest {
  constructor(method, url, flat, body, encoding) {
    this[kNative] = undefined;
    this[kBody] = encoding === 0 ? null : body;
    this[kUsed] = false;
    this[kHeaders] = undefined;
    this[kMethod] = STANDARD_METHODS.test(method) ? method.toUpperCase() : method;
    this[kUrl] = url;
    this[kNormalized] = false;   // kUrl is normalised
    this[kFlat] = flat;
    this[kEncoding] = encoding;
  }
  get method() { return this[kMethod]; }
  get url() {
    if (!this[kNormalized]) {
      this[kUrl] = normalizeUrl(this[kUrl]);
      this[kNormalized] = true;
    }
    return this[kUrl];
  }
  get headers() {
    let headers = this[kHeaders];
    if (headers === undefined) {
      headers = new Headers();
      const flat = this[kFlat];
      for (let i = 0; i < flat.length; i += 2) headers.append(flat[i], flat[i + 1]);
      this[kHeaders] = headers;
    }
    return headers;
  }
  [kSimpleBody]() {
    if (this[kEncoding] === 2) {
      this[kBody] = fromBase64(this[kBody]);
      this[kEncoding] = 3; // decoded
    }
    return this[kBody];
  }
  [kToNative]() {
    let native = this[kNative];
    if (native === undefined) {
      const init = { method: this[kMethod], headers: [] };
      for (const [name, value] of this.headers) if (!isForbidden(name)) init.headers.push([name, value]);
      const body = this[kSimpleBody]();
      if (body !== null && this[kMethod] !== "GET" && this[kMethod] !== "HEAD") init.body = body;
      native = new NativeRequest(this.url, init);
      if (this[kUsed]) disturb(native);
      this[kNative] = native;
    }
    return native;
  }
  clone() {
    if (this.bodyUsed) throw new TypeError("Failed to execute 'clone' on 'Request': Request body is already used");
    const copy = new IncomingRequest(this[kMethod], this[kUrl], [], null, 0);
    copy[kNormalized] = this[kNormalized];
    const headers = this.headers;
    copy[kHeaders] = new Headers(headers);
    const native = this[kNative];
    if (native !== undefined) copy[kNative] = native.clone();
    else {
      const body = this[kSimpleBody]();
      copy[kBody] = body instanceof Uint8Array ? body.slice() : body;
      copy[kEncoding] = this[kEncoding];
    }
    return copy;
  }
}
Object.defineProperty(IncomingRequest, "name", { value: "Request" });
Object.setPrototypeOf(IncomingRequest.prototype, Request.prototype);
completePrototype(IncomingRequest.prototype, NativeRequest.prototype);

// Response: a body of text, bytes, JSON or nothing stays in JavaScript; any other (ReadableStream, Blob, FormData,
// URLSearchParams) makes a Blink Response at once, whose status and headers the facade takes over.
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TEXT_PLAIN = "text/plain;charset=UTF-8";

function hasSetCookie(headers) {
  if (headers instanceof Headers) return headers.has("set-cookie");
  if (Array.isArray(headers)) return headers.some((pair) => String(pair[0]).toLowerCase() === "set-cookie");
  for (const name in headers) if (name.toLowerCase() === "set-cookie") return true;
  return false;
}

function simpleResponseBody(body) {
  if (body === undefined || body === null) return null;
  if (typeof body === "string") return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return NO_SIMPLE_BODY;
}

class Response {
  constructor(body = null, init = undefined) {
    let simple = simpleResponseBody(body);
    let status = 200;
    let statusText = "";
    if (simple !== NO_SIMPLE_BODY && init !== undefined && init !== null) {
      if (typeof init !== "object") simple = NO_SIMPLE_BODY;
      else {
        if (init.status !== undefined) status = init.status;
        if (init.statusText !== undefined) statusText = init.statusText;
        if (!(Number.isInteger(status) && status >= 200 && status <= 599) || typeof statusText !== "string" ||
            !REASON_PHRASE.test(statusText) || (simple !== null && NULL_BODY_STATUS.has(status))) {
          simple = NO_SIMPLE_BODY; // Blink's constructor converts or throws its own error
        }
      }
    }
    if (simple === NO_SIMPLE_BODY) {
      adopt(this, new NativeResponse(body, init));
      if (init?.headers && hasSetCookie(init.headers)) {
        for (const cookie of new Headers(init.headers).getSetCookie()) this[kHeaders].append("set-cookie", cookie);
      }
      return;
    }
    this[kNative] = undefined;
    this[kBody] = simple;
    this[kUsed] = false;
    this[kHeaders] = undefined;
    this[kStatus] = status;
    this[kStatusText] = statusText;
    this[kDefaultType] = false;      // text/plain default content type (a string body and no content-type given)
    if (init?.headers !== undefined) {
      const headers = new Headers(init.headers);
      if (typeof simple === "string" && !headers.has("content-type")) headers.set("content-type", TEXT_PLAIN);
      this[kHeaders] = headers;
    } else {
      this[kDefaultType] = typeof simple === "string";
    }
  }
  get status() { return this[kStatus]; }
  get statusText() { return this[kStatusText]; }
  get ok() { return this[kStatus] >= 200 && this[kStatus] <= 299; }
  get type() { return this[kNative]?.type ?? "default"; }
  get url() { return this[kNative]?.url ?? ""; }
  get redirected() { return this[kNative]?.redirected ?? false; }
  get headers() {
    let headers = this[kHeaders];
    if (headers === undefined) {
      headers = new Headers();
      if (this[kDefaultType]) headers.set("content-type", TEXT_PLAIN);
      this[kHeaders] = headers;
    }
    return headers;
  }
  // The header list as it goes on the wire: name, value, ...; Set-Cookie values kept apart.
  [kHeaderList]() {
    const headers = this[kHeaders];
    if (headers === undefined) return this[kDefaultType] ? ["content-type", TEXT_PLAIN] : [];
    return headerList(headers);
  }
  [kSimpleBody]() { return this[kBody]; }
  [kToNative]() {
    let native = this[kNative];
    if (native === undefined) {
      native = new NativeResponse(this[kBody], { status: this[kStatus], statusText: this[kStatusText], headers: this.headers });
      if (this[kUsed]) disturb(native);
      this[kNative] = native;
    }
    return native;
  }
  clone() {
    if (this.bodyUsed) throw new TypeError("Failed to execute 'clone' on 'Response': Response body is already used");
    const copy = Object.create(Object.getPrototypeOf(this));
    copy[kNative] = this[kNative]?.clone();
    const body = this[kBody];
    copy[kBody] = body instanceof Uint8Array ? body.slice() : body;
    copy[kUsed] = false;
    copy[kHeaders] = this[kHeaders] === undefined ? undefined : new Headers(this[kHeaders]);
    copy[kStatus] = this[kStatus];
    copy[kStatusText] = this[kStatusText];
    copy[kDefaultType] = this[kDefaultType];
    return copy;
  }
  static json(data, init) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError(`Failed to execute 'json' on 'Response': ${describe(data)} cannot be serialized to JSON`);
    const headers = new Headers(init?.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(text, { status: init?.status, statusText: init?.statusText, headers });
  }
  static redirect(url, status) {
    return fromNative(NativeResponse.redirect(url, status));
  }
  static error() {
    return fromNative(NativeResponse.error());
  }
  static [Symbol.hasInstance](value) {
    return this === Response ? value instanceof NativeResponse : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}
Object.setPrototypeOf(Response.prototype, NativeResponse.prototype);
completePrototype(Response.prototype, NativeResponse.prototype);

// Makes `response` a facade over a Blink Response: its status and a guard-less copy of its headers.
function adopt(response, native) {
  response[kNative] = native;
  response[kBody] = NO_SIMPLE_BODY;
  response[kUsed] = false;
  response[kHeaders] = new Headers(nativeResponseHeaders.call(native));
  response[kStatus] = native.status;
  response[kStatusText] = native.statusText;
  response[kDefaultType] = false;
  return response;
}

function fromNative(native) {
  return adopt(Object.create(Response.prototype), native);
}

// Blink objects for the browser APIs that take a Request or a Response.
function nativeRequestOf(input) {
  return input instanceof IncomingRequest ? input[kToNative]() : input;
}
function nativeResponseOf(value) {
  return value !== null && typeof value === "object" && kNative in value && value instanceof Response ? value[kToNative]() : value;
}
globalThis.Request = Request;
globalThis.Response = Response;
globalThis.fetch = function fetch(input, init) { return nativeFetch(nativeRequestOf(input), init); };
// Each wrapper is named like the method it wraps (what stack traces and .name show).
function wrapMethod(target, name, adapt) {
  const method = target[name];
  if (typeof method !== "function") return;
  target[name] = { [name](...args) { return method.apply(this, adapt(args)); } }[name];
}
if (globalThis.Cache) {
  for (const name of ["match", "matchAll", "add", "delete", "keys"]) {
    wrapMethod(Cache.prototype, name, (args) => { if (args.length) args[0] = nativeRequestOf(args[0]); return args; });
  }
  wrapMethod(Cache.prototype, "addAll", (args) => { if (args.length) args[0] = Array.from(args[0], nativeRequestOf); return args; });
  wrapMethod(Cache.prototype, "put", (args) => { args[0] = nativeRequestOf(args[0]); args[1] = nativeResponseOf(args[1]); return args; });
}
if (globalThis.CacheStorage) {
  wrapMethod(CacheStorage.prototype, "match", (args) => { if (args.length) args[0] = nativeRequestOf(args[0]); return args; });
}
for (const name of ["compileStreaming", "instantiateStreaming"]) {
  wrapMethod(WebAssembly, name, (args) => { args[0] = Promise.resolve(args[0]).then(nativeResponseOf); return args; });
}

function toBase64(bytes) {
  if (bytes.toBase64) return bytes.toBase64();
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
  const s = atob(text);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

function isAscii(bytes) {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return false;
  return true;
}

// --- macrotask tick (MessageChannel: not clamped like setTimeout) ---
const channel = new MessageChannel();
let ticks = [];
channel.port1.onmessage = () => {
  const run = ticks;
  ticks = [];
  for (const f of run) f();
};
function onNextTick(f) {
  ticks.push(f);
  if (ticks.length === 1) channel.port2.postMessage(0);
}

// --- responses that finish after their batch returned: coalesced per tick, sent through the binding ---
let outbox = [];
function post(item) {
  outbox.push(item);
  if (outbox.length === 1) {
    onNextTick(() => {
      const items = outbox;
      outbox = [];
      done(JSON.stringify(items));
    });
  }
}

function describe(value) {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "object") return value.constructor?.name ? `an object of type ${value.constructor.name}` : "an object";
  return `a ${typeof value} (${String(value).slice(0, 80)})`;
}

function headerList(headers) {
  const list = [];
  for (const [name, value] of headers) {
    if (name === "set-cookie") continue;
    list.push(name, value);
  }
  if (headers.getSetCookie) for (const cookie of headers.getSetCookie()) list.push("set-cookie", cookie);
  return list;
}

// head: [id, status, statusText, headers]
function bodyItem(head, body) {
  if (body === null || body === undefined) return [...head, null, 0];
  if (typeof body === "string") return [...head, body, 1];
  const bytes = body instanceof ArrayBuffer ? new Uint8Array(body) : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (bytes.length === 0) return [...head, null, 0];
  return isAscii(bytes) ? [...head, decoder.decode(bytes), 1] : [...head, toBase64(bytes), 2];
}

// A body that is complete within STREAM_AFTER_MS and STREAM_AFTER_BYTES goes back whole (with Content-Length); one
// still coming after that is streamed: the head at once, then each chunk as it is produced (Server-Sent Events and
// the like). The byte limit matters for a producer that never yields to a macrotask: the timer cannot fire then.
const STREAM_AFTER_MS = 10;
const STREAM_AFTER_BYTES = 1024 * 1024;
const SLOW = Symbol("slow");

function chunkItem(id, value) {
  const bytes = value instanceof Uint8Array ? value : new Uint8Array(value.buffer ?? value, value.byteOffset ?? 0, value.byteLength);
  return isAscii(bytes) ? [id, -1, decoder.decode(bytes), 1] : [id, -1, toBase64(bytes), 2];
}

function concat(chunks) {
  if (chunks.length === 1) return chunks[0];
  let length = 0;
  for (const c of chunks) length += c.byteLength;
  const all = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) { all.set(c, offset); offset += c.byteLength; }
  return all;
}

// Reads a Blink Response's body (a stream, a Blob, a fetch() result...).
async function readBody(head, native) {
  const id = head[0];
  if (native.body === null) return bodyItem(head, null);
  const reader = native.body.getReader();
  const chunks = [];
  let buffered = 0;
  let timer;
  const slow = new Promise((resolve) => { timer = setTimeout(resolve, STREAM_AFTER_MS, SLOW); });
  let next = reader.read();
  for (;;) {
    const result = await Promise.race([next, slow]);
    if (result === SLOW) break;
    if (result.done) {
      clearTimeout(timer);
      return bodyItem(head, chunks.length ? concat(chunks) : null);
    }
    chunks.push(result.value);
    buffered += result.value.byteLength;
    next = reader.read();
    if (buffered > STREAM_AFTER_BYTES) {
      clearTimeout(timer);
      break;
    }
  }
  post([...head, null, 3]);
  const flow = { unacked: 0, resume: null, reader, cancelled: false };
  streams.set(id, flow);
  try {
    for (const chunk of chunks) {
      await sendChunk(id, flow, chunk);
      if (flow.cancelled) return null;
    }
    for (;;) {
      const result = await next;
      if (result.done || flow.cancelled) break;
      await sendChunk(id, flow, result.value);
      if (flow.cancelled) break;
      next = reader.read();
    }
    if (!flow.cancelled) post([id, -2]);
  } catch (e) {
    if (!flow.cancelled) post([id, -3, e instanceof Error ? `${e.name}: ${e.message}` : String(e)]);
  } finally {
    streams.delete(id);
  }
  return null;
}

// Flow control of streamed bodies: at most STREAM_WINDOW bytes the client's connection has not taken yet; the host
// acknowledges taken bytes with [id, 16, bytes]. A handler that produces faster than its client reads waits here
// (its stream's pull() is not called meanwhile), so the host never holds more than the window.
const STREAM_WINDOW = 1024 * 1024;
const STREAM_ACK = 16;
const STREAM_CANCEL = 17;
const streams = new Map();

function sendChunk(id, flow, value) {
  post(chunkItem(id, value));
  flow.unacked += value.byteLength;
  if (flow.unacked <= STREAM_WINDOW) return undefined;
  return new Promise((resolve) => { flow.resume = resolve; });
}

// The client went away (or the response has no body): the handler's stream is cancelled, so its producer stops.
function streamCancel(id) {
  const flow = streams.get(id);
  if (flow === undefined) return;
  flow.cancelled = true;
  flow.reader.cancel(new DOMException("The client went away.", "AbortError")).catch(() => {});
  streamCredit(id, flow.unacked);
}

function streamCredit(id, bytes) {
  const flow = streams.get(id);
  if (flow === undefined) return;
  flow.unacked -= bytes;
  if (flow.unacked <= STREAM_WINDOW && flow.resume !== null) {
    const resume = flow.resume;
    flow.resume = null;
    resume();
  }
}

function typeFailure(id, message) {
  return [id, 0, "type", message, ""];
}

function toItem(id, response) {
  if (!(response instanceof NativeResponse)) {
    return typeFailure(id, `fetch() must return a Response (or a promise of one), but it returned ${describe(response)}`);
  }
  if (response.type === "error") return typeFailure(id, "fetch() returned Response.error(), a network error");
  if (kStatus in response) {
    // A Response made in the page: its parts are at hand.
    const head = [id, response[kStatus], response[kStatusText], response[kHeaderList]()];
    if (response.bodyUsed) return typeFailure(id, "fetch() returned a Response whose body was already read");
    const body = response[kBody];
    if (body !== NO_SIMPLE_BODY) return bodyItem(head, body);
    return readBody(head, response[kToNative]());
  }
  // Blink's own (from fetch(), the Cache API, ...).
  if (response.bodyUsed) return typeFailure(id, "fetch() returned a Response whose body was already read");
  return readBody([id, response.status, response.statusText, headerList(nativeResponseHeaders.call(response))], response);
}

function failure(id, error) {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : `Uncaught ${describe(error)}`;
  return [id, 0, "throw", message, error instanceof Error ? String(error.stack ?? "") : ""];
}

let app = null;
let env = null;

class Context {
  constructor(remoteAddress, remotePort) {
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
    this.props = {};
  }
  waitUntil(promise) {
    // The tab outlives the request, so the work goes on; only its failure needs reporting.
    Promise.resolve(promise).catch((e) => console.error("waitUntil promise rejected:", e));
  }
  passThroughOnException() {}
}

function makeRequest(r) {
  const [id, method, url, flat, body, encoding, remoteAddress, remotePort] = r;
  return { id, request: new IncomingRequest(method, url, flat, body, encoding), ctx: new Context(remoteAddress, remotePort) };
}

function handle(r, batch) {
  const id = r[0];
  const finish = (item) => settle(batch, item);
  // toItem may throw (a getter of the handler's own Response subclass, say): that is the handler's failure too.
  const answer = (response) => {
    let item;
    try {
      item = toItem(id, response);
    } catch (e) {
      finish(failure(id, e));
      return;
    }
    if (Array.isArray(item)) finish(item);
    else item.then(finish, (e) => finish(failure(id, e)));
  };
  let result;
  try {
    const { request, ctx } = makeRequest(r);
    result = app.fetch(request, env, ctx);
  } catch (e) {
    finish(failure(id, e));
    return;
  }
  if (result instanceof NativeResponse) answer(result); // a synchronous handler: no promise turn
  else Promise.resolve(result).then(answer, (e) => finish(failure(id, e)));
}

function settle(batch, item) {
  if (batch.open) {
    if (item !== null) batch.out.push(item);
    if (--batch.pending === 0) batch.close();
  } else if (item !== null) {
    post(item);
  }
}

// --- datagrams: datagram(message, info, env, ctx) → Uint8Array | ArrayBuffer | string | undefined ---
const DATAGRAM = 10;

function bytesItem(id, code, bytes) {
  return isAscii(bytes) ? [id, code, decoder.decode(bytes), 1] : [id, code, toBase64(bytes), 2];
}

function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "string") return encoder.encode(value);
  return null;
}

function datagramReply(id, value) {
  if (value === undefined || value === null) return [id, -10, null, 0];
  if (typeof value === "string" && asciiOnly.test(value)) return [id, -10, value, 1];
  const bytes = asBytes(value);
  if (bytes === null) {
    return [id, 0, "type", `datagram() must return a Uint8Array, an ArrayBuffer, a string or undefined, but it returned ${describe(value)}`, ""];
  }
  return bytesItem(id, -10, bytes);
}

function handleDatagram(r, batch) {
  const [id, , data, encoding, remoteAddress, remotePort] = r;
  const finish = (item) => settle(batch, item);
  try {
    const message = encoding === 2 ? fromBase64(data) : encoder.encode(data);
    const result = app.datagram(message, { remoteAddress, remotePort }, env, new Context(remoteAddress, remotePort));
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      Promise.resolve(result).then((value) => finish(datagramReply(id, value)), (e) => finish(failure(id, e)));
    } else {
      finish(datagramReply(id, result));
    }
  } catch (e) {
    finish(failure(id, e));
  }
}

// --- raw TCP: connect(socket, env, ctx) with socket.readable / socket.writable ---
const TCP_OPEN = 11, TCP_DATA = 12, TCP_EOF = 13, TCP_ABORT = 14, TCP_ACK = 15;
const TCP_WINDOW = 256 * 1024;
const TCP_CHUNK = 64 * 1024;
const connections = new Map();

// What the handler gets; the connection's state lives in Connection.
class Socket {
  #connection;
  constructor(connection, remoteAddress, remotePort) {
    this.#connection = connection;
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
    this.readable = connection.readable;
    this.writable = connection.writable;
    this.opened = Promise.resolve({ remoteAddress, remotePort });
    this.closed = connection.closed;
  }
  close() { return this.#connection.close(); }
}

class Connection {
  constructor(id, remoteAddress, remotePort) {
    this.id = id;
    this.queue = [];          // bytes from the client the handler has not pulled yet
    this.pulling = null;      // resolves the readable's pending pull
    this.eof = false;         // the client sent EOF
    this.readDone = false;    // EOF arrived, the readable was cancelled, or the connection is gone
    this.readClosed = false;
    this.writeDone = false;   // the writable was closed or aborted
    this.ended = false;
    this.unacked = 0;         // bytes written and not yet acknowledged by the host
    this.draining = [];       // writes waiting for credit
    this.closed = new Promise((resolve, reject) => { this.resolveClosed = resolve; this.rejectClosed = reject; });
    this.closed.catch(() => {}); // a reset is not an unhandled rejection unless the handler awaits socket.closed
    const self = this;
    this.readable = new ReadableStream({
      start(controller) { self.rc = controller; },
      pull() { return self.pull(); },
      cancel() { self.cancelRead(); },
    }, { highWaterMark: 0 });
    this.writable = new WritableStream({
      start(controller) { self.wc = controller; },
      write(chunk) { return self.write(chunk); },
      close() { self.shutdownWrite(); },
      abort() { self.shutdownWrite(); },
    });
    this.socket = new Socket(this, remoteAddress, remotePort);
  }

  pull() {
    if (this.queue.length) {
      this.deliver(this.queue.shift());
      return undefined;
    }
    if (this.eof || this.readDone) {
      this.closeReadable();
      return undefined;
    }
    return new Promise((resolve) => { this.pulling = resolve; });
  }

  deliver(bytes) {
    this.rc.enqueue(bytes);
    if (!this.ended) post([this.id, -21, bytes.length]);
  }

  wake() {
    const resolve = this.pulling;
    this.pulling = null;
    if (resolve) resolve();
  }

  closeReadable() {
    if (this.readClosed) return;
    this.readClosed = true;
    try { this.rc.close(); } catch { /* cancelled or errored already */ }
  }

  onData(bytes) {
    if (this.readDone) {
      post([this.id, -21, bytes.length]); // cancelled: dropped, but the credit goes back
    } else if (this.pulling) {
      this.deliver(bytes);
      this.wake();
    } else {
      this.queue.push(bytes);
    }
  }

  onEof() {
    this.eof = true;
    this.readDone = true;
    if (this.pulling && this.queue.length === 0) {
      this.closeReadable();
      this.wake();
    }
    this.maybeEnd();
  }

  cancelRead() {
    this.readDone = true;
    this.readClosed = true;
    let dropped = 0;
    for (const bytes of this.queue) dropped += bytes.length;
    this.queue = [];
    if (dropped && !this.ended) post([this.id, -21, dropped]);
    this.maybeEnd();
  }

  write(chunk) {
    if (this.ended) throw new TypeError("The socket is closed.");
    const bytes = asBytes(chunk);
    if (bytes === null) throw new TypeError(`socket.writable takes Uint8Array, ArrayBuffer or string chunks, not ${describe(chunk)}`);
    for (let i = 0; i < bytes.length; i += TCP_CHUNK) post(bytesItem(this.id, -20, bytes.subarray(i, i + TCP_CHUNK)));
    this.unacked += bytes.length;
    if (this.unacked > TCP_WINDOW) return new Promise((resolve) => this.draining.push(resolve));
    return undefined;
  }

  onAck(count) {
    this.unacked -= count;
    if (this.unacked <= TCP_WINDOW) this.releaseWrites();
  }

  releaseWrites() {
    const waiting = this.draining;
    this.draining = [];
    for (const resolve of waiting) resolve();
  }

  shutdownWrite() {
    if (this.writeDone || this.ended) return;
    this.writeDone = true;
    post([this.id, -22]);
    this.maybeEnd();
  }

  // Both directions finished: the connection is done.
  maybeEnd() {
    if (!this.ended && this.readDone && this.writeDone) {
      post([this.id, -23]);
      this.end(null);
    }
  }

  end(error) {
    this.ended = true;
    connections.delete(this.id);
    this.releaseWrites();
    if (error) this.rejectClosed(error);
    else this.resolveClosed();
  }

  close() {
    if (!this.ended) {
      this.readDone = true;
      this.writeDone = true;
      if (!this.readClosed && this.queue.length === 0) {
        this.closeReadable();
        this.wake();
      }
      post([this.id, -23]);
      this.end(null);
    }
    return this.closed;
  }

  // The connection is gone: the client reset it, the server is stopping, or the handler failed.
  fail(error) {
    if (this.ended) return;
    this.readDone = true;
    this.writeDone = true;
    this.readClosed = true;
    try { this.rc.error(error); } catch { /* closed already */ }
    try { this.wc.error(error); } catch { /* closed already */ }
    this.wake();
    this.end(error);
  }

  // The handler returned: streams it never took are finished for it, so an unused direction does not hold the
  // connection open.
  settled() {
    if (this.ended) return;
    if (!this.readable.locked && !this.readDone) this.readable.cancel().catch(() => {});
    if (!this.writable.locked && !this.writeDone) this.writable.close().catch(() => {});
  }

  handlerFailed(error) {
    if (this.ended) return;
    const [, , , message, stack] = failure(this.id, error);
    post([this.id, -24, message, stack]);
    this.fail(error);
  }
}

function openConnection(id, remoteAddress, remotePort) {
  const connection = new Connection(id, remoteAddress, remotePort);
  connections.set(id, connection);
  let result;
  try {
    result = app.connect(connection.socket, env, new Context(remoteAddress, remotePort));
  } catch (e) {
    connection.handlerFailed(e);
    return;
  }
  Promise.resolve(result).then(() => connection.settled(), (e) => connection.handlerFailed(e));
}

function handleTcp(r) {
  const id = r[0];
  const kind = r[1];
  if (kind === TCP_OPEN) {
    openConnection(id, r[2], r[3]);
    return;
  }
  const connection = connections.get(id);
  if (connection === undefined) return; // closed meanwhile
  switch (kind) {
    case TCP_DATA: connection.onData(r[3] === 2 ? fromBase64(r[2]) : encoder.encode(r[2])); break;
    case TCP_EOF: connection.onEof(); break;
    case TCP_ABORT: connection.fail(new Error("The connection was reset.")); break;
    case TCP_ACK: connection.onAck(r[2]); break;
  }
}

// Under load V8 lets garbage pile up: Request/Response/Headers are Blink objects whose memory a major GC frees
// (measured: a tab at 400 MiB after 200k requests drops to under 180 MiB after one gc()). So every GC_EVERY
// requests a full collection runs between batches (Chromium is started with --js-flags=--expose-gc).
const GC_EVERY = 10000;
const collect = globalThis.gc;
let sinceGc = 0;
function maybeCollect(count) {
  sinceGc += count;
  if (collect && sinceGc >= GC_EVERY) {
    sinceGc = 0;
    onNextTick(() => collect());
  }
}

// Called by Runtime.evaluate("__lp.d([...])", awaitPromise, returnByValue). The promise resolves as soon as every
// item is answered (a synchronous handler costs no extra task), or at the next macrotask with what is done by then.
function dispatch(items) {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  let answered = 0;
  for (const r of items) if (typeof r[1] === "string" || r[1] === DATAGRAM) answered++;
  const batch = {
    open: true,
    out: [],
    pending: answered,
    close() {
      if (!batch.open) return;
      batch.open = false;
      // One JSON string: V8's JSON.stringify is far cheaper than the inspector's by-value serialization.
      resolve(batch.out.length ? JSON.stringify(batch.out) : "");
    },
  };
  for (const r of items) {
    const kind = r[1];
    if (typeof kind === "string") handle(r, batch);
    else if (kind === DATAGRAM) handleDatagram(r, batch);
    else if (kind === STREAM_ACK) streamCredit(r[0], r[2]);
    else if (kind === STREAM_CANCEL) streamCancel(r[0]);
    else {
      try {
        handleTcp(r);
      } catch (e) {
        connections.get(r[0])?.handlerFailed(e);
      }
    }
  }
  maybeCollect(items.length);
  if (batch.open) {
    if (batch.pending === 0) batch.close();
    else onNextTick(batch.close);
  }
  return promise;
}

export function start(module, config) {
  const handler = module.default;
  const exports = {
    fetch: typeof handler?.fetch === "function",
    connect: typeof handler?.connect === "function",
    datagram: typeof handler?.datagram === "function",
  };
  app = handler ?? {};
  env = Object.freeze({ ...config.env });
  globalThis.__lp = { d: dispatch };
  globalThis.__lpSettle({ t: "ready", exports });
}
