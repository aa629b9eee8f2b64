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
// Responses finished before the next macrotask ride back in the Runtime.evaluate result (one CDP message);
// later ones are coalesced per macrotask and sent through the __lpDone binding.

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

// Under load V8 lets garbage pile up: Request/Response/Headers are Blink objects whose memory a major GC frees
// (measured: a tab at 400 MiB after 200k requests drops to under 180 MiB after one gc()). So every GC_EVERY
// requests a full collection runs between batches (Chromium is started with --js-flags=--expose-gc).
const GC_EVERY = 25000;
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
  const batch = {
    open: true,
    out: [],
    pending: items.length,
    close() {
      if (!batch.open) return;
      batch.open = false;
      // One JSON string: V8's JSON.stringify is far cheaper than the inspector's by-value serialization.
      resolve(batch.out.length ? JSON.stringify(batch.out) : "");
    },
  };
  for (const r of items) handle(r, batch);
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
