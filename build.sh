#!/usr/bin/env bash
# LeanProxy build script: thin, loud, fail-fast. Verbs: run [APP] [-- serve options], test, publish, bench.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*" >&2; }
run() { step "$*"; "$@"; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The full browser's names on PATH (the headless shell's are looked for first, in ensure_chromium).
FULL_BROWSERS=(chromium chromium-browser google-chrome google-chrome-stable)

# Makes sure a Chromium is there: $CHROME_PATH, else the headless shell (Debian's chromium-headless-shell, Google's
# chrome-headless-shell: a third less memory and half the start-up of the full browser), else (root + apt-get)
# Debian's chromium-headless-shell, else chromium/google-chrome on PATH; otherwise says how to get one and stops.
ensure_chromium() {
  if [[ -n "${CHROME_PATH:-}" ]]; then
    if [[ -x "$CHROME_PATH" ]]; then step "Chromium: \$CHROME_PATH=$CHROME_PATH"; return; fi
    echo "error: CHROME_PATH=$CHROME_PATH is not an executable file" >&2; exit 1
  fi
  local name
  for name in chromium-headless-shell chrome-headless-shell; do
    if command -v "$name" >/dev/null 2>&1; then step "Chromium: $(command -v "$name") (the headless shell)"; return; fi
  done
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    run apt-get update -qq
    # Debian 12 has had the headless shell since Chromium 120; where a distribution has no such package, its chromium.
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell \
      || run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    return
  fi
  for name in "${FULL_BROWSERS[@]}"; do
    if command -v "$name" >/dev/null 2>&1; then
      step "Chromium: $(command -v "$name") (the headless shell would need less memory: apt-get install chromium-headless-shell)"
      return
    fi
  done
  cat >&2 <<'MSG'
error: Chromium was not found.
  Install it, e.g. on Debian:  sudo apt-get install chromium-headless-shell   (or chromium)
  or point LeanProxy at one:   export CHROME_PATH=/path/to/chrome
MSG
  exit 1
}

# The tests also start the full browser (ChromiumBinaryTests): LeanProxy serves with either. Installed when missing
# and root with apt-get; otherwise that test says it was not run.
ensure_full_chromium() {
  local name
  for name in "${FULL_BROWSERS[@]}"; do
    if command -v "$name" >/dev/null 2>&1; then return; fi
  done
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    run apt-get update -qq && run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
      || step "warning: could not install chromium; ChromiumBinaryTests will say the full browser was not run"
  fi
}

# Makes sure PostgreSQL's server binaries are there for the store tests (they start their own throwaway cluster with
# initdb; never a system cluster): Debian's postgresql package when missing and root; otherwise says how.
ensure_postgres() {
  if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    step "PostgreSQL: $(ls -d /usr/lib/postgresql/*/bin/initdb | tail -1)"
    return
  fi
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    return
  fi
  cat >&2 <<'MSG'
error: PostgreSQL (initdb) was not found; the store tests start their own throwaway cluster with it.
  Install it, e.g. on Debian/Ubuntu:  sudo apt-get install postgresql
MSG
  exit 1
}

# npm, for apps with a package.json and for the tests that install real packages from the npm registry.
ensure_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm
    return
  fi
  echo "error: npm was not found (e.g. sudo apt-get install npm)" >&2
  exit 1
}

# An app with a package.json and no node_modules gets its packages: npm ci (npm install without a lock file).
ensure_packages() {
  local app="$1"
  [[ -d "$app" && -f "$app/package.json" && ! -d "$app/node_modules" ]] || return 0
  ensure_npm
  if [[ -f "$app/package-lock.json" ]]; then
    run npm ci --prefix "$app" --no-audit --no-fund
  else
    run npm install --prefix "$app" --no-audit --no-fund
  fi
}

usage() {
  cat >&2 <<'MSG'
usage: ./build.sh run [APP] [-- serve options]   build and serve APP (default examples/hello) on 127.0.0.1:8080
       ./build.sh test [dotnet test args]        build everything and run every test (real Chromium included)
       ./build.sh publish                        single-file, self-contained binary at out/leanproxy
       ./build.sh bench [BenchmarkDotNet args]   run the micro-benchmarks (bench/LeanProxy.Benchmarks)
MSG
  exit 2
}

verb="${1:-}"
[[ $# -gt 0 ]] && shift
case "$verb" in
  run)
    app=examples/hello
    if [[ $# -gt 0 && "$1" != "--" ]]; then app="$1"; shift; fi
    if [[ $# -gt 0 && "$1" == "--" ]]; then shift; fi
    ensure_chromium
    ensure_packages "$app"
    run dotnet build src/Host/LeanProxy.Host.csproj -c Release -v quiet -nologo
    step "leanproxy serve $app $*"
    exec dotnet src/Host/bin/Release/net10.0/leanproxy.dll serve "$app" "$@"
    ;;
  test)
    ensure_chromium
    ensure_full_chromium
    ensure_postgres
    ensure_npm
    run dotnet build LeanProxy.sln -c Release -v quiet -nologo
    # The integration tests run the binary that ships (single-file, self-contained, trimmed), not the build's dll.
    run dotnet publish src/Host/LeanProxy.Host.csproj -c Release -o out -v quiet -nologo
    export LEANPROXY_TEST_BINARY="$PWD/out/leanproxy"
    # Anything after `test` goes to dotnet test, e.g. --filter "TestCategory!=Soak&TestCategory!=Registry" (CI passes nothing).
    run dotnet test LeanProxy.sln -c Release --no-build -v quiet -nologo --logger "console;verbosity=normal" "$@"
    ;;
  publish)
    run dotnet publish src/Host/LeanProxy.Host.csproj -c Release -o out -nologo
    step "published: out/leanproxy ($(du -h out/leanproxy | cut -f1))"
    ;;
  bench)
    run dotnet run -c Release --project bench/LeanProxy.Benchmarks -- "$@"
    ;;
  *)
    usage
    ;;
esac
