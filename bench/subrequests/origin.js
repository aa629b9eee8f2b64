// The origin of the pass-through benchmark: GET /1k and /100k answer that many bytes of text, keep-alive, no CORS.
const http = require("http");
const bodies = { "/1k": Buffer.alloc(1024, "a"), "/100k": Buffer.alloc(100 * 1024, "b") };
http.createServer((req, res) => {
  const body = bodies[req.url.split("?")[0]];
  req.resume();
  req.on("end", () => {
    if (!body) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
    res.end(body);
  });
}).listen(Number(process.env.PORT), "127.0.0.1");
