// Request and Response facades, installed as the page's globals before the app's modules are evaluated.
import { headerList, headerPairs, headersOf } from "./headers.js";
import { takeData } from "./dataplane.js";
import { BodyEncoding, decoder, describe, encoder, fromBase64 } from "./protocol.js";
import { normalizeUrl } from "./urls.js";

// --- Request and Response ---------------------------------------------------------------------------------------
// Blink's Request and Response constructors are the largest cost of a small request in the page (measured: about
// a third of the renderer's time for a hello handler). So the request a handler receives, and the Response it builds
// from a string, bytes or JSON, are JavaScript objects that hold their parts as given; a Blink object is made only
// when something needs one (a body stream, blob(), formData(), signal, fetch(request), the Cache API). Both are
// `instanceof Request` / `instanceof Response` and have every member of Blink's, and they keep what a browser's drop
// but a server must not: forbidden request headers (Cookie, Host, ...) and Set-Cookie on a response.
export const NativeRequest = globalThis.Request;
export const NativeResponse = globalThis.Response;
export const nativeResponseHeaders = Object.getOwnPropertyDescriptor(NativeResponse.prototype, "headers").get;

export const kNative = Symbol("leanproxy.native");   // the Blink object, once made (undefined until then)
export const kBody = Symbol("leanproxy.body");       // null | string | Uint8Array; NO_SIMPLE_BODY: the body lives in kNative
const kUsed = Symbol("leanproxy.used");       // the body was read without a Blink object
const kHeaders = Symbol("leanproxy.headers"); // a guard-less Headers, made when first needed
export const NO_SIMPLE_BODY = Symbol("leanproxy.nativeBody");
const kSimpleBody = Symbol("leanproxy.simpleBody");
export const kToNative = Symbol("leanproxy.toNative");
export const kHeaderList = Symbol("leanproxy.headerList");
const kMethod = Symbol("leanproxy.method");
const kUrl = Symbol("leanproxy.url");
const kNormalized = Symbol("leanproxy.normalized");
const kFlat = Symbol("leanproxy.flat");
const kBase64 = Symbol("leanproxy.base64");     // kBody is base64 text not decoded yet
export const kStatus = Symbol("leanproxy.status");
export const kStatusText = Symbol("leanproxy.statusText");
const kDefaultType = Symbol("leanproxy.defaultType"); // a string body and no content-type given: text/plain
const kResponseUrl = Symbol("leanproxy.responseUrl");   // a subrequest's answer: the URL it came from
const kRedirected = Symbol("leanproxy.redirected");     // ... and whether a redirect led there
export const kFetchId = Symbol("leanproxy.fetchId");    // ... and its id (a handler that returns it as it is: the host forwards it)

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

// The header list a Request was made with, forbidden names included (Blink's Request drops them; the host's fetch
// sends them, as Workers does); and the Requests made with a stream body (the host's fetch streams them).
const madeWith = new WeakMap();
const streamBodies = new WeakSet();
export function madeWithStream(request) {
  return streamBodies.has(request);
}

// What fetch(request) sends of a request's headers: all of them for the one a handler received or a Request it made.
export function requestHeaderPairs(request) {
  if (request instanceof IncomingRequest) return headerPairs(request.headers);
  if (request !== null && typeof request === "object") {
    const made = madeWith.get(request);
    if (made !== undefined) return made;
    if (request instanceof NativeRequest) return headerPairs(request.headers);
  }
  return [];
}

// new Request(...) made by a handler is Blink's; it also accepts the facade as its input.
class Request extends NativeRequest {
  constructor(input, init) {
    super(input instanceof IncomingRequest ? input[kToNative]() : input, init);
    if (init?.headers !== undefined) madeWith.set(this, headerPairs(init.headers));
    else if (input instanceof IncomingRequest || madeWith.has(input)) madeWith.set(this, requestHeaderPairs(input));
    if (init?.body instanceof ReadableStream || (init?.body === undefined && streamBodies.has(input))) streamBodies.add(this);
  }
  static [Symbol.hasInstance](value) {
    return this === Request ? value instanceof NativeRequest : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}
Object.defineProperty(Request, "name", { value: "Request" });

const STANDARD_METHODS = /^(?:get|head|post|put|delete|options)$/i;

// The request a handler receives: built from the wire item, a Blink Request only if needed.
export class IncomingRequest {
  constructor(method, url, flat, body, encoding) {
    this[kNative] = undefined;
    this[kBody] = encoding === BodyEncoding.None ? null : encoding === BodyEncoding.Data ? takeData(body) : body;
    this[kBase64] = encoding === BodyEncoding.Base64;
    this[kUsed] = false;
    this[kHeaders] = undefined;
    this[kMethod] = STANDARD_METHODS.test(method) ? method.toUpperCase() : method;
    this[kUrl] = url;
    this[kNormalized] = false;   // kUrl is normalised
    this[kFlat] = flat;
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
      headers = headersOf(this[kFlat]);
      this[kHeaders] = headers;
    }
    return headers;
  }
  [kSimpleBody]() {
    if (this[kBase64]) {
      this[kBody] = fromBase64(this[kBody]);
      this[kBase64] = false;
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
    const copy = new IncomingRequest(this[kMethod], this[kUrl], [], null, BodyEncoding.None);
    copy[kNormalized] = this[kNormalized];
    const headers = this.headers;
    copy[kHeaders] = new Headers(headers);
    const native = this[kNative];
    if (native !== undefined) copy[kNative] = native.clone();
    else {
      const body = this[kSimpleBody]();
      copy[kBody] = body instanceof Uint8Array ? body.slice() : body;
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

export class Response {
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
  get url() { return this[kResponseUrl] ?? this[kNative]?.url ?? ""; }
  get redirected() { return this[kRedirected] ?? this[kNative]?.redirected ?? false; }
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
    if (this[kResponseUrl] !== undefined) {
      copy[kResponseUrl] = this[kResponseUrl];
      copy[kRedirected] = this[kRedirected];
    }
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

// The answer to a subrequest (subrequests.js): its body a stream from the host, every header it came with (Set-Cookie
// too), the URL it came from.
export function subrequestResponse(stream, status, statusText, flat, url, redirected, fetchId) {
  const response = adopt(Object.create(Response.prototype), new NativeResponse(NULL_BODY_STATUS.has(status) ? null : stream,
    { status, statusText }));
  response[kHeaders] = headersOf(flat);
  response[kResponseUrl] = url;
  response[kRedirected] = redirected;
  response[kFetchId] = fetchId;
  if (NULL_BODY_STATUS.has(status)) stream.cancel().catch(() => {});
  return response;
}

// Blink objects for the browser APIs that take a Request or a Response (apis.js hands them these).
export function nativeRequestOf(input) {
  return input instanceof IncomingRequest ? input[kToNative]() : input;
}
export function nativeResponseOf(value) {
  return value !== null && typeof value === "object" && kNative in value && value instanceof Response ? value[kToNative]() : value;
}
globalThis.Request = Request;
globalThis.Response = Response;
