#!/usr/bin/env bash
# A pass-through handler — export default { fetch: (r) => fetch(ORIGIN + new URL(r.url).pathname, r) } — in front of
# a local origin answering 1 KiB and 100 KiB, on LeanProxy, on workerd (its network allowing loopback) and as a
# node:http proxy with node's fetch, in one run; and the origin alone (what a subrequest adds is the difference).
#   bench/subrequests/run.sh [path/to/leanproxy]      (default out/leanproxy; ./build.sh publish first)
# Env: CONNS="1 64"  DURATION=10s  WARMUP=2s  ROUNDS=2 (peers interleaved)  TABS=1
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
leanproxy="$(realpath "${1:-$root/out/leanproxy}")"
peers="$root/../shared/peers"
workerd="$peers/node_modules/@cloudflare/workerd-linux-64/bin/workerd"
CONNS="${CONNS:-1 64}" DURATION="${DURATION:-10s}" WARMUP="${WARMUP:-2s}" ROUNDS="${ROUNDS:-2}" TABS="${TABS:-1}"
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)" >&2; exit 1; }
[[ -x "$leanproxy" ]] || { echo "$leanproxy not found (./build.sh publish)" >&2; exit 1; }
[[ -x "$workerd" ]] || (cd "$peers" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --silent)
work="$(mktemp -d /tmp/lp-subrequests-XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

origin_port=18570
PORT=$origin_port node "$here/origin.js" & pids+=($!)
origin="http://127.0.0.1:$origin_port"

# LeanProxy and workerd run the same module; ORIGIN is set by a line put in front of it.
printf 'globalThis.ORIGIN_URL = "%s";\n' "$origin" | cat - "$here/worker.mjs" > "$work/worker.mjs"
mkdir -p "$work/app" && cp "$work/worker.mjs" "$work/app/index.mjs"
cat > "$work/config.capnp" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w), (name = "net", network = (allow = ["public", "private", "local"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:18571", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ (name = "worker.mjs", esModule = embed "worker.mjs") ],
  compatibilityDate = "2025-06-01",
  globalOutbound = "net",
);
CAPNP

start() { # name port command...
  local name=$1 port=$2; shift 2
  "$@" >"$work/$name.log" 2>&1 & pids+=($!)
  for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/1k" && return 0; sleep 0.05; done
  echo "$name did not answer on $port (see $work/$name.log)" >&2; cat "$work/$name.log" >&2; exit 1
}
start leanproxy 18572 env TMPDIR="$work" "$leanproxy" serve "$work/app" --http 127.0.0.1:18572 --tabs "$TABS" --allow-net "127.0.0.1:$origin_port"
start workerd 18571 "$workerd" serve "$work/config.capnp"
start node 18573 env PORT=18573 ORIGIN="$origin" node "$here/node-proxy.js"

declare -A port=([origin]=$origin_port [leanproxy]=18572 [workerd]=18571 [node]=18573)
printf 'round\tpeer\tsize\tconns\treq_s\tp50_ms\terrors\n' > "$work/results.tsv"
for round in $(seq 1 "$ROUNDS"); do
  for size in 1k 100k; do
    for c in $CONNS; do
      for peer in origin leanproxy workerd node; do
        url="http://127.0.0.1:${port[$peer]}/$size"
        wrk -t1 -c16 -d"$WARMUP" "$url" >/dev/null 2>&1
        out=$(wrk -t1 -c"$c" -d"$DURATION" --latency "$url")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        p50=$(awk '$1=="50%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) sub("ms","",v); else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' <<<"$out")
        errors=$(awk '/Non-2xx|Socket errors/ {s+=$NF} END {print s+0}' <<<"$out")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$peer" "$size" "$c" "$rps" "$p50" "$errors" | tee -a "$work/results.tsv" >&2
      done
    done
  done
done

echo
echo "| size | conns | origin req/s (p50 ms) | LeanProxy | workerd | node | LeanProxy ÷ workerd | LeanProxy p50 − origin p50 |"
echo "|---|---|---|---|---|---|---|---|"
awk -F'\t' 'NR>1 {k=$3" "$4; r[k" "$2]+=$5; p[k" "$2]+=$6; n[k" "$2]++; keys[k]=1}
  END {for (k in keys) {split(k, a, " ");
    o=r[k" origin"]/n[k" origin"]; l=r[k" leanproxy"]/n[k" leanproxy"]; w=r[k" workerd"]/n[k" workerd"]; d=r[k" node"]/n[k" node"];
    po=p[k" origin"]/n[k" origin"]; pl=p[k" leanproxy"]/n[k" leanproxy"]; pw=p[k" workerd"]/n[k" workerd"]; pd=p[k" node"]/n[k" node"];
    printf "| %s | %s | %.0f (%.3f) | %.0f (%.3f) | %.0f (%.3f) | %.0f (%.3f) | %.2f× | %.3f ms |\n", a[1], a[2], o, po, l, pl, w, pw, d, pd, l/w, pl-po}}' "$work/results.tsv" | sort
