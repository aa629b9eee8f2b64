// Test app: echoes what it received and exercises response features by path.
import { describe } from "./lib/describe.js";

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
      case "/console":
        console.log("hello from the page", 42);
        console.error("an error from the page");
        return new Response("logged");
      default:
        return new Response("not found: " + url.pathname, { status: 404 });
    }
  },
};
