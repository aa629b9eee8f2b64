// The smallest LeanProxy app: a Workers-style module whose fetch() answers every request.
// Try it: ./build.sh run   then   curl -i http://127.0.0.1:8080/hello?name=you
let served = 0;

export default {
  async fetch(request, env, ctx) {
    served += 1;
    const url = new URL(request.url);
    if (request.method === "POST") {
      const body = await request.text();
      return Response.json({ method: request.method, path: url.pathname, received: body, length: body.length });
    }
    return Response.json({
      hello: url.searchParams.get("name") ?? "world",
      method: request.method,
      path: url.pathname,
      served,
      userAgent: navigator.userAgent,
      greeting: env.GREETING ?? null,
    });
  },
};
