// GET /heap: a full collection, then the bytes V8's heap still holds (precise with --enable-precise-memory-info).
// Anything else: a small answer, as most requests are.
export default {
  fetch(request) {
    if (new URL(request.url).pathname === "/heap") {
      globalThis.gc();
      return new Response(String(performance.memory.usedJSHeapSize));
    }

    return new Response("ok");
  },
};
