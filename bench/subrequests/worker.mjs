// The pass-through Worker of issue 28, the same file for LeanProxy and workerd.
const ORIGIN = globalThis.ORIGIN_URL ?? "http://127.0.0.1:18570";
export default { fetch: (r) => fetch(ORIGIN + new URL(r.url).pathname, r) };
