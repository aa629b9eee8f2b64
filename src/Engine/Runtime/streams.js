// Response bodies: whole when they are complete soon, else streamed to the host with flow control.
import { post } from "./channel.js";
import { nativeClearTimeout, nativeSetTimeout } from "./limits.js";
import { BodyEncoding, PageMessage, dataMessage, encodeBytes, encodeText } from "./protocol.js";

// A whole response: head is [status, statusText, [name, value, ...]].
export function responseMessage(id, head, body) {
  if (body === null || body === undefined) return [PageMessage.Response, id, ...head, null, BodyEncoding.None];
  if (typeof body === "string") return [PageMessage.Response, id, ...head, ...encodeText(body)];
  const bytes = body instanceof ArrayBuffer ? new Uint8Array(body) : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (bytes.length === 0) return [PageMessage.Response, id, ...head, null, BodyEncoding.None];
  return [PageMessage.Response, id, ...head, ...encodeBytes(bytes)];
}

// A body that is complete within STREAM_AFTER_MS and STREAM_AFTER_BYTES goes back whole (with Content-Length); one
// still coming after that is streamed: the head at once, then each chunk as it is produced (Server-Sent Events and
// the like). The byte limit matters for a producer that never yields to a macrotask: the timer cannot fire then.
const STREAM_AFTER_MS = 10;
const STREAM_AFTER_BYTES = 1024 * 1024;
const SLOW = Symbol("slow");

function chunkMessage(id, value) {
  const bytes = value instanceof Uint8Array ? value : new Uint8Array(value.buffer ?? value, value.byteOffset ?? 0, value.byteLength);
  return dataMessage(PageMessage.BodyChunk, id, bytes);
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

// Reads a Blink Response's body (a stream, a Blob, a fetch() result...): the whole response message, or null once
// it was streamed (its head and chunks were posted).
export async function readBody(id, head, native) {
  if (native.body === null) return responseMessage(id, head, null);
  const reader = native.body.getReader();
  const chunks = [];
  let buffered = 0;
  let timer;
  const slow = new Promise((resolve) => { timer = nativeSetTimeout(resolve, STREAM_AFTER_MS, SLOW); });
  let next = reader.read();
  for (;;) {
    const result = await Promise.race([next, slow]);
    if (result === SLOW) break;
    if (result.done) {
      nativeClearTimeout(timer);
      return responseMessage(id, head, chunks.length ? concat(chunks) : null);
    }
    chunks.push(result.value);
    buffered += result.value.byteLength;
    next = reader.read();
    if (buffered > STREAM_AFTER_BYTES) {
      nativeClearTimeout(timer);
      break;
    }
  }
  post([PageMessage.ResponseHead, id, ...head]);
  const flow = { sent: 0, taken: 0, resume: null, reader, cancelled: false };
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
    if (!flow.cancelled) post([PageMessage.BodyEnd, id]);
  } catch (e) {
    if (!flow.cancelled) post([PageMessage.BodyError, id, e instanceof Error ? `${e.name}: ${e.message}` : String(e)]);
  } finally {
    streams.delete(id);
  }
  return null;
}

// Flow control of streamed bodies: at most STREAM_WINDOW bytes sent that the client's connection has not taken yet;
// the host tells how many bytes were taken in all (HostMessage.StreamAck, cumulative: a repeat is harmless). A
// handler that produces faster than its client reads waits here (its stream's pull() is not called meanwhile), so
// the host never holds more than the window.
const STREAM_WINDOW = 1024 * 1024;
const streams = new Map();

function sendChunk(id, flow, value) {
  post(chunkMessage(id, value));
  flow.sent += value.byteLength;
  if (flow.sent - flow.taken <= STREAM_WINDOW) return undefined;
  return new Promise((resolve) => { flow.resume = resolve; });
}

function resume(flow) {
  if (flow.resume !== null) {
    const resolve = flow.resume;
    flow.resume = null;
    resolve();
  }
}

// The client went away (or the response has no body): the handler's stream is cancelled, so its producer stops.
export function streamCancel(id) {
  const flow = streams.get(id);
  if (flow === undefined || flow.cancelled) return;
  flow.cancelled = true;
  flow.reader.cancel(new DOMException("The client went away.", "AbortError")).catch(() => {});
  resume(flow);
}

export function streamTaken(id, taken) {
  const flow = streams.get(id);
  if (flow === undefined || taken <= flow.taken) return;
  flow.taken = taken;
  if (flow.sent - flow.taken <= STREAM_WINDOW) resume(flow);
}
