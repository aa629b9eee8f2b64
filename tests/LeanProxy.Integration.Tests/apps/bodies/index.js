// Bodies of every kind, both ways, for DataPlaneTests: what crosses the tab's data plane (4 KiB and more) and what
// rides inline, checked byte for byte by the test.
//   POST /echo           the body back, as bytes (arrayBuffer)      POST /text    text() back, as a string
//   POST /json           json() back, re-serialized                 POST /form    formData() summarized as JSON
//   POST /stream         request.body read chunk by chunk: its bytes back
//   GET  /text?n&c       n copies of the string c                    GET /bytes?n  n bytes (i * 131 + 7) & 255
//   GET  /blob?n         a Blob of those bytes                        GET /chunks?n&size&ms  a ReadableStream, size-byte chunks ms apart
//   POST /hold?id        reads the body, logs "hold ID N", then waits (a tab killed meanwhile)
//   GET  /probe          what this page could reach of its data plane
function bytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 255;
  return b;
}

const seen = { send: 0, onmessage: 0 };
// A hostile app patches WebSocket before anything is sent: the runtime's own socket must not be observable.
const nativeSend = WebSocket.prototype.send;
WebSocket.prototype.send = function (...args) { seen.send++; return nativeSend.apply(this, args); };
const onmessage = Object.getOwnPropertyDescriptor(WebSocket.prototype, "onmessage");
Object.defineProperty(WebSocket.prototype, "onmessage", {
  configurable: true,
  get() { return onmessage.get.call(this); },
  set(v) { seen.onmessage++; onmessage.set.call(this, v); },
});
let redefined;
try {
  Object.defineProperty(globalThis, "__lp", { configurable: true, set() { redefined = "intercepted"; }, get() { return undefined; } });
  redefined = "redefined";
} catch (e) {
  redefined = `refused: ${e.name}`;
}

function tryConnect(url) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.addEventListener("open", () => { ws.close(); resolve("open"); });
    ws.addEventListener("error", () => resolve("refused"));
  });
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const q = url.searchParams;
    const n = Number(q.get("n") ?? 0);
    switch (url.pathname) {
      case "/echo": return new Response(await request.arrayBuffer(), { headers: { "content-type": "application/octet-stream" } });
      case "/text": return new Response(await request.text(), { headers: { "content-type": "text/plain; charset=utf-8" } });
      case "/json": return Response.json(await request.json());
      case "/form": {
        const form = await request.formData();
        const out = {};
        for (const [name, value] of form) out[name] = typeof value === "string" ? value : { name: value.name, size: value.size, text: await value.text() };
        return Response.json(out);
      }
      case "/stream": {
        if (request.body === null) return new Response(null, { headers: { "x-chunks": "0" } }); // an empty upload has no stream
        const reader = request.body.getReader();
        const parts = [];
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
        }
        return new Response(new Blob(parts), { headers: { "x-chunks": String(parts.length) } });
      }
      case "/text-out": return new Response((q.get("c") ?? "x").repeat(n), { headers: { "content-type": "text/plain; charset=utf-8" } });
      case "/bytes": return new Response(bytes(n));
      case "/blob": return new Response(new Blob([bytes(n)]));
      case "/chunks": {
        const size = Number(q.get("size") ?? 65536), ms = Number(q.get("ms") ?? 0);
        let sent = 0;
        return new Response(new ReadableStream({
          async pull(controller) {
            if (sent >= n) { controller.close(); return; }
            if (ms) await new Promise((r) => setTimeout(r, ms));
            const chunk = bytes(n).subarray(sent, Math.min(n, sent + size));
            sent += chunk.length;
            controller.enqueue(chunk);
            console.log(`chunks sent ${sent}`);
          },
        }));
      }
      case "/hold": {
        const body = await request.arrayBuffer();
        console.log(`hold ${q.get("id")} ${body.byteLength}`);
        await new Promise(() => {});
        return new Response("never");
      }
      case "/probe": {
        const guessed = await tryConnect(`ws://${location.host}/__leanproxy/data/${"0".repeat(64)}`);
        return Response.json({ guessed, redefined, seen, lp: typeof globalThis.__lp?.d });
      }
    }
    return new Response("not found", { status: 404 });
  },
};
