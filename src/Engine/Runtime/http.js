// HTTP: fetch(request, env, ctx) → Response, for each HostMessage.Request.
import { Context, current } from "./app.js";
import { settle } from "./channel.js";
import {
  IncomingRequest, NativeResponse, NO_SIMPLE_BODY, kBody, kHeaderList, kStatus, kStatusText, kToNative, nativeResponseHeaders,
} from "./facades.js";
import { headerList } from "./headers.js";
import { PageMessage, badReturn, describe, failure } from "./protocol.js";
import { readBody, responseMessage } from "./streams.js";
import { forwardable } from "./subrequests.js";

// The message for the handler's Response: a whole response, or a promise of one (null once it was streamed).
function toMessage(id, response) {
  if (!(response instanceof NativeResponse)) {
    return badReturn(id, `fetch() must return a Response (or a promise of one), but it returned ${describe(response)}`);
  }
  if (response.type === "error") return badReturn(id, "fetch() returned Response.error(), a network error");
  if (response.bodyUsed) return badReturn(id, "fetch() returned a Response whose body was already read");
  if (kStatus in response) {
    // A Response made in the page: its parts are at hand.
    const head = [response[kStatus], response[kStatusText], response[kHeaderList]()];
    const fetchId = forwardable(response);
    if (fetchId !== null) return [PageMessage.ResponseFromFetch, id, ...head, fetchId];
    const body = response[kBody];
    if (body !== NO_SIMPLE_BODY) return responseMessage(id, head, body);
    return readBody(id, head, response[kToNative]());
  }
  // Blink's own (from fetch(), the Cache API, ...).
  return readBody(id, [response.status, response.statusText, headerList(nativeResponseHeaders.call(response))], response);
}

// [Request, id, method, url, headers, body, encoding, remoteAddress, remotePort]
export function handleRequest(message, batch) {
  const id = message[1];
  const finish = (answer) => settle(batch, answer);
  // toMessage may throw (a getter of the handler's own Response subclass, say): that is the handler's failure too.
  const answer = (response) => {
    let result;
    try {
      result = toMessage(id, response);
    } catch (e) {
      finish(failure(id, e));
      return;
    }
    if (Array.isArray(result)) finish(result);
    else result.then(finish, (e) => finish(failure(id, e)));
  };
  let result;
  try {
    const [, , method, url, flat, body, encoding, remoteAddress, remotePort] = message;
    const request = new IncomingRequest(method, url, flat, body, encoding);
    result = current.app.fetch(request, current.env, new Context(remoteAddress, remotePort));
  } catch (e) {
    finish(failure(id, e));
    return;
  }
  if (result instanceof NativeResponse) answer(result); // a synchronous handler: no promise turn
  else Promise.resolve(result).then(answer, (e) => finish(failure(id, e)));
}
