// Test app: echoes what it received and exercises response features by path.
import { describe } from "./lib/describe.js";

// /sse streams are released chunk by chunk from other requests, so a test can prove each chunk leaves on its own.
const releases = new Map();
function released(id) {
  return new Promise((resolve) => releases.set(id, resolve));
}
let spins = 0;

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    switch (url.pathname) {
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
