// A UDP echo: every datagram is answered with the same bytes.
//   leanproxy serve examples/udp-echo --udp 127.0.0.1:9001
//   nc -u 127.0.0.1 9001
// datagram() runs once per datagram, in one of the tabs. Return a Uint8Array, an ArrayBuffer or a string to reply;
// return nothing to stay silent.
let received = 0;

export default {
  async datagram(message, info, env, ctx) {
    received += 1;
    if (new TextDecoder().decode(message).trim() === "stats") {
      return `${received} datagram(s) so far; you are ${info.remoteAddress}:${info.remotePort}\n`;
    }
    return message;
  },
};
