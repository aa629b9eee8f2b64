#!/usr/bin/env python3
"""Candidate (c) of issue 29, measured alone: Chromium's pipe in CBOR mode (--remote-debugging-pipe=cbor) against
its JSON mode. One headless Chromium per mode, one page, flattened session; sequential Runtime.evaluate round trips
with small and large strings each way; mean microseconds per round trip, the modes interleaved over rounds.

  bench/cdp-cbor/roundtrip.py [CHROME]     (default: /usr/lib/chromium/chromium-headless-shell)

Nothing here is product code: it answers whether LeanProxy's CDP client should speak CBOR.
"""
import json, os, shutil, struct, subprocess, sys, tempfile, time

def find_chrome():
    # The binary itself: Debian's /usr/bin wrappers do not pass fds 3 and 4 on.
    for c in [sys.argv[1] if len(sys.argv) > 1 else None, "/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium"]:
        if c and os.path.exists(c):
            return c
    sys.exit("no Chromium found")

# ---- minimal CBOR (the subset crdtp uses) ----
def enc(v):
    if isinstance(v, bool): return b"\xf5" if v else b"\xf4"
    if isinstance(v, int): return head(0, v)
    if isinstance(v, str):
        b = v.encode(); return head(3, len(b)) + b
    if isinstance(v, dict):  # crdtp wraps every map in an envelope (tag 24, a byte string of 32-bit length)
        body = b"\xbf" + b"".join(enc(k) + enc(x) for k, x in v.items()) + b"\xff"
        return b"\xd8\x18\x5a" + struct.pack(">I", len(body)) + body
    raise TypeError(v)

def head(major, n):
    if n < 24: return bytes([major << 5 | n])
    if n < 256: return bytes([major << 5 | 24, n])
    if n < 65536: return bytes([major << 5 | 25]) + struct.pack(">H", n)
    return bytes([major << 5 | 26]) + struct.pack(">I", n)

def envelope(message):
    return enc(message)

def cbor_int(b, i):
    """An unsigned integer at b[i] (the id of a response): (value, next index)."""
    info = b[i] & 31
    if info < 24: return info, i + 1
    size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
    return int.from_bytes(b[i + 1:i + 1 + size], "big"), i + 1 + size

def cbor_string_after(b, key):
    """The text string that follows the key `key` (its first occurrence)."""
    k = enc(key)
    i = b.index(k) + len(k)
    n, j = cbor_int(b, i)
    return b[j:j + n].decode()

def response_id(b):
    """The id of a response (a message whose map starts with "id"), else None: envelope (7 bytes), map start, "id"."""
    return cbor_int(b, 11)[0] if b[7:11] == b"\xbf\x62id" else None

class Browser:
    def __init__(self, chrome, cbor):
        self.cbor = cbor
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        self.profile = tempfile.mkdtemp(prefix="lp-cbor-")
        # Chromium reads fd 3 and writes fd 4; pipes are close-on-exec, so move them out of the way, then into place.
        a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
        def fds():
            os.dup2(a, 3); os.dup2(b, 4)
        self.proc = subprocess.Popen([chrome, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--remote-debugging-pipe" + ("=cbor" if cbor else ""), f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=open("/tmp/cbor-chrome.log", "a"))
        os.close(to_chrome_r); os.close(from_chrome_w); os.close(a); os.close(b)
        self.buf = b""; self.next_id = 0
        target = self.call("Target.createTarget", {"url": "about:blank"}, want="targetId")
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, want="sessionId")

    def send(self, method, params, session=None):
        self.next_id += 1
        m = {"id": self.next_id, "method": method, "params": params}
        if session: m["sessionId"] = session
        data = envelope(m) if self.cbor else json.dumps(m).encode() + b"\0"
        os.write(self.to_chrome, data)
        return self.next_id

    def read(self):
        while True:
            if self.cbor and len(self.buf) >= 7:
                n = struct.unpack(">I", self.buf[3:7])[0]
                if len(self.buf) >= 7 + n:
                    msg, self.buf = self.buf[:7 + n], self.buf[7 + n:]
                    return msg
            elif not self.cbor and b"\0" in self.buf:
                msg, self.buf = self.buf.split(b"\0", 1)
                return json.loads(msg)
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk: raise EOFError("chromium closed the pipe")
            self.buf += chunk

    def call(self, method, params, session=None, want=None):
        """Sends a call and waits for its answer; returns the string result field `want`, if any."""
        i = self.send(method, params, session)
        while True:
            m = self.read()
            if self.cbor:
                if response_id(m) != i: continue
                if b"\x65error" in m[:40]: raise RuntimeError(m)
                return cbor_string_after(m, want) if want else None
            if m.get("id") == i:
                if "error" in m: raise RuntimeError(m["error"])
                return m["result"][want] if want else None

    def close(self):
        self.proc.terminate(); self.proc.wait(); shutil.rmtree(self.profile, ignore_errors=True)

CASES = [  # name, expression, count
    ("small", "1", 3000),
    ("10 KiB result", "globalThis.t10 ??= 'x'.repeat(10240)", 1500),
    ("100 KiB result", "globalThis.t100 ??= 'x'.repeat(102400)", 300),
    ("100 KiB result, non-ASCII", "globalThis.u100 ??= '\u00e9'.repeat(51200)", 300),
    ("100 KiB expression", "'" + "x" * 102400 + "'.length", 300),
]

def run(browser, expression, count):
    params = {"expression": expression, "returnByValue": True}
    browser.call("Runtime.evaluate", params, browser.session)
    start = time.perf_counter()
    for _ in range(count):
        browser.call("Runtime.evaluate", params, browser.session)
    return (time.perf_counter() - start) / count * 1e6

def main():
    chrome = find_chrome()
    browsers = {"json": Browser(chrome, False), "cbor": Browser(chrome, True)}
    try:
        results = {name: {m: [] for m in browsers} for name, _, _ in CASES}
        for _ in range(3):
            for name, expression, count in CASES:
                for mode, browser in browsers.items():
                    results[name][mode].append(run(browser, expression, count))
        print(f"chromium: {chrome}")
        print("| round trip | JSON pipe µs | CBOR pipe µs | CBOR ÷ JSON |")
        print("|---|---|---|---|")
        for name, _, _ in CASES:
            j = sorted(results[name]["json"])[1]; c = sorted(results[name]["cbor"])[1]
            print(f"| {name} | {j:.0f} | {c:.0f} | {c / j:.2f} |")
    finally:
        for b in browsers.values(): b.close()

if __name__ == "__main__":
    main()
