// The browser APIs that take a Request or a Response — fetch, the Cache API, WebAssembly's streaming compile — handed
// the Blink objects made from the facades (facades.js), so that a handler can pass them what it got or built.
// Installed as the page's globals before the app's modules are evaluated (index.js imports this module).
import { nativeRequestOf, nativeResponseOf } from "./facades.js";
import { serverSideUrl, subrequest } from "./subrequests.js";

const nativeFetch = globalThis.fetch;

// Another server: the host fetches it (subrequests.js). The page's own origin (the app's files): the page.
globalThis.fetch = function fetch(input, init) {
  const url = serverSideUrl(input);
  if (url !== null) return subrequest(input, init, url);
  return nativeFetch(nativeRequestOf(input), init).catch((e) => { throw explainFetchFailure(e, input); });
};
// Blink says only "Failed to fetch": say what it can mean here, where every connection goes through the node's
// egress policy (src/Engine/Egress).
function explainFetchFailure(error, input) {
  if (!(error instanceof TypeError) || error.message !== "Failed to fetch") return error;
  const url = typeof input === "string" ? input : input?.url ?? String(input);
  return new TypeError(
    `Failed to fetch ${url}: the destination refused or is unreachable, its CORS headers do not allow this page, ` +
    "or LeanProxy's egress policy refused it (handlers may not reach loopback, private or link-local addresses " +
    "nor the node itself unless the node allows the destination with --allow-net; the node's log names it)",
    { cause: error });
}
// Each wrapper is named like the method it wraps (what stack traces and .name show).
function wrapMethod(target, name, adapt) {
  const method = target[name];
  if (typeof method !== "function") return;
  target[name] = { [name](...args) { return method.apply(this, adapt(args)); } }[name];
}
if (globalThis.Cache) {
  for (const name of ["match", "matchAll", "add", "delete", "keys"]) {
    wrapMethod(Cache.prototype, name, (args) => { if (args.length) args[0] = nativeRequestOf(args[0]); return args; });
  }
  wrapMethod(Cache.prototype, "addAll", (args) => { if (args.length) args[0] = Array.from(args[0], nativeRequestOf); return args; });
  wrapMethod(Cache.prototype, "put", (args) => { args[0] = nativeRequestOf(args[0]); args[1] = nativeResponseOf(args[1]); return args; });
}
if (globalThis.CacheStorage) {
  wrapMethod(CacheStorage.prototype, "match", (args) => { if (args.length) args[0] = nativeRequestOf(args[0]); return args; });
}
for (const name of ["compileStreaming", "instantiateStreaming"]) {
  wrapMethod(WebAssembly, name, (args) => { args[0] = Promise.resolve(args[0]).then(nativeResponseOf); return args; });
}
