// hello, plus one KV get of a hot key per request (the KV benchmark of docs/PERFORMANCE.md).
let n = 0;
export default {
  async fetch(request, env) {
    n += 1;
    let hot = await env.KV.get("hot");
    if (hot === null) {
      await env.KV.put("hot", "a hot value");
      hot = await env.KV.get("hot");
    }
    const url = new URL(request.url);
    return new Response(JSON.stringify({ method: request.method, path: url.pathname, n, hot }), {
      headers: { "content-type": "application/json" },
    });
  },
};
