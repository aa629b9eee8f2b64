// The classic-script twin bench.sh expects beside kvget.mjs (only the .mjs runs: LeanProxy is the only contender with KV).
//
// Handler contract (see README.md): a classic (non-module), strict-mode-safe
// script, evaluated once per handler instance (one per tab / process / isolate),
// that defines a global function `handle(req)`.
//   req = { method: "GET", url: "/path?query", headers: {lower-case: "value"}, body: "" }
//   returns (or resolves to) { status: 200, headers: {...}, body: "string" }
// `n` counts requests seen by *this* instance (per tab when there are several tabs).
let n = 0;
function handle(req) {
  n += 1;
  const q = req.url.indexOf('?');
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: req.method, path: q === -1 ? req.url : req.url.slice(0, q), n }),
  };
}
