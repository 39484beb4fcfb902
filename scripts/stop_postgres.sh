#!/usr/bin/env bash
# Stop the PostgreSQL that scripts/start_postgres.sh started in data directory $1 (by its pid file).
set -euo pipefail
data="$1"
[ -f "$data/postmaster.pid" ] || exit 0
bin="$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n 1)")"
su postgres -c "$bin/pg_ctl -D $data -m fast -w stop" >/dev/null
