// UDP: datagram(message, info, env, ctx) → Uint8Array | ArrayBuffer | string | undefined, for each HostMessage.Datagram.
import { Context, current } from "./app.js";
import { settle } from "./channel.js";
import { BodyEncoding, PageMessage, asBytes, badReturn, dataMessage, decodeData, describe, failure } from "./protocol.js";

const asciiOnly = /^[\x00-\x7f]*$/;

function reply(id, value) {
  if (value === undefined || value === null) return [PageMessage.DatagramNoReply, id];
  if (typeof value === "string" && asciiOnly.test(value)) return [PageMessage.DatagramReply, id, value, BodyEncoding.Text];
  const bytes = asBytes(value);
  if (bytes === null) {
    return badReturn(id, `datagram() must return a Uint8Array, an ArrayBuffer, a string or undefined, but it returned ${describe(value)}`);
  }
  return dataMessage(PageMessage.DatagramReply, id, bytes);
}

// [Datagram, id, data, encoding, remoteAddress, remotePort]
export function handleDatagram(message, batch) {
  const [, id, data, encoding, remoteAddress, remotePort] = message;
  const finish = (answer) => settle(batch, answer);
  try {
    const bytes = decodeData(data, encoding);
    const result = current.app.datagram(bytes, { remoteAddress, remotePort }, current.env, new Context(remoteAddress, remotePort));
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      Promise.resolve(result).then((value) => finish(reply(id, value)), (e) => finish(failure(id, e)));
    } else {
      finish(reply(id, result));
    }
  } catch (e) {
    finish(failure(id, e));
  }
}
