// Exercises env.KV and reports what happened, for KvTests.
const caught = async (f) => {
  try {
    await f();
    return "no error";
  } catch (e) {
    return `${e.name}: ${e.message}`;
  }
};

// Which tab answered (each tab loads the module once).
const TAB = crypto.randomUUID();

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const kv = env.KV;
    switch (url.pathname) {
      case "/big": {
        // Values large enough for the data plane, both ways: put, then read twice (each read its own copy).
        const n = Number(url.searchParams.get("n"));
        const bytes = new Uint8Array(n).map((_, i) => (i * 131 + 7) & 255);
        const text = "\u00e9".repeat(n / 2);
        await kv.put("big-bytes", bytes);
        await kv.put("big-text", text);
        const first = new Uint8Array(await kv.get("big-bytes", "arrayBuffer"));
        first.fill(0);
        const second = new Uint8Array(await kv.get("big-bytes", "arrayBuffer"));
        return Response.json({
          bytes: second.length === n && second.every((b, i) => b === ((i * 131 + 7) & 255)),
          text: (await kv.get("big-text")) === text,
        });
      }
      case "/api": {
        await kv.put("text", "hello");
        await kv.put("json", JSON.stringify({ a: [1, 2] }), { metadata: { tag: "m" } });
        await kv.put("binary", new Uint8Array([0, 1, 255, 128]));
        await kv.put("unicode-\u00e9", "caf\u00e9 \u2603");
        await kv.put("stream", new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("from a stream")); c.close(); } }));
        const stream = await kv.get("text", "stream");
        const streamed = await new Response(stream).text();
        const buffer = new Uint8Array(await kv.get("binary", "arrayBuffer"));
        const withMeta = await kv.getWithMetadata("json", "json");
        const bulk = await kv.get(["text", "missing", "unicode-\u00e9"]);
        for (const name of ["p:c", "p:a", "p:b"]) await kv.put(name, name);
        const page1 = await kv.list({ prefix: "p:", limit: 2 });
        const page2 = await kv.list({ prefix: "p:", limit: 2, cursor: page1.cursor });
        await kv.delete("text");
        const many = await Promise.all(Array.from({ length: 50 }, (_, i) => kv.get("json", { type: "json", cacheTtl: 60 })));
        return Response.json({
          text: await kv.get("text"),
          json: await kv.get("json", "json"),
          binary: Array.from(buffer),
          unicode: await kv.get("unicode-\u00e9"),
          stream: await kv.get("stream"),
          streamed,
          withMeta,
          bulk: Object.fromEntries(bulk),
          page1: { keys: page1.keys.map((k) => k.name), complete: page1.list_complete, hasCursor: typeof page1.cursor === "string" },
          page2: { keys: page2.keys.map((k) => k.name), complete: page2.list_complete },
          missing: await kv.get("nope"),
          many: many.every((v) => v.a[1] === 2),
        });
      }
      case "/errors":
        return Response.json({
          empty: await caught(() => kv.get("")),
          dot: await caught(() => kv.put(".", "x")),
          long: await caught(() => kv.get("k".repeat(513))),
          value: await caught(() => kv.put("big", new Uint8Array(25 * 1024 * 1024 + 1))),
          metadata: await caught(() => kv.put("m", "x", { metadata: { s: "x".repeat(1100) } })),
          limit: await caught(() => kv.list({ limit: 1001 })),
          type: await caught(() => kv.get("k", "yaml")),
          cursor: await caught(() => kv.list({ cursor: "!!not-a-cursor!!" })),
          ttl: await caught(() => kv.put("t", "x", { expirationTtl: 0 })),
        });
      case "/expire":
        await kv.put("short", "soon gone", { expirationTtl: 1 });
        return new Response(await kv.get("short"));
      case "/short":
        return new Response(String(await kv.get("short")));
      case "/set":
        await kv.put(url.searchParams.get("k"), url.searchParams.get("v"));
        return new Response("ok");
      case "/get":
        return new Response(String(await kv.get(url.searchParams.get("k"))));
      case "/log":
        console.log("hello from the handler", url.searchParams.get("k"));
        return new Response("logged");
      case "/boom":
        throw new Error("boom for the log");
      case "/tab-get":
        return new Response(`${TAB} ${await kv.get(url.searchParams.get("k"))}`);
      case "/forge": {
        // The raw binding, with a payload that names another app and a binding this app does not have, and junk.
        const k = url.searchParams.get("k");
        globalThis.__lpKv(JSON.stringify([
          [900001, "KV", "put", k, "forged", 1, null, null, "alpha", { app: "alpha", namespace: "alpha/KV" }],
          [900002, "NOT_MINE", "get", ["x"]], "garbage", [900003], [],
        ]));
        for (let i = 0; i < 500; i++) {
          if ((await kv.get(k)) === "forged") return new Response("forged in my own namespace");
          await new Promise((r) => setTimeout(r, 10));
        }
        return new Response("the forged put was not seen");
      }
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
