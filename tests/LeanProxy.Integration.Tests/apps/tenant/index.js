// A tenant that tries what a hostile one would (TenantIsolationTests): leave traces in every storage the browser
// has, read what another tenant left, and reach places it should not.
const STORE = "tenant-store";

function idb() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("tenant-db", 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function idbDo(mode, action) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const request = action(db.transaction(STORE, mode).objectStore(STORE));
    request.onsuccess = () => resolve(request.result ?? null);
    request.onerror = () => reject(request.error);
  });
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/origin":
        return new Response(location.origin);
      case "/write": {
        const value = url.searchParams.get("v");
        localStorage.setItem("secret", value);
        sessionStorage.setItem("secret", value);
        document.cookie = `secret=${value}; path=/; max-age=3600`;
        await idbDo("readwrite", (store) => store.put(value, "secret"));
        await (await caches.open("tenant-cache")).put("/secret", new Response(value));
        await navigator.serviceWorker.register("/sw.js", { scope: "/tenant/" });
        return new Response("written");
      }
      case "/read":
        return Response.json({
          local: localStorage.getItem("secret"),
          session: sessionStorage.getItem("secret"),
          cookie: document.cookie,
          idb: await idbDo("readonly", (store) => store.get("secret")),
          cache: await (await caches.match("/secret"))?.text() ?? null,
          caches: await caches.keys(),
          databases: (await indexedDB.databases()).map((d) => d.name),
          workers: (await navigator.serviceWorker.getRegistrations()).map((r) => r.scope),
        });
      case "/fetch":
        try {
          const response = await fetch(url.searchParams.get("url"));
          return new Response(`${response.status} ${await response.text()}`);
        } catch (e) {
          return new Response(`${e.name}: ${e.message}`);
        }
      case "/websocket":
        return new Response(await new Promise((resolve) => {
          const socket = new WebSocket(url.searchParams.get("url"));
          socket.onopen = () => { socket.close(); resolve("open"); };
          socket.onerror = () => resolve("error");
        }));
      default:
        return new Response("tenant", { status: 404 });
    }
  },
};
