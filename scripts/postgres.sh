#!/usr/bin/env bash
# Starts (or stops) a throw-away PostgreSQL server for the test suite on its own port and
# data directory. `start` prints the database URL; `stop DIR` shuts the server down.
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop DIR}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
start)
  dir=$(mktemp -d /tmp/creditops-pg.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  as_pg "$pg_bin/initdb" -D "$dir/data" -U creditops --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
  as_pg "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null
  as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U creditops creditops_test
  echo "$dir postgresql+psycopg://creditops@127.0.0.1:$port/creditops_test"
  ;;
stop)
  dir=${2:?usage: postgres.sh stop DIR}
  as_pg "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
esac
