// Header lists as the runtime hands them over: pairs a handler gave (fetch's init, a Request's), and the flat list a
// response goes on the wire with.

// Headers as [name, value] pairs, in the order given: a Headers object, a sequence of pairs or a record.
export function headerPairs(headers) {
  if (headers === undefined || headers === null) return [];
  if (headers instanceof Headers) {
    const pairs = [];
    for (const [name, value] of headers) if (name !== "set-cookie") pairs.push([name, value]);
    for (const cookie of headers.getSetCookie()) pairs.push(["set-cookie", cookie]);
    return pairs;
  }
  if (typeof headers !== "object" && typeof headers !== "function") {
    throw new TypeError("Failed to execute 'fetch' on 'Window': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.");
  }
  if (typeof headers[Symbol.iterator] === "function") {
    return Array.from(headers, (pair) => {
      const p = Array.from(pair);
      if (p.length !== 2) throw new TypeError("Failed to execute 'fetch' on 'Window': Invalid value");
      return [String(p[0]), String(p[1])];
    });
  }
  return Object.keys(headers).map((name) => [name, String(headers[name])]);
}

// The header list as it goes on the wire: name, value, ...; Set-Cookie values kept apart.
export function headerList(headers) {
  const list = [];
  for (const [name, value] of headers) {
    if (name === "set-cookie") continue;
    list.push(name, value);
  }
  if (headers.getSetCookie) for (const cookie of headers.getSetCookie()) list.push("set-cookie", cookie);
  return list;
}

// A guard-less Headers (forbidden names and Set-Cookie kept) from the flat list the host sends: name, value, ...
export function headersOf(flat) {
  const headers = new Headers();
  for (let i = 0; i < flat.length; i += 2) headers.append(flat[i], flat[i + 1]);
  return headers;
}
