// A URL shortener on env.LINKS: ./build.sh run examples/kv-shortener -- --kv LINKS
//   curl -X POST --data 'https://example.com/a/long/path' http://127.0.0.1:8080/   → {"code":"x1Yz9a","url":"…"}
//   curl -i http://127.0.0.1:8080/x1Yz9a                                          → 302 Location: https://example.com/…
// Links expire after a day (expirationTtl); each keeps its creation time as metadata.
const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

function newCode() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/") {
      const target = (await request.text()).trim();
      let parsed;
      try {
        parsed = new URL(target);
      } catch {
        return new Response("the body must be an absolute http(s) URL\n", { status: 400 });
      }
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
        return new Response("only http and https URLs\n", { status: 400 });
      }
      const code = newCode();
      await env.LINKS.put(code, parsed.href, { expirationTtl: 86400, metadata: { created: Date.now() } });
      return Response.json({ code, url: `${url.origin}/${code}` }, { status: 201 });
    }
    if (request.method === "GET" && url.pathname.length > 1) {
      const target = await env.LINKS.get(url.pathname.slice(1));
      return target === null ? new Response("no such link\n", { status: 404 }) : Response.redirect(target, 302);
    }
    if (request.method === "GET" && url.pathname === "/") {
      const { keys } = await env.LINKS.list({ limit: 20 });
      return Response.json(keys.map((k) => ({ code: k.name, created: k.metadata?.created ?? null, expires: k.expiration })));
    }
    return new Response("method not allowed\n", { status: 405 });
  },
};
