// The URL of the request a handler receives, written as Blink's Request writes it, without a URL parse when the
// text is already what a parser would give back.

// A URL a parser would write back unchanged: http(s), a lower-case DNS name or dotted-quad IPv4, a port that is not
// the default, path and query of characters that need no percent-encoding, no dot segments. Anything else is
// normalised by URL (as Blink's Request does: "/a/../b" → "/b", "'" in a query → "%27", "HOST:80" → "host").
const PLAIN_URL = /^https?:\/\/(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*(?::[1-9][0-9]{0,4})?(?:\/[\w\-.~!$&'()*+,;=:@%]*)+(?:\?[\w\-.~!$&()*+,;=:@%/?]*)?$|^https?:\/\/(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?::[1-9][0-9]{0,4})?(?:\/[\w\-.~!$&'()*+,;=:@%]*)+(?:\?[\w\-.~!$&()*+,;=:@%/?]*)?$/;
const DOT_SEGMENT = /\/(?:\.|%2e)(?:\.|%2e)?(?:\/|\?|$)/i;
const PORT = /:(\d+)\//;

export function normalizeUrl(raw) {
  if (PLAIN_URL.test(raw) && !DOT_SEGMENT.test(raw)) {
    const port = PORT.exec(raw.slice(raw.indexOf("//") + 2));
    if (port === null) return raw;
    const n = Number(port[1]);
    if (n <= 65535 && n !== (raw.startsWith("https:") ? 443 : 80)) return raw;
  }
  return new URL(raw).href;
}
