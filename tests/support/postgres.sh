#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, from Debian's initdb and pg_ctl.
#   postgres.sh start STATE_DIR   makes a cluster in a new temporary directory, starts it on a free loopback port and
#                                 writes its admin URL to STATE_DIR/url (tests make their own databases in it)
#   postgres.sh stop STATE_DIR    stops it and removes its directory
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user. Durability is off (fsync,
# synchronous_commit): these clusters hold test data only and are thrown away.
set -euo pipefail
cmd=${1:?start or stop}
state=${2:?state directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "postgres.sh: no initdb under /usr/lib/postgresql (scripts/setup installs it)" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  [ -f "$state/dir" ] || return 0
  local dir
  dir=$(cat "$state/dir")
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null 2>&1 || true
  rm -f "$state/url" "$state/dir"
  # Hundreds of MB of test databases: removed in the background, so a busy disk does not hold up the run.
  if mv "$dir" "$dir.gone" 2> /dev/null; then (rm -rf "$dir.gone" < /dev/null > /dev/null 2>&1 &) else rm -rf "$dir"; fi
}

start() {
  mkdir -p "$state"
  stop
  local dir port
  dir=$(mktemp -d /tmp/podpromo-pg.XXXXXX)
  echo "$dir" > "$state/dir"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U podpromo --auth=trust --no-sync -E UTF8 --locale=C > "$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  # A free port: the kernel picks one for a socket that is then closed (a race with another process is possible but
  # harmless: pg_ctl then fails and the next try picks again).
  for _ in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o \
      "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      > /dev/null; then
      echo "postgresql://podpromo@127.0.0.1:$port/postgres" > "$state/url"
      echo "postgres.sh: a cluster on 127.0.0.1:$port ($dir)"
      return 0
    fi
  done
  cat "$dir/server.log" >&2
  exit 1
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: postgres.sh start|stop STATE_DIR" >&2; exit 2 ;;
esac
