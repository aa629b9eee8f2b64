// Subrequests: every route fetches the origin the test runs (?origin=http://127.0.0.1:PORT), which sends no CORS
// headers, as real origins and APIs do.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const origin = url.searchParams.get("origin");
    const attempt = async (f) => {
      try {
        return await f();
      } catch (e) {
        return new Response(`${e.name}: ${e.message}`, { status: 599 });
      }
    };
    switch (url.pathname) {
      case "/custom": {
        const r = await fetch(origin + "/echo?q=1", {
          method: "POST",
          headers: { "x-custom": "yes", "content-type": "application/json", cookie: "sid=42", "user-agent": "worker/1",
            origin: "https://example.org", referer: "https://example.org/page", host: "ignored.example" },
          body: JSON.stringify({ a: 1, text: "é" }),
        });
        return Response.json({ status: r.status, cookies: r.headers.getSetCookie(), joined: r.headers.get("set-cookie"), echo: await r.json() });
      }
      case "/form": {
        // The body's own type goes with it: FormData's boundary, a string's text/plain.
        const form = new FormData();
        form.append("field", "value");
        const multipart = await (await fetch(origin + "/echo", { method: "POST", body: form })).json();
        const text = await (await fetch(origin + "/echo", { method: "POST", body: "plain" })).json();
        return Response.json({ multipart: multipart.headers["content-type"], body: multipart.body, text: text.headers["content-type"] });
      }
      case "/request-object": {
        // A Request the handler made keeps the headers a browser's drops.
        const made = new Request(origin + "/echo", { headers: { cookie: "made=1", "x-made": "yes" } });
        return new Response(await (await fetch(made)).text());
      }
      case "/proxy":
        return fetch(origin + url.pathname.replace("/proxy", "") + "/echo" + url.search, request);
      case "/pass":
        return fetch(origin + "/bytes" + url.search, request);
      case "/pass-header": {
        // Returned as it came but for a header: the host still sends the body itself.
        const r = await fetch(origin + "/bytes" + url.search);
        r.headers.set("x-added", "by the handler");
        return r;
      }
      case "/read-big": {
        // A large body the handler reads itself: it comes to the page piece by piece.
        const bytes = new Uint8Array(await (await fetch(origin + "/bytes" + url.search)).arrayBuffer());
        let sum = 0;
        for (const b of bytes) sum = (sum + b) % 1000003;
        return new Response(`${bytes.length} ${sum}`);
      }
      case "/manual":
        return attempt(async () => {
          const r = await fetch(origin + "/redirect?to=/echo", { redirect: "manual" });
          return Response.json({ status: r.status, location: r.headers.get("location") });
        });
      case "/follow":
        return attempt(async () => {
          const r = await fetch(origin + "/redirect?to=" + encodeURIComponent(url.searchParams.get("to")), {
            headers: { authorization: "Bearer secret", cookie: "c=1", "x-keep": "kept" },
          });
          return Response.json({ status: r.status, url: r.url, redirected: r.redirected, echo: await r.json() });
        });
      case "/error-mode":
        return attempt(() => fetch(origin + "/redirect?to=/echo", { redirect: "error" }));
      case "/gzip":
        return attempt(async () => new Response(await (await fetch(origin + "/gzip")).text()));
      case "/get":
        return attempt(async () => {
          const r = await fetch(url.searchParams.get("url"));
          return new Response(`${r.status} ${await r.text()}`);
        });
      case "/abort":
        return attempt(async () => {
          const controller = new AbortController();
          const pending = fetch(origin + "/slow?ms=5000", { signal: controller.signal });
          setTimeout(() => controller.abort(), 100);
          await pending;
          return new Response("not aborted");
        });
      case "/many": {
        // n subrequests, `parallel` at a time: what the origin sees at most at once, and what failed.
        const n = Number(url.searchParams.get("n"));
        const results = await Promise.all(Array.from({ length: n }, (_, i) =>
          fetch(origin + "/slow?ms=" + (url.searchParams.get("ms") ?? "0") + "&i=" + i).then((r) => r.text(), (e) => `${e.name}: ${e.message}`)));
        return Response.json(results);
      }
      case "/upload": {
        // A body the handler streams: `mb` MiB of a known pattern, 64 KiB a piece, produced only when pulled.
        const total = Number(url.searchParams.get("mb")) * 1024 * 1024;
        let produced = 0;
        const body = new ReadableStream({
          pull(controller) {
            if (produced >= total) {
              controller.close();
              return;
            }
            const piece = new Uint8Array(Math.min(64 * 1024, total - produced));
            for (let i = 0; i < piece.length; i++) piece[i] = (produced + i) % 251;
            produced += piece.length;
            controller.enqueue(piece);
          },
        }, { highWaterMark: 0 });
        let producedAtCheck = null;
        const check = Number(url.searchParams.get("checkMs") ?? 0);
        if (check > 0) setTimeout(() => { producedAtCheck = produced; }, check);
        const r = await fetch(origin + (url.searchParams.get("stallMs") ? "/echo?stallMs=" + url.searchParams.get("stallMs") : "/echo"),
          { method: "POST", body });
        const echo = await r.json();
        return Response.json({ length: echo.length, sha256: echo.sha256, chunked: echo.headers["transfer-encoding"] ?? null, producedAtCheck });
      }
      case "/sequential": {
        const results = [];
        for (let i = 0; i < Number(url.searchParams.get("n")); i++) {
          results.push(await fetch(origin + "/slow?ms=0&i=" + i).then((r) => r.text(), (e) => `${e.name}: ${e.message}`));
        }
        return Response.json(results);
      }
    }
    return new Response("no such route", { status: 404 });
  },
};
