// A raw TCP echo that answers in upper case:
//   leanproxy serve examples/tcp-echo --tcp 127.0.0.1:9000
//   nc 127.0.0.1 9000
// Each connection calls connect() once, in one of the tabs; socket.readable and socket.writable are web streams, so
// the bytes flow through a pipe chain with backpressure end to end. When the client shuts down its side (Ctrl-D in
// nc), the readable ends, pipeTo() closes the writable and the connection closes.
export default {
  async connect(socket, env, ctx) {
    await socket.readable
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new TransformStream({ transform: (text, controller) => controller.enqueue(text.toUpperCase()) }))
      .pipeThrough(new TextEncoderStream())
      .pipeTo(socket.writable);
  },
};
