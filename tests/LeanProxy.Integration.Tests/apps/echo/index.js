// Test app: echoes what it received and exercises response features by path.
import { describe } from "./lib/describe.js";

// /sse streams are released chunk by chunk from other requests, so a test can prove each chunk leaves on its own.
const releases = new Map();
function released(id) {
  return new Promise((resolve) => releases.set(id, resolve));
}
let spins = 0;
let produced = 0; // bytes /flood has handed to its stream so far
const cancelled = new Set(); // /ticks streams whose client went away

// What a handler can observe of the Request it gets and the Responses it makes: compared by the test with what
// Blink's own objects give.
async function facts(request) {
  const out = {};
  const rejects = async (f) => { try { await f(); return "resolved"; } catch (e) { return e.constructor.name; } };
  const throws = (f) => { try { f(); return "returned"; } catch (e) { return e.constructor.name; } };

  out.requestIsRequest = request instanceof Request;
  out.requestTag = Object.prototype.toString.call(request);
  out.requestConstructor = request.constructor.name;
  out.signalIsAbortSignal = request.signal instanceof AbortSignal;
  out.requestCache = request.cache;
  out.requestMode = request.mode;
  out.requestFromIncoming = await new Request(request.clone()).text();
  const copy = request.clone();
  out.cloneText = await copy.text();
  out.bodyUsedBefore = request.bodyUsed;
  out.text = await request.text();
  out.bodyUsedAfter = request.bodyUsed;
  out.secondRead = await rejects(() => request.text());
  out.cloneAfterRead = throws(() => request.clone());
  const rebuilt = new Request(copy.url, { method: "POST", body: "again", headers: copy.headers });
  out.rebuiltIsRequest = rebuilt instanceof Request;
  out.rebuiltText = await rebuilt.text();
  out.rebuiltKeepsCustomHeader = rebuilt.headers.get("x-fact");
  const fromIncoming = new Request(new Request(request.url, { headers: { "x-a": "1" } }));
  out.requestFromRequest = fromIncoming.headers.get("x-a");
  out.cookieSeen = request.headers.get("cookie");

  const plain = new Response("plain");
  out.responseIsResponse = plain instanceof Response;
  out.responseTag = Object.prototype.toString.call(plain);
  out.responseContentType = plain.headers.get("content-type");
  out.responseOk = plain.ok;
  out.responseType = plain.type;
  out.responseBodyIsStream = plain.body instanceof ReadableStream;
  out.responseBodyViaStream = await new Response(plain.body).text();
  out.responseBodyUsed = plain.bodyUsed;
  const twice = new Response("twice");
  out.responseCloneText = await twice.clone().text();
  out.responseText = await twice.text();
  out.responseSecondRead = await rejects(() => twice.text());
  out.bytes = Array.from(await new Response(new Uint8Array([1, 2, 255])).bytes());
  out.blobType = (await new Response("b", { headers: { "content-type": "text/x-b" } }).blob()).type;
  out.json = await Response.json({ a: [1] }).json();
  out.jsonContentType = Response.json(1).headers.get("content-type");
  out.jsonUnserializable = throws(() => Response.json(undefined));
  out.badStatus = throws(() => new Response("x", { status: 99 }));
  out.bodyWithNullBodyStatus = throws(() => new Response("x", { status: 204 }));
  out.badStatusText = throws(() => new Response("x", { statusText: "bad\n" }));
  const redirect = Response.redirect("https://example.com/next");
  out.redirectStatus = redirect.status;
  out.redirectIsResponse = redirect instanceof Response;
  out.errorType = Response.error().type;
  out.subclass = new (class Mine extends Response {})("sub") instanceof Response;
  out.cookies = new Response("c", { headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]] }).headers.getSetCookie();
  const cache = await caches.open("facts");
  await cache.put(request.url, new Response("cached"));
  out.cached = await (await cache.match(request.url)).text();
  return out;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/url/")) return new Response(request.url);
    switch (url.pathname) {
      case "/hop": {
        // fetch(request) with the request the handler got: it comes back here (cross-origin from the page, so with
        // CORS headers) carrying x-hop.
        const cors = { "access-control-allow-origin": "*", "access-control-allow-headers": "*", "access-control-allow-methods": "*" };
        if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
        if (request.headers.has("x-hop")) return new Response(`hopped ${request.method} ${await request.text()}`, { headers: cors });
        request.headers.set("x-hop", "1");
        const answer = await fetch(request);
        return new Response(await answer.text());
      }
      case "/flood": {
        // A body produced as fast as it is pulled: how far it gets shows whether the client's pace holds it back.
        const total = Number(url.searchParams.get("mb")) * 1024 * 1024;
        const chunk = new TextEncoder().encode("a".repeat(64 * 1024));
        produced = 0;
        const stream = new ReadableStream({
          pull(controller) {
            if (produced >= total) {
              controller.close();
              return;
            }
            controller.enqueue(chunk.slice());
            produced += chunk.length;
          },
        });
        return new Response(stream, { headers: { "content-type": "text/plain" } });
      }
      case "/ticks": {
        const id = url.searchParams.get("id");
        const encoder = new TextEncoder();
        const stream = new ReadableStream({
          async pull(controller) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            controller.enqueue(encoder.encode("data: tick\n\n"));
          },
          cancel() {
            cancelled.add(id);
          },
        });
        return new Response(stream, { headers: { "content-type": "text/event-stream" } });
      }
      case "/cancelled":
        return new Response(cancelled.has(url.searchParams.get("id")) ? "yes" : "no");
      case "/produced":
        return new Response(String(produced));
      case "/facts":
        return Response.json(await facts(request));
      case "/busy": {
        // Holds the page's thread (a batch that comes after it waits in the host).
        const until = Date.now() + Number(url.searchParams.get("ms"));
        while (Date.now() < until) {}
        return new Response("busy");
      }
      case "/hang": {
        // A synchronous request to a server that never answers: Runtime.terminateExecution cannot stop it.
        const xhr = new XMLHttpRequest();
        xhr.open("GET", `http://127.0.0.1:${url.searchParams.get("port")}/`, false);
        try { xhr.send(); } catch { /* the server went away */ }
        return new Response("unhung");
      }
      case "/unhandled":
        Promise.reject(new Error("a rejection nobody handles"));
        setTimeout(() => { throw new Error("thrown in a timer"); }, 0);
        return new Response("left behind");
      case "/echo": {
        const body = new Uint8Array(await request.arrayBuffer());
        return Response.json({
          method: request.method,
          url: request.url,
          headers: [...request.headers],
          body: new TextDecoder().decode(body),
          length: body.length,
          remoteAddress: ctx.remoteAddress,
          id: url.searchParams.get("id"),
        });
      }
      case "/bytes": {
        // Echo the raw body back as bytes (binary round trip).
        return new Response(await request.arrayBuffer(), { headers: { "content-type": "application/octet-stream" } });
      }
      case "/all-bytes": {
        const all = new Uint8Array(256);
        for (let i = 0; i < 256; i++) all[i] = i;
        return new Response(all);
      }
      case "/cookies": {
        const headers = new Headers();
        headers.append("set-cookie", "a=1; Path=/");
        headers.append("set-cookie", "b=2; Path=/");
        headers.append("x-multi", "one");
        headers.append("x-multi", "two");
        return new Response("cookies", { status: 201, statusText: "Made", headers });
      }
      case "/env":
        return Response.json({ env });
      case "/throw":
        throw new Error("boom from the handler");
      case "/reject":
        return Promise.reject(new TypeError("rejected on purpose"));
      case "/not-a-response":
        return { status: 200, body: "plain object" };
      case "/empty":
        return new Response(null, { status: 204 });
      case "/redirect":
        return Response.redirect("https://example.com/elsewhere", 301);
      case "/slow": {
        // Tests wait for this line to know the request is in the page (and has been taken into a batch).
        console.log("slow started " + url.searchParams.get("id"));
        await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get("ms") ?? 50)));
        return new Response("slow " + url.searchParams.get("id"));
      }
      case "/describe":
        return new Response(describe(request));
      case "/sse": {
        const id = url.searchParams.get("id");
        const encoder = new TextEncoder();
        const stream = new ReadableStream({
          async start(controller) {
            controller.enqueue(encoder.encode("data: first\n\n"));
            await released(id);
            controller.enqueue(encoder.encode("data: second\n\n"));
            controller.close();
          },
        });
        return new Response(stream, { headers: { "content-type": "text/event-stream" } });
      }
      case "/sse-release": {
        const resolve = releases.get(url.searchParams.get("id"));
        releases.delete(url.searchParams.get("id"));
        if (resolve) resolve();
        return new Response(resolve ? "released" : "nothing to release");
      }
      case "/blob":
        return new Response(new Blob(["blob ", "body"], { type: "text/plain" }));
      case "/form": {
        const form = await request.formData();
        return Response.json(Object.fromEntries(form.entries()));
      }
      case "/stream-request": {
        const reader = request.body.getReader();
        let total = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.byteLength;
        }
        return new Response(String(total));
      }
      case "/wait-until": {
        ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 50)).then(() => console.log("waitUntil work done", url.searchParams.get("id"))));
        return new Response("responded first");
      }
      case "/spin":
        spins += 1;
        for (;;) {}
      case "/spins":
        return new Response(String(spins));
      case "/console":
        console.log("hello from the page", 42);
        console.error("an error from the page");
        return new Response("logged");
      default:
        return new Response("not found: " + url.pathname, { status: 404 });
    }
  },
};
