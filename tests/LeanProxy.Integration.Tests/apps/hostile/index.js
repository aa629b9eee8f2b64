// A tenant that attacks the node's resources (RendererIsolationTests, ResourceCapsTests, HostileInputTests): holds
// memory, allocates until its renderer dies, opens connections and timers without bound, floods the console, and
// counts its requests in memory, so a test can see whether its page lived through another app's crash.
let count = 0;
let ticks = 0;
const held = [];
const sockets = [];

export default {
  async fetch(request) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/count":
        return new Response(String(++count));
      case "/flood": {
        // The node's log must not take it all: a few hundred lines a second reach it, and a count of the rest.
        const lines = Number(url.searchParams.get("lines"));
        const filler = "x".repeat(Number(url.searchParams.get("size") ?? 100));
        for (let i = 0; i < lines; i++) console.log(`flood line ${i} ${filler}`);
        return new Response("flooded");
      }
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
      case "/connections": {
        // Half WebSockets, half fetches, to a server that accepts and never answers: the egress proxy caps them.
        const n = Number(url.searchParams.get("n"));
        const target = url.searchParams.get("target");
        for (let i = 0; i < n; i++) {
          if (i % 2) {
            fetch(`http://${target}/f${i}`).catch(() => {});
          } else {
            const socket = new WebSocket(`ws://${target}/w${i}`);
            socket.onerror = () => {};
            sockets.push(socket);
          }
        }
        return new Response("opened");
      }
      case "/timers": {
        // Intervals that fire as often as the browser lets them, until the runtime refuses one more.
        const n = Number(url.searchParams.get("n"));
        let made = 0;
        try {
          for (; made < n; made++) setInterval(() => { ticks++; }, 0);
        } catch (e) {
          return new Response(`${made} ${e.name}: ${e.message}`);
        }
        return new Response(String(made));
      }
      case "/ticks":
        return new Response(String(ticks));
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
