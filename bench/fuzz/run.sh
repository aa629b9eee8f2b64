#!/usr/bin/env bash
# Coverage-guided fuzzing with AFL++ through SharpFuzz: ./bench/fuzz/run.sh TARGET [MINUTES] (default 30), TARGET one of
# http-head, chunked, cdp-envelope, tar, websocket. Builds bench/LeanProxy.Fuzz, instruments the target's assembly in its output,
# runs afl-fuzz from the seed corpus in bench/fuzz/corpus/TARGET, and prints the figures (executions, paths, coverage,
# crashes, hangs). Findings stay in $FUZZ_OUT (default /tmp/leanproxy-fuzz/TARGET); replay one with the build that is
# not instrumented (the instrumented one needs AFL's shared memory):
#   dotnet build bench/LeanProxy.Fuzz -c Release && dotnet bench/LeanProxy.Fuzz/bin/Release/net10.0/LeanProxy.Fuzz.dll TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${1:?usage: bench/fuzz/run.sh http-head|chunked|cdp-envelope|tar|websocket [MINUTES]}
MINUTES=${2:-30}
case "$TARGET" in
  http-head|chunked|websocket) ASSEMBLY=LeanProxy.Listener.dll ;;
  cdp-envelope) ASSEMBLY=LeanProxy.Cdp.dll ;;
  tar) ASSEMBLY=LeanProxy.Engine.dll ;;
  *) echo "unknown target $TARGET" >&2; exit 2 ;;
esac
if ! command -v afl-fuzz >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++
  else
    echo "afl-fuzz not found: install AFL++ (Debian: sudo apt-get install afl++)" >&2; exit 1
  fi
fi
OUT=${FUZZ_OUT:-/tmp/leanproxy-fuzz/$TARGET}
rm -rf "$OUT" && mkdir -p "$OUT"
dotnet tool restore >/dev/null
dotnet build bench/LeanProxy.Fuzz -c Release -o "$OUT/bin" -v quiet -nologo >/dev/null
dotnet sharpfuzz "$OUT/bin/$ASSEMBLY"
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
afl-fuzz -i "bench/fuzz/corpus/$TARGET" -o "$OUT/findings" -t 10000 -m none -V $((MINUTES * 60)) \
  -- dotnet "$OUT/bin/LeanProxy.Fuzz.dll" "$TARGET" > "$OUT/afl.log" 2>&1 || { tail -30 "$OUT/afl.log"; exit 1; }
STATS="$OUT/findings/default/fuzzer_stats"
echo "target $TARGET, $MINUTES min:"
grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|bitmap_cvg|saved_crashes|saved_hangs|stability) ' "$STATS"
ls "$OUT/findings/default/crashes" "$OUT/findings/default/hangs" 2>/dev/null | grep -v README || true
