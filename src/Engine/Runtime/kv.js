// env.BINDING for KV bindings: Cloudflare Workers KV's API. Calls go to the host through the __lpKv binding (the
// calls of one turn of the event loop travel together); answers come back in the tab's next batch (HostMessage.KvReply).
// Arguments are checked here, with Workers' kinds of error and messages that name the limit; the host checks again.
//
// What a get read stays in this tab's cache, so that a hot key costs no round trip: the host tells every tab that
// used KV when a value changes (a write on this node, before the writer's call returns; another node's, through the
// store's log within about a second: HostMessage.KvInvalidate, which a batch handles before its requests), and an
// answer that crossed a change on its way is not kept. cacheTtl (default 60 s, as in Workers) bounds how long an
// entry is used without asking, whatever happens to the log.
import { withNeed } from "./dataplane.js";
import { BodyEncoding, decodeData, decoder, encodeBytes, encoder } from "./protocol.js";

const KEY_LIMIT = 512;
const VALUE_LIMIT = 25 * 1024 * 1024;
const METADATA_LIMIT = 1024;
const LIST_LIMIT = 1000;
const BULK_LIMIT = 100;
const TYPES = new Set(["text", "json", "arrayBuffer", "stream"]);
const CACHE_TTL = 60;
const CACHE_ENTRIES = 1024;
const CACHE_BYTES = 8 * 1024 * 1024;
const CACHE_VALUE = 256 * 1024; // larger values are read from the host each time

// binding + "\u0000" + key → { entry: [data, encoding, metadata, expiration] | null, at: ms, size }; in use order.
const cache = new Map();
let cachedBytes = 0;
let epoch = 0; // bumped by every change the host tells of

const pending = new Map();
let nextId = 1;
let queue = [];

function send(calls) {
  globalThis.__lpKv(withNeed(JSON.stringify(calls)));
}

function call(binding, op, args) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    queue.push([id, binding, op, ...args]);
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flushKvCalls);
    }
  });
}

let scheduled = false;

// Sends the calls waiting; index.js also calls it when a batch comes (a terminated script takes its microtasks along).
export function flushKvCalls() {
  scheduled = false;
  if (queue.length === 0) return;
  const calls = queue;
  queue = [];
  send(calls);
}

// [KvReply, callId, ok, result]: ok 1 → the result; ok 0 → [kind, message]. A repeat (after a stopped batch) is ignored.
export function kvReply(message) {
  const [, id, ok, result] = message;
  const waiter = pending.get(id);
  if (waiter === undefined) return;
  pending.delete(id);
  if (ok) waiter.resolve(result);
  else waiter.reject(result[0] === "TypeError" ? new TypeError(result[1]) : new Error(result[1]));
}

// [KvInvalidate, 0, binding, key]: null key, the whole binding; null binding, everything.
export function kvInvalidate(message) {
  const [, , binding, key] = message;
  epoch++;
  if (binding === null) {
    cache.clear();
    cachedBytes = 0;
  } else if (key === null) {
    const prefix = binding + "\u0000";
    for (const [k, hit] of cache) if (k.startsWith(prefix)) drop(k, hit);
  } else {
    const k = binding + "\u0000" + key;
    const hit = cache.get(k);
    if (hit !== undefined) drop(k, hit);
  }
}

function drop(k, hit) {
  cache.delete(k);
  cachedBytes -= hit.size;
}

function lookup(binding, name, ttl, now) {
  const k = binding + "\u0000" + name;
  const hit = cache.get(k);
  if (hit === undefined) return undefined;
  const expiration = hit.entry === null ? null : hit.entry[3];
  if (now - hit.at >= ttl * 1000 || (expiration !== null && expiration * 1000 <= now)) {
    drop(k, hit);
    return undefined;
  }
  cache.delete(k);
  cache.set(k, hit);
  return hit.entry;
}

function remember(binding, name, entry, at) {
  const size = name.length + (entry === null ? 0 : entry[0].length + (entry[2]?.length ?? 0));
  if (size > CACHE_VALUE) return;
  const k = binding + "\u0000" + name;
  const old = cache.get(k);
  if (old !== undefined) drop(k, old);
  cache.set(k, { entry, at, size });
  cachedBytes += size;
  for (const [oldest, hit] of cache) {
    if (cache.size <= CACHE_ENTRIES && cachedBytes <= CACHE_BYTES) break;
    drop(oldest, hit);
  }
}

// The entries of names, from the cache when all are there and fresh enough, else from the host (and then cached).
async function entriesOf(binding, names, ttl) {
  const now = Date.now();
  const hits = names.map((name) => lookup(binding, name, ttl, now));
  if (!hits.includes(undefined)) return hits;
  const sent = epoch;
  const entries = await call(binding, "get", [names]);
  for (const entry of entries) {
    // A large value came on the data plane: taken once, kept as its bytes (each read gets a copy, see toValue).
    if (entry !== null && entry[1] === BodyEncoding.Data) {
      entry[0] = decodeData(entry[0], entry[1]);
      entry[1] = BYTES;
    }
  }
  if (epoch === sent) names.forEach((name, i) => remember(binding, name, entries[i], now));
  return entries;
}

function failure(op, status, text) {
  return new Error(`KV ${op} failed: ${status} ${text}`);
}

function checkKey(op, key) {
  const name = String(key);
  if (name === "") throw failure(op, 400, "Key names must not be empty.");
  if (name === "." || name === "..") throw failure(op, 400, `Illegal key name "${name}". Please use a different name.`);
  const length = encoder.encode(name).length;
  if (length > KEY_LIMIT) throw failure(op, 414, `UTF-8 encoded length of ${length} exceeds key length limit of ${KEY_LIMIT}.`);
  return name.toWellFormed(); // as the host reads it (a lone surrogate is U+FFFD in UTF-8)
}

function checkType(type) {
  const t = type ?? "text";
  if (!TYPES.has(t)) throw new TypeError('Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".');
  return t;
}

function ttlOf(options) {
  return options !== null && typeof options === "object" && options.cacheTtl !== undefined ? options.cacheTtl : CACHE_TTL;
}

function typeOf(options) {
  if (options === undefined || options === null) return "text";
  if (typeof options === "string") return checkType(options);
  if (typeof options === "object") {
    if (options.cacheTtl !== undefined && !(Number.isInteger(options.cacheTtl) && options.cacheTtl >= 30)) {
      throw failure("GET", 400, `Invalid cache_ttl of ${options.cacheTtl}. Cache TTL must be at least 30.`);
    }
    return checkType(options.type);
  }
  throw new TypeError('Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".');
}

// A cached entry whose value is its bytes already (it came on the data plane).
const BYTES = -1;

function toValue(entry, type) {
  if (entry === null) return null;
  const bytes = entry[1] === BYTES ? entry[0].slice() : decodeData(entry[0], entry[1]);
  switch (type) {
    case "text": return decoder.decode(bytes);
    case "json": return JSON.parse(decoder.decode(bytes));
    case "arrayBuffer": return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    default: return new ReadableStream({ start(controller) { controller.enqueue(bytes); controller.close(); } });
  }
}

function metadataOf(entry) {
  return entry === null || entry[2] === null ? null : JSON.parse(entry[2]);
}

async function bytesOf(value) {
  if (typeof value === "string") return encoder.encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ReadableStream) return new Uint8Array(await new Response(value).arrayBuffer());
  throw new TypeError("KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.");
}

export class KvNamespace {
  #binding;

  constructor(binding) {
    this.#binding = binding;
  }

  async get(key, options) {
    const type = typeOf(options);
    const ttl = ttlOf(options);
    if (Array.isArray(key)) {
      if (key.length > BULK_LIMIT) throw failure("GET_BULK", 400, `You can request a maximum of ${BULK_LIMIT} keys.`);
      if (type === "arrayBuffer" || type === "stream") throw new TypeError(`"${type}" is not a valid type for a bulk get; use "text" or "json".`);
      const names = key.map((k) => checkKey("GET_BULK", k));
      const entries = await entriesOf(this.#binding, names, ttl);
      return new Map(names.map((name, i) => [name, toValue(entries[i], type)]));
    }
    const entries = await entriesOf(this.#binding, [checkKey("GET", key)], ttl);
    return toValue(entries[0], type);
  }

  async getWithMetadata(key, options) {
    const type = typeOf(options);
    const ttl = ttlOf(options);
    if (Array.isArray(key)) {
      const names = key.map((k) => checkKey("GET_BULK", k));
      const entries = await entriesOf(this.#binding, names, ttl);
      return new Map(names.map((name, i) => [name, { value: toValue(entries[i], type), metadata: metadataOf(entries[i]) }]));
    }
    const entries = await entriesOf(this.#binding, [checkKey("GET", key)], ttl);
    return { value: toValue(entries[0], type), metadata: metadataOf(entries[0]) };
  }

  async put(key, value, options = {}) {
    const name = checkKey("PUT", key);
    const bytes = await bytesOf(value);
    if (bytes.length > VALUE_LIMIT) throw failure("PUT", 413, `Value length of ${bytes.length} exceeds limit of ${VALUE_LIMIT}.`);
    let metadata = null;
    if (options.metadata !== undefined && options.metadata !== null) {
      metadata = JSON.stringify(options.metadata);
      const length = encoder.encode(metadata).length;
      if (length > METADATA_LIMIT) throw failure("PUT", 413, `Metadata length of ${length} exceeds limit of ${METADATA_LIMIT}.`);
    }
    const now = Math.floor(Date.now() / 1000);
    let expiration = null;
    if (options.expiration !== undefined) {
      expiration = Number(options.expiration);
      if (!Number.isFinite(expiration) || expiration <= now) {
        throw failure("PUT", 400, `Invalid expiration of ${options.expiration}. ` +
          "Please specify integer greater than the current number of seconds since the UNIX epoch.");
      }
      expiration = Math.floor(expiration);
    }
    if (options.expirationTtl !== undefined) {
      const ttl = Number(options.expirationTtl);
      if (!Number.isFinite(ttl) || ttl < 1) {
        throw failure("PUT", 400, `Invalid expiration_ttl of ${options.expirationTtl}. Please specify integer greater than 0.`);
      }
      expiration = now + Math.floor(ttl);
    }
    const [data, encoding] = encodeBytes(bytes);
    await call(this.#binding, "put", [name, data, encoding, metadata, expiration]);
  }

  async delete(key) {
    await call(this.#binding, "delete", [checkKey("DELETE", key)]);
  }

  async list(options = {}) {
    const limit = options.limit ?? LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT) {
      throw failure("LIST", 400, `Invalid key_count_limit of ${limit}. Please specify an integer between 1-${LIST_LIMIT}.`);
    }
    const prefix = options.prefix === undefined || options.prefix === null ? "" : String(options.prefix);
    const cursor = options.cursor === undefined || options.cursor === null || options.cursor === "" ? null : String(options.cursor);
    const page = await call(this.#binding, "list", [prefix, limit, cursor]);
    const keys = page.keys.map(([name, expiration, metadata]) => {
      const key = { name };
      if (expiration !== null) key.expiration = expiration;
      if (metadata !== null) key.metadata = JSON.parse(metadata);
      return key;
    });
    return page.complete ? { keys, list_complete: true, cacheStatus: null } : { keys, list_complete: false, cursor: page.cursor, cacheStatus: null };
  }
}
