// A tenant that attacks the node's resources (RendererIsolationTests): holds memory, allocates until its renderer
// dies, and counts its requests in memory, so a test can see whether its page lived through another app's crash.
let count = 0;
const held = [];

export default {
  async fetch(request) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/count":
        return new Response(String(++count));
      case "/sleep":
        await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get("ms"))));
        return new Response("slept");
      case "/hold": {
        // Memory the test finds in /proc: this app's renderer is the one whose resident set grew by it.
        const bytes = Number(url.searchParams.get("mb")) * 1024 * 1024;
        const block = new Float64Array(bytes / 8);
        for (let i = 0; i < block.length; i += 512) block[i] = i;
        held.push(block);
        return new Response("held");
      }
      case "/oom": {
        // V8's heap until it is out of memory: the renderer dies, the request gets 502 (not retried: a POST).
        const hoard = [];
        for (;;) hoard.push(new Array(1 << 20).fill(Math.random()));
      }
      default:
        return new Response("hostile", { status: 404 });
    }
  },
};
