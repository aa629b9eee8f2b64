#!/usr/bin/env bash
# The chaos soak for longer than the suite's 30 s: ./bench/chaos/run.sh [SECONDS] (default 600). Runs
# ChaosSoakTests against a throwaway PostgreSQL (needs initdb: ./build.sh test installs it) and prints its table — every
# request answered correctly, answered with an error (which), or lost — and the faults it injected.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_WANTED=${1:-600}
LEANPROXY_CHAOS_SECONDS=$SECONDS_WANTED dotnet test tests/LeanProxy.Integration.Tests -c Release \
  --filter "FullyQualifiedName~ChaosSoakTests" --logger "console;verbosity=detailed" 2>&1 \
  | grep -E '^ *(\||chaos soak|host:|writes:)|Passed!|Failed!|Error Message|Expected|But was' | awk '!seen[$0]++'
