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
const kBody = Symbol("leanproxy.body");

// Remember the body a Response was made with, so the common cases (string, bytes, JSON) need no async read.
// Also keep Set-Cookie: a browser's Response drops it (a "forbidden response header"), a server must not.
const kHeaders = Symbol("leanproxy.headers");
const kInitHeaders = Symbol("leanproxy.initHeaders");
const NativeResponse = globalThis.Response;
const nativeHeaders = Object.getOwnPropertyDescriptor(NativeResponse.prototype, "headers").get;
function hasSetCookie(headers) {
  if (headers instanceof Headers) return headers.has("set-cookie");
  if (Array.isArray(headers)) return headers.some((pair) => String(pair[0]).toLowerCase() === "set-cookie");
  for (const name in headers) if (name.toLowerCase() === "set-cookie") return true;
  return false;
}

class Response extends NativeResponse {
  constructor(body, init) {
    super(body, init);
    if (body === undefined || body === null || typeof body === "string" || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
      this[kBody] = body ?? null;
    }
    if (init?.headers && hasSetCookie(init.headers)) this[kInitHeaders] = init.headers;
  }
  get headers() {
    let headers = this[kHeaders];
    if (headers === undefined) {
      // A guard-less copy: it accepts Set-Cookie, both from the init and appended later.
      headers = new Headers(nativeHeaders.call(this));
      const init = this[kInitHeaders];
      if (init) for (const cookie of new Headers(init).getSetCookie()) headers.append("set-cookie", cookie);
      this[kHeaders] = headers;
    }
    return headers;
  }
  static json(data, init) {
    const headers = new Headers(init?.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(JSON.stringify(data), { ...init, headers });
  }
}
Object.defineProperty(Response, "name", { value: "Response" });
globalThis.Response = Response;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const asciiOnly = /^[\x00-\x7f]*$/;

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

function headersOf(response) {
  return response[kHeaders] ?? (response[kInitHeaders] ? response.headers : nativeHeaders.call(response));
}

function bodyItem(id, response, body) {
  const head = [id, response.status, response.statusText, headerList(headersOf(response))];
  if (body === null || body === undefined) return [...head, null, 0];
  if (typeof body === "string") return [...head, body, 1];
  const bytes = body instanceof ArrayBuffer ? new Uint8Array(body) : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (bytes.length === 0) return [...head, null, 0];
  return isAscii(bytes) ? [...head, decoder.decode(bytes), 1] : [...head, toBase64(bytes), 2];
}

// A body that is complete within STREAM_AFTER_MS goes back whole (with Content-Length); one still coming after
// that is streamed: the head at once, then each chunk as it is produced (Server-Sent Events and the like).
const STREAM_AFTER_MS = 10;
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

async function readBody(id, response) {
  if (response.body === null) return bodyItem(id, response, null);
  const reader = response.body.getReader();
  const chunks = [];
  let timer;
  const slow = new Promise((resolve) => { timer = setTimeout(resolve, STREAM_AFTER_MS, SLOW); });
  let next = reader.read();
  for (;;) {
    const result = await Promise.race([next, slow]);
    if (result === SLOW) break;
    if (result.done) {
      clearTimeout(timer);
      return bodyItem(id, response, chunks.length ? concat(chunks) : null);
    }
    chunks.push(result.value);
    next = reader.read();
  }
  post([id, response.status, response.statusText, headerList(headersOf(response)), null, 3]);
  for (const chunk of chunks) post(chunkItem(id, chunk));
  try {
    for (;;) {
      const result = await next;
      if (result.done) break;
      post(chunkItem(id, result.value));
      next = reader.read();
    }
    post([id, -2]);
  } catch (e) {
    post([id, -3, e instanceof Error ? `${e.name}: ${e.message}` : String(e)]);
  }
  return null;
}

function toItem(id, response) {
  if (!(response instanceof NativeResponse)) {
    return [id, 0, "type", `fetch() must return a Response (or a promise of one), but it returned ${describe(response)}`, ""];
  }
  if (!response.bodyUsed && kBody in response) return bodyItem(id, response, response[kBody]);
  return readBody(id, response);
}

function failure(id, error) {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : `Uncaught ${describe(error)}`;
  return [id, 0, "throw", message, error instanceof Error ? String(error.stack ?? "") : ""];
}

let app = null;
let env = null;

// Names a browser's Request silently drops ("forbidden request headers"); a server must still see them.
const FORBIDDEN = new Set(["accept-charset", "accept-encoding", "access-control-request-headers",
  "access-control-request-method", "access-control-request-private-network", "connection", "content-length",
  "cookie", "cookie2", "date", "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te",
  "trailer", "transfer-encoding", "upgrade", "via"]);

function isForbidden(name) {
  const lower = name.toLowerCase();
  return FORBIDDEN.has(lower) || lower.startsWith("proxy-") || lower.startsWith("sec-");
}

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
  const init = { method };
  let hidden = false;
  if (flat.length) {
    const pairs = [];
    for (let i = 0; i < flat.length; i += 2) {
      if (isForbidden(flat[i])) hidden = true;
      else pairs.push([flat[i], flat[i + 1]]);
    }
    init.headers = pairs;
  }
  if (encoding === 1) init.body = body;
  else if (encoding === 2) init.body = fromBase64(body);
  const request = new Request(url, init);
  if (hidden) {
    // request.headers then shows every header as sent, built only if the handler looks at it.
    let all;
    Object.defineProperty(request, "headers", {
      get() {
        if (all === undefined) {
          all = new Headers();
          for (let i = 0; i < flat.length; i += 2) all.append(flat[i], flat[i + 1]);
        }
        return all;
      },
      enumerable: true,
      configurable: true,
    });
  }
  return { id, request, ctx: new Context(remoteAddress, remotePort) };
}

function handle(r, batch) {
  let id = r[0];
  let finish = (item) => {
    if (batch.open) {
      if (item !== null) batch.out.push(item); // null: streamed, its items go out through post()
      if (--batch.pending === 0) batch.close();
    } else if (item !== null) {
      post(item);
    }
  };
  try {
    const { request, ctx } = makeRequest(r);
    const result = app.fetch(request, env, ctx);
    if (result instanceof NativeResponse) {
      const item = toItem(id, result);
      if (Array.isArray(item)) finish(item);
      else item.then(finish, (e) => finish(failure(id, e)));
      return;
    }
    Promise.resolve(result).then(
      (response) => {
        const item = toItem(id, response);
        if (Array.isArray(item)) finish(item);
        else item.then(finish, (e) => finish(failure(id, e)));
      },
      (e) => finish(failure(id, e)));
  } catch (e) {
    finish(failure(id, e));
  }
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
