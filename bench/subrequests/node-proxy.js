// node-plain's pass-through: node:http in front of the origin with node's own fetch (undici), the body streamed back.
const http = require("http");
const { Readable } = require("stream");
const origin = process.env.ORIGIN;
http.createServer(async (req, res) => {
  try {
    const answer = await fetch(origin + req.url.split("?")[0], { method: req.method, headers: { "user-agent": req.headers["user-agent"] ?? "" } });
    const headers = {};
    answer.headers.forEach((v, k) => { if (k !== "content-encoding" && k !== "transfer-encoding") headers[k] = v; });
    res.writeHead(answer.status, headers);
    Readable.fromWeb(answer.body).pipe(res);
  } catch (e) {
    res.writeHead(502); res.end(String(e));
  }
}).listen(Number(process.env.PORT), "127.0.0.1");
