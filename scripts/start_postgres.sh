#!/usr/bin/env bash
# Start a throwaway PostgreSQL on a free 127.0.0.1 port (trust auth) for the Postgres job-store tests.
# Prints the URL to use as AUTOFIXER_TEST_POSTGRES_URL. Needs root (apt-get) on Debian.
# PG_DATA_DIR chooses the data directory (default: a new one under /tmp); stop the server with
# scripts/stop_postgres.sh <that directory>.
set -euo pipefail
port="${1:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
data="${PG_DATA_DIR:-$(mktemp -d /tmp/autofixer-pg.XXXXXX)}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
bin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
chown postgres "$data"
su postgres -c "$bin/initdb -D $data -A trust -U postgres" >/dev/null
su postgres -c "$bin/pg_ctl -D $data -o '-p $port -k /tmp -c listen_addresses=127.0.0.1' -l $data/server.log -w start" >/dev/null
echo "postgresql://postgres@127.0.0.1:$port/postgres"
