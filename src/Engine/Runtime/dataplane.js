// The tab's data plane: one WebSocket to its own page server (src/Engine/DataPlane/TabDataPlane.cs), binary messages
// both ways, beside CDP (the control plane). Bytes of `inlineMax` or more travel here as one message; the control
// message carries its number instead ([number, BodyEncoding.Data]). Each side numbers what it sends 1, 2, 3… (the
// socket keeps the order, so numbers are never sent); a payload that refers to data starts with the highest number
// it needs ("12;[...]"), and the receiver holds it, and what comes after it, until that data is there.

// Taken before the app's modules run, and used only as these functions: an app that patches WebSocket or its
// prototype can neither see the plane's socket (nor its token) nor put itself between the runtime and the host.
const NativeWebSocket = globalThis.WebSocket;
const nativeSend = NativeWebSocket.prototype.send;
const setter = (name) => Object.getOwnPropertyDescriptor(NativeWebSocket.prototype, name).set;
const setBinaryType = setter("binaryType");
const setOnOpen = setter("onopen");
const setOnMessage = setter("onmessage");
const setOnError = setter("onerror");
const setOnClose = setter("onclose");
const { apply } = Reflect;
const setTimer = globalThis.setTimeout.bind(globalThis);
const OPEN_WITHIN_MS = 2000;

const encoder = new TextEncoder();
let socket = null;
let parts = [];         // what goes in the next message: copies of bytes, or strings
let inlineMax = Infinity;
let sent = 0;           // messages sent to the host
let need = 0;           // the highest of them the next payload may refer to
let received = 0;       // messages received from the host
const frames = new Map(); // number → Uint8Array, until taken
const held = [];        // [need, run]: batches waiting for their data, in order

// Opens the plane (called once by the host after the app loaded); resolves "open", or why not (within 2 s: a tab
// whose plane does not open serves with every body inline).
export function openPlane(url, threshold) {
  return new Promise((resolve) => {
    setTimer(() => resolve(`the data plane did not open within ${OPEN_WITHIN_MS} ms`), OPEN_WITHIN_MS);
    let ws;
    try {
      ws = new NativeWebSocket(url);
    } catch (e) {
      resolve(String(e));
      return;
    }
    apply(setBinaryType, ws, ["arraybuffer"]);
    apply(setOnOpen, ws, [() => {
      socket = ws;
      inlineMax = threshold;
      resolve("open");
    }]);
    apply(setOnMessage, ws, [(e) => {
      // [count u32][length u32 × count][bytes…], little-endian: a batch's bodies, numbered in turn (views, no copy).
      const view = new DataView(e.data);
      const count = view.getUint32(0, true);
      let offset = 4 + 4 * count;
      for (let i = 0; i < count; i++) {
        const length = view.getUint32(4 + 4 * i, true);
        frames.set(++received, new Uint8Array(e.data, offset, length));
        offset += length;
      }
      release();
    }]);
    apply(setOnError, ws, [() => resolve("the data plane's socket failed")]);
    apply(setOnClose, ws, [() => {
      socket = null;
      inlineMax = Infinity;
      resolve("the data plane's socket closed");
    }]);
  });
}

// Whether `length` bytes go on the plane.
export function carries(length) {
  return length >= inlineMax && socket !== null;
}

// Parts this large leave at once, alone: a copy (and the allocation) would cost more than their own message.
const ALONE = 64 * 1024;

// Adds bytes (copied now: the caller may reuse its buffer) or a string to the next message; returns their number for
// the control message. What was added leaves, as one message, before the next payload that could refer to it. A large
// string goes at once as a text message; large bytes at once as a header-only frame announcing them ([1][length])
// and then the bytes as they are (the browser copies them as it sends).
export function sendData(data) {
  const string = typeof data === "string";
  if (data.length >= ALONE && socket !== null) {
    flush();
    if (string) {
      apply(nativeSend, socket, [data]);
    } else {
      const header = new DataView(new ArrayBuffer(8));
      header.setUint32(0, 1, true);
      header.setUint32(4, data.length, true);
      apply(nativeSend, socket, [header.buffer]);
      apply(nativeSend, socket, [data]);
    }
  } else {
    parts.push(string ? data : data.slice());
  }
  need = ++sent;
  return sent;
}

// One part alone that is a string goes as a text message (Blink makes its UTF-8 natively); anything else as one
// binary message framed as the host's: [count u32][length u32 × count][bytes…].
function flush() {
  if (parts.length === 0) return;
  const out = parts;
  parts = [];
  if (socket === null) return; // the plane closed: the host gives this tab up
  if (out.length === 1 && typeof out[0] === "string") {
    apply(nativeSend, socket, [out[0]]);
    return;
  }
  const bytes = out.map((p) => (typeof p === "string" ? encoder.encode(p) : p));
  let total = 4 + 4 * bytes.length;
  for (const b of bytes) total += b.length;
  const message = new Uint8Array(total);
  const view = new DataView(message.buffer);
  view.setUint32(0, bytes.length, true);
  let offset = 4 + 4 * bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    view.setUint32(4 + 4 * i, bytes[i].length, true);
    message.set(bytes[i], offset);
    offset += bytes[i].length;
  }
  apply(nativeSend, socket, [message]);
}

// A payload for the host, once what it may refer to has left: prefixed with the data it needs, if any since the last.
export function withNeed(payload) {
  flush();
  if (need === 0) return payload;
  const n = need;
  need = 0;
  return `${n};${payload}`;
}

// The bytes of the host's message `number` (once).
export function takeData(number) {
  const bytes = frames.get(number);
  if (bytes === undefined) throw new Error(`data-plane message ${number} is not here`);
  frames.delete(number);
  return bytes;
}

// Runs `run` once the host's message `n` is here and every batch held before it has run.
export function whenReceived(n, run) {
  if (held.length === 0 && received >= n) return run();
  return new Promise((resolve, reject) => {
    held.push([n, () => {
      try {
        resolve(run());
      } catch (e) {
        reject(e);
      }
    }]);
  });
}

function release() {
  while (held.length !== 0 && held[0][0] <= received) held.shift()[1]();
}
