// LeanProxy page runtime: turns the batches the host sends over CDP (__lp.d([...]), see protocol.js) into calls of
// the app's export default { fetch, connect, datagram } and sends the answers back. Loaded as an ES module by the
// bootstrap page (src/Engine/Pages/PageServer.cs) before the app's own modules.
//   facades.js  Request/Response as handlers see them     http.js  fetch(request, env, ctx)
//   streams.js  response bodies, streamed with credit      udp.js   datagram(message, info, env, ctx)
//   tcp.js      connect(socket, env, ctx)                  channel.js  answers through the __lpDone binding
//   apis.js     fetch, Cache API, WebAssembly take the facades   limits.js  caps on pending timers
//   subrequests.js  fetch() to other servers, made by the host
import "./limits.js";
import "./apis.js";
import { current } from "./app.js";
import { onNextTick } from "./channel.js";
import "./facades.js";
import { handleRequest } from "./http.js";
import { openPlane, whenReceived, withNeed } from "./dataplane.js";
import { HostMessage } from "./protocol.js";
import { streamCancel, streamTaken } from "./streams.js";
import { KvNamespace, flushKvCalls, kvInvalidate, kvReply } from "./kv.js";
import { fetchChunk, fetchCredit, fetchEnd, fetchError, fetchHead, flushFetchCalls } from "./subrequests.js";
import { failConnection, handleTcp } from "./tcp.js";
import { handleDatagram } from "./udp.js";

// Many npm packages read process.env.NODE_ENV (bundlers replace it; a browser has no process): a minimal one, as
// bundlers and Workers' nodejs_compat give, unless the page has one. Evaluated before the app's modules.
if (globalThis.process === undefined) {
  Object.defineProperty(globalThis, "process", {
    value: Object.freeze({ env: Object.freeze({ NODE_ENV: "production" }), browser: true }),
    configurable: true,
    writable: true,
  });
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
// request and datagram is answered (a synchronous handler costs no extra task), or at the next macrotask with what
// is done by then. Flow control goes first, before any handler runs: a handler that spins until it is terminated
// cannot make an acknowledgement of the same batch be lost.
// A batch that refers to data-plane messages (need > 0) runs once they are here; batches after it wait their turn.
function dispatch(messages, need = 0) {
  return whenReceived(need, () => run(messages));
}

function run(messages) {
  flushKvCalls();
  flushFetchCalls();
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  let answered = 0;
  for (const m of messages) {
    switch (m[0]) {
      case HostMessage.Request:
      case HostMessage.Datagram: answered++; break;
      case HostMessage.StreamAck: streamTaken(m[1], m[2]); break;
      case HostMessage.StreamCancel: streamCancel(m[1]); break;
      case HostMessage.KvReply: kvReply(m); break;
      case HostMessage.KvInvalidate: kvInvalidate(m); break;
      case HostMessage.FetchHead: fetchHead(m); break;
      case HostMessage.FetchChunk: fetchChunk(m); break;
      case HostMessage.FetchEnd: fetchEnd(m); break;
      case HostMessage.FetchError: fetchError(m); break;
      case HostMessage.FetchCredit: fetchCredit(m); break;
    }
  }
  const batch = {
    open: true,
    out: [],
    pending: answered,
    close() {
      if (!batch.open) return;
      batch.open = false;
      // One JSON string: V8's JSON.stringify is far cheaper than the inspector's by-value serialization.
      resolve(batch.out.length ? withNeed(JSON.stringify(batch.out)) : "");
    },
  };
  for (const m of messages) {
    switch (m[0]) {
      case HostMessage.Request: handleRequest(m, batch); break;
      case HostMessage.Datagram: handleDatagram(m, batch); break;
      case HostMessage.StreamAck:
      case HostMessage.StreamCancel:
      case HostMessage.KvReply:
      case HostMessage.KvInvalidate:
      case HostMessage.FetchHead:
      case HostMessage.FetchChunk:
      case HostMessage.FetchEnd:
      case HostMessage.FetchError:
      case HostMessage.FetchCredit: break;
      default:
        try {
          handleTcp(m);
        } catch (e) {
          failConnection(m[1], e);
        }
    }
  }
  maybeCollect(messages.length);
  if (batch.open) {
    if (batch.pending === 0) batch.close();
    else onNextTick(batch.close);
  }
  return promise;
}

// The host's entry points, fixed before the app's modules run: an app cannot replace them (to see its batches or its
// data plane's token) or take their name first.
Object.defineProperty(globalThis, "__lp", {
  value: Object.freeze({ d: dispatch, plane: openPlane }),
  writable: false,
  enumerable: false,
  configurable: false,
});

export function start(module, config) {
  const handler = module.default;
  const exports = {
    fetch: typeof handler?.fetch === "function",
    connect: typeof handler?.connect === "function",
    datagram: typeof handler?.datagram === "function",
  };
  current.app = handler ?? {};
  const env = { ...config.env };
  for (const binding of config.kv ?? []) env[binding] = new KvNamespace(binding);
  current.env = Object.freeze(env);
  globalThis.__lpSettle({ t: "ready", exports });
}
