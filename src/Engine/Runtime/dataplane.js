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

let socket = null;
let inlineMax = Infinity;
let sent = 0;           // messages sent to the host
let need = 0;           // the highest of them the next payload may refer to
let received = 0;       // messages received from the host
const frames = new Map(); // number → Uint8Array, until taken
const held = [];        // [need, run]: batches waiting for their data, in order

// Opens the plane (called once by the host after the app loaded); resolves "open", or why not.
export function openPlane(url, threshold) {
  return new Promise((resolve) => {
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
      frames.set(++received, new Uint8Array(e.data));
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

// Sends bytes (the browser copies them at once), or a string as a text message (Blink makes its UTF-8 natively, with
// no copy in the JavaScript heap); returns their number for the control message.
export function sendData(data) {
  apply(nativeSend, socket, [data]);
  need = ++sent;
  return sent;
}

// A payload for the host: prefixed with the data it needs, if any since the last payload.
export function withNeed(payload) {
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
