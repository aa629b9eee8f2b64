// What one app's tab may hold open. Pending timers (setTimeout and setInterval share one count, as they share one id
// space) are capped at MAX_TIMERS: one more throws a RangeError that names the cap, in the handler that asked, so a
// handler that opens timers without bound fails itself instead of growing its renderer. Connections are capped where
// they leave the browser (src/Engine/Egress/EgressProxy.cs). Imported first by index.js, so the runtime's own
// modules and the app's see these wrappers; the runtime keeps the browser's for itself.
export const MAX_TIMERS = 4096;
export const nativeSetTimeout = globalThis.setTimeout.bind(globalThis);
export const nativeClearTimeout = globalThis.clearTimeout.bind(globalThis);
const nativeSetInterval = globalThis.setInterval.bind(globalThis);

const pending = new Set();

function callable(handler) {
  if (typeof handler === "function") return handler;
  const code = String(handler); // setTimeout("code") runs code in the global scope: an indirect eval does the same
  return () => (0, eval)(code);
}

function admit() {
  if (pending.size >= MAX_TIMERS) {
    throw new RangeError(`LeanProxy: an app's tab may have at most ${MAX_TIMERS} timers pending; clear one first`);
  }
}

globalThis.setTimeout = function setTimeout(handler, timeout, ...args) {
  admit();
  const run = callable(handler);
  const id = nativeSetTimeout(function () { pending.delete(id); return run.apply(this, arguments); }, timeout, ...args);
  pending.add(id);
  return id;
};

globalThis.setInterval = function setInterval(handler, timeout, ...args) {
  admit();
  const id = nativeSetInterval(callable(handler), timeout, ...args);
  pending.add(id);
  return id;
};

function clear(id) {
  pending.delete(id);
  nativeClearTimeout(id);
}

globalThis.clearTimeout = function clearTimeout(id) { clear(id); };
globalThis.clearInterval = function clearInterval(id) { clear(id); };
