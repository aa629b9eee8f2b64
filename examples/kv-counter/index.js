// A counter per path, kept in a KV namespace: ./build.sh run examples/kv-counter -- --kv COUNTS
// then: curl http://127.0.0.1:8080/hello (again and again), curl http://127.0.0.1:8080/ for all counters.
export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/") {
      const { keys } = await env.COUNTS.list();
      const counts = await env.COUNTS.get(keys.map((k) => k.name), "json");
      return Response.json(Object.fromEntries(counts));
    }
    const count = ((await env.COUNTS.get(pathname, "json")) ?? 0) + 1;
    await env.COUNTS.put(pathname, JSON.stringify(count), { metadata: { updated: new Date().toISOString() } });
    return Response.json({ path: pathname, count });
  },
};
