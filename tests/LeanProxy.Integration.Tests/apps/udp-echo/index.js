// UDP test app (with a fetch() too, for a process that mixes --http and --udp). The datagram's text picks the reply:
//   "boom"   datagram() throws: no reply
//   "bad"    returns a number: no reply (a type error is logged)
//   "none"   returns undefined: no reply
//   "text"   returns the string "héllo" (UTF-8)
//   "buffer" returns an ArrayBuffer of bytes 0..255
//   "async"  replies "later" after a macrotask
//   "info"   replies with the sender's address and port as JSON
//   else     the same bytes back (an empty datagram gets an empty reply)
const decoder = new TextDecoder();

export default {
  async fetch(request, env, ctx) {
    return new Response("http ok");
  },

  datagram(message, info, env, ctx) {
    const text = message.length <= 16 ? decoder.decode(message) : "";
    switch (text) {
      case "boom": throw new Error("boom from datagram()");
      case "bad": return 42;
      case "none": return undefined;
      case "text": return "héllo";
      case "buffer": return new Uint8Array(Array.from({ length: 256 }, (_, i) => i)).buffer;
      case "async": return new Promise((resolve) => setTimeout(resolve, 1, "later"));
      case "info": return JSON.stringify({ remoteAddress: info.remoteAddress, remotePort: info.remotePort, ctxPort: ctx.remotePort });
      default: return message;
    }
  },
};
