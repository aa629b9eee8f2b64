#!/usr/bin/env bash
# A throwaway PostgreSQL for trying LeanProxy's platform mode on one machine (never a system cluster):
#   scripts/dev-postgres.sh start    initdb (first time) and start on 127.0.0.1:${LP_PG_PORT:-55432}; prints the store URI
#   scripts/dev-postgres.sh stop     stop it (the data stays in ${LP_PG_DIR:-/tmp/leanproxy-pg})
#   scripts/dev-postgres.sh remove   stop it and delete its data
# Needs Debian's postgresql package (sudo apt-get install postgresql). As root it runs the server as the postgres user.
set -euo pipefail

dir=${LP_PG_DIR:-/tmp/leanproxy-pg}
port=${LP_PG_PORT:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [[ -z "$bin" ]]; then
  echo "error: PostgreSQL's binaries were not found; install them with: sudo apt-get install postgresql" >&2
  exit 1
fi

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  fi
}

case "${1:-start}" in
  start)
    if [[ ! -d "$dir/data" ]]; then
      mkdir -p "$dir"
      printf 'leanproxy\n' > "$dir/pw"
      if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$dir"; fi
      as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A scram-sha-256 --pwfile "$dir/pw" -E UTF8 >/dev/null
    fi
    if [[ ! -f "$dir/data/postmaster.pid" ]]; then
      as_postgres "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -l "$dir/server.log" -w start >/dev/null
    fi
    echo "postgres://postgres:leanproxy@127.0.0.1:$port/postgres"
    ;;
  stop)
    stop
    ;;
  remove)
    stop
    rm -rf "$dir"
    ;;
  *)
    echo "usage: scripts/dev-postgres.sh start|stop|remove" >&2
    exit 2
    ;;
esac
