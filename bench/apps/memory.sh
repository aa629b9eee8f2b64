#!/usr/bin/env bash
# What an idle node and one more warm app cost in memory (PSS of the host and every Chromium process), for a set of
# Chromium switches: ./bench/apps/memory.sh [--chrome-arg=... ...]. Starts its own node on loopback (a temporary
# SQLite store), deploys examples/hello as 10 apps, starts each with one request, and stops the node.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${LEANPROXY:-out/leanproxy}
APPS=${APPS:-10}
DIR=$(mktemp -d)
PORT=${PORT:-18190}
ADMIN=$((PORT + 1))
"$BIN" serve --store "sqlite:$DIR/store.db" --http 127.0.0.1:$PORT --admin 127.0.0.1:$ADMIN --max-tabs 64 "$@" >"$DIR/log" 2>&1 &
NODE=$!
trap 'kill $NODE 2>/dev/null; wait $NODE 2>/dev/null; rm -rf "$DIR"' EXIT

tree_pss() { # KiB of PSS of the node and every process below it
  local pids=$NODE todo=$NODE next total=0
  while [ -n "$todo" ]; do next=""; for p in $todo; do for c in $(cat /proc/$p/task/*/children 2>/dev/null); do pids="$pids $c"; next="$next $c"; done; done; todo=$next; done
  for p in $pids; do total=$((total + $(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0))); done
  echo $total
}

until curl -sf "http://127.0.0.1:$ADMIN/healthz" >/dev/null; do sleep 0.2; done
sleep 5
IDLE=$(tree_pss)
for i in $(seq 1 "$APPS"); do "$BIN" deploy examples/hello --name "m$i" --admin "http://127.0.0.1:$ADMIN" >/dev/null 2>&1; done
for i in $(seq 1 "$APPS"); do curl -sf -H "Host: m$i.localhost" "http://127.0.0.1:$PORT/" >/dev/null; sleep 0.7; done
sleep 3
WARM=$(tree_pss)
echo "switches: ${*:-(defaults)}"
echo "idle node: $((IDLE / 1024)) MB; with $APPS warm apps: $((WARM / 1024)) MB; per warm app: $(( (WARM - IDLE) / APPS / 1024 )) MB"
