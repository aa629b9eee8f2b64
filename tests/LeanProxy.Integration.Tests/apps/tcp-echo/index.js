// Raw TCP test app. The first chunk picks the behaviour:
//   "boom..."     connect() throws (the connection closes, others go on)
//   "collect:..." nothing is sent until the client shuts down its side; then "<n> bytes\n" and every byte received
//   anything else byte-exact echo; the writable is closed once the client sent EOF
const encoder = new TextEncoder();

function startsWith(bytes, text) {
  if (bytes.length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

export default {
  async connect(socket, env, ctx) {
    const reader = socket.readable.getReader();
    const writer = socket.writable.getWriter();
    const first = await reader.read();
    if (first.done) {
      await writer.close();
      return;
    }
    if (startsWith(first.value, "boom")) {
      throw new Error("boom from connect()");
    }
    if (startsWith(first.value, "collect:")) {
      const chunks = [first.value];
      let total = first.value.length;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(value);
        total += value.length;
      }
      await writer.write(encoder.encode(`${total} bytes from ${socket.remoteAddress}\n`));
      for (const chunk of chunks) await writer.write(chunk);
      await writer.close();
      return;
    }
    await writer.write(first.value);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await writer.write(value);
    }
    await writer.close();
  },
};
