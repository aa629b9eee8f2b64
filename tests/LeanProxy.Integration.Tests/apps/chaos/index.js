// The app of the chaos soak (ChaosSoakTests): a hello, a streamed body, a KV write that counts how often it ran, a
// handler that spins until the engine terminates it, and a check of what the writes left in KV.
const CHUNKS = 20;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/hello":
        return new Response("hello " + (env.VERSION ?? "0"));
      case "/stream":
        return new Response(new ReadableStream({
          async start(controller) {
            for (let i = 0; i < CHUNKS; i++) {
              controller.enqueue(new TextEncoder().encode(`chunk ${i};`));
              await new Promise((resolve) => setTimeout(resolve, 2));
            }
            controller.close();
          },
        }));
      case "/write": {
        if (request.method !== "POST") return new Response("POST only", { status: 405 });
        const id = url.searchParams.get("id");
        const runs = Number((await env.KV.get("runs:" + id)) ?? "0") + 1;
        await env.KV.put("runs:" + id, String(runs));
        await env.KV.put("acked:" + id, "1");
        return new Response("ok " + id);
      }
      case "/spin":
        for (;;) { /* until the engine terminates it */ }
      case "/check": {
        // For each id: how often its write ran, and whether it completed.
        const ids = url.searchParams.get("ids").split(",");
        const runs = await env.KV.get(ids.map((id) => "runs:" + id));
        const acked = await env.KV.get(ids.map((id) => "acked:" + id));
        return Response.json(Object.fromEntries(ids.map((id) => [id, [Number(runs.get("runs:" + id) ?? 0), acked.get("acked:" + id) === "1"]])));
      }
      default:
        return new Response("chaos", { status: 404 });
    }
  },
};
