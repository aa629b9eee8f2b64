// KV latency from a handler: puts, cold gets, 100 sequential cold gets, 100 cold gets in one Promise.all, hot gets.
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return +s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2); };
let round = 0;
export default {
  async fetch(request, env) {
    const kv = env.KV;
    const r = round++;
    const value = "v".repeat(100);
    const put = [], get = [], hot = [];
    for (let i = 0; i < 300; i++) { const t = performance.now(); await kv.put(`k${r}:${i}`, value); put.push(performance.now() - t); }
    for (let i = 0; i < 300; i++) { const t = performance.now(); await kv.get(`k${r}:${i}`); get.push(performance.now() - t); }
    for (let i = 0; i < 300; i++) { const t = performance.now(); await kv.get(`k${r}:0`); hot.push(performance.now() - t); }
    for (let i = 0; i < 200; i++) await kv.put(`s${r}:${i}`, value);
    let t = performance.now();
    for (let i = 0; i < 100; i++) await kv.get(`s${r}:${i}`);
    const sequential = performance.now() - t;
    t = performance.now();
    await Promise.all(Array.from({ length: 100 }, (_, i) => kv.get(`s${r}:${100 + i}`)));
    const all = performance.now() - t;
    return Response.json({ put: [pct(put, 0.5), pct(put, 0.99)], coldGet: [pct(get, 0.5), pct(get, 0.99)], hotGet: [pct(hot, 0.5), pct(hot, 0.99)], sequential100: +sequential.toFixed(1), promiseAll100: +all.toFixed(1) });
  },
};
