// A Hono app exactly as one writes it for Cloudflare Workers, Deno or Bun: bare imports from npm, resolved by
// LeanProxy from node_modules (no bundler). Run: ./build.sh run examples/hono   then: curl -i http://127.0.0.1:8080/
import { Hono } from "hono";
import { cors } from "hono/cors";
import { etag } from "hono/etag";

const app = new Hono();
app.use("*", cors());
app.use("/api/*", etag());

app.get("/", (c) => c.text(`Hello from Hono in ${navigator.userAgent.includes("HeadlessChrome") ? "headless Chromium" : "a browser"}!`));

app.get("/api/hello/:name", (c) => c.json({ hello: c.req.param("name"), greeting: c.env.GREETING ?? null }));

app.get("/cookies", (c) => {
  c.header("Set-Cookie", "a=1; Path=/", { append: true });
  c.header("Set-Cookie", "b=2; Path=/", { append: true });
  return c.text("two cookies");
});

export default app;
