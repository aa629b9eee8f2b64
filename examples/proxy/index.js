// A proxy in one line, and an API call: the handler's fetch to another server is made by LeanProxy's host, as
// Workers makes it — no CORS, every header as set, Set-Cookie readable, redirects as asked.
//   ./build.sh run examples/proxy -- --var ORIGIN=https://example.com
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/headers") {
      // An API call with headers a browser would drop or preflight.
      const answer = await fetch(env.ORIGIN + "/", { headers: { "user-agent": "leanproxy-example/1", "x-api-key": "demo" } });
      return Response.json({ status: answer.status, type: answer.headers.get("content-type"), cookies: answer.headers.getSetCookie() });
    }
    // Everything else: the same method, headers and body, to the origin (its 3xx handed back as they are).
    return fetch(env.ORIGIN + url.pathname + url.search, request);
  },
};
