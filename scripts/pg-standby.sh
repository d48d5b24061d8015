#!/usr/bin/env bash
# A hot standby of the local test server, for the read-replica tests (tests/e2e/test_replicas.py).
#
# The primary is the Debian cluster "main" on 127.0.0.1:5432 (trust auth, user postgres); the
# standby is a second cluster, "standby", on port 5433, made by pg_basebackup -R and kept by
# streaming replication. Idempotent: a standby already answering on the port is reused. Ends
# when the standby accepts read-only connections. Run as root (as CI does) or as postgres.
#
# On the primary it changes only what replication needs and says what it changed: a pg_hba
# "replication" entry for 127.0.0.1 with trust (then a reload), and wal_level / max_wal_senders
# if they are too low (then a restart).
set -euo pipefail

PRIMARY_PORT="${PGSTANDBY_PRIMARY_PORT:-5432}"
PORT="${PGSTANDBY_PORT:-5433}"
NAME="${PGSTANDBY_CLUSTER:-standby}"
VERSION="${PGSTANDBY_VERSION:-$(ls /etc/postgresql | sort -n | tail -1)}"
PRIMARY_CONF="/etc/postgresql/$VERSION/main"
DATA="/var/lib/postgresql/$VERSION/$NAME"

say() { echo "pg-standby: $*" >&2; }
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}
ask() { psql -h 127.0.0.1 -p "$1" -U postgres -d postgres -XAtqc "$2" 2>/dev/null; }
# Ready: read-only, and streaming from the primary (a standby that lost its place in the
# primary's WAL stays in recovery forever without streaming; it is remade).
standby_ready() {
  [ "$(ask "$PORT" "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver
      WHERE status = 'streaming')")" = t ]
}
wait_ready() {
  for _ in $(seq 1 "$1"); do standby_ready && return 0; sleep 1; done
  return 1
}

if [ "$(ask "$PORT" 'SELECT pg_is_in_recovery()')" = t ] && wait_ready 15; then
  say "reusing the running standby on port $PORT"
  exit 0
fi

if ! pg_isready -h 127.0.0.1 -p "$PRIMARY_PORT" -q; then
  say "the primary does not answer on 127.0.0.1:$PRIMARY_PORT"
  exit 1
fi

# The primary: a replication entry in pg_hba.conf (a reload is enough).
if ! grep -qE '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' \
    "$PRIMARY_CONF/pg_hba.conf"; then
  echo "host replication all 127.0.0.1/32 trust" >>"$PRIMARY_CONF/pg_hba.conf"
  ask "$PRIMARY_PORT" 'SELECT pg_reload_conf()' >/dev/null
  say "added 'host replication all 127.0.0.1/32 trust' to $PRIMARY_CONF/pg_hba.conf and reloaded"
fi

# wal_level and max_wal_senders (both fine by default on PostgreSQL 15) need a restart.
wal_level="$(ask "$PRIMARY_PORT" 'SHOW wal_level')"
senders="$(ask "$PRIMARY_PORT" 'SHOW max_wal_senders')"
if [ "$wal_level" = minimal ] || [ "${senders:-0}" -lt 2 ]; then
  printf 'wal_level = replica\nmax_wal_senders = 10\n' >"$PRIMARY_CONF/conf.d/91-replication.conf"
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main restart
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$PRIMARY_PORT" -q && break; sleep 1; done
  say "set wal_level = replica, max_wal_senders = 10 on the primary and restarted it"
fi

# A standby cluster that exists but is stopped is started; if it does not come up, remade.
if [ -d "/etc/postgresql/$VERSION/$NAME" ] && [ -f "$DATA/standby.signal" ]; then
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" start 2>/dev/null || true
  if wait_ready 15; then
    say "started the existing standby on port $PORT"
    exit 0
  fi
fi
if [ -d "/etc/postgresql/$VERSION/$NAME" ]; then
  say "removing the leftover or unusable cluster $VERSION/$NAME"
  pg_dropcluster --stop "$VERSION" "$NAME" 2>/dev/null || true
  rm -rf "/etc/postgresql/$VERSION/$NAME" "$DATA"
fi

say "creating the standby cluster $VERSION/$NAME on port $PORT from 127.0.0.1:$PRIMARY_PORT"
pg_createcluster "$VERSION" "$NAME" -p "$PORT" >/dev/null
# Parameters a hot standby needs at least as high as the primary's.
{
  for setting in max_connections max_worker_processes max_wal_senders \
      max_prepared_transactions max_locks_per_transaction; do
    echo "$setting = $(ask "$PRIMARY_PORT" "SHOW $setting")"
  done
  echo "listen_addresses = '127.0.0.1'"
  echo "hot_standby = on"
} >"/etc/postgresql/$VERSION/$NAME/conf.d/90-standby.conf"
# The same client authentication as the primary's (the test server's trust on loopback).
install -o postgres -g postgres -m 640 "$PRIMARY_CONF/pg_hba.conf" "/etc/postgresql/$VERSION/$NAME/pg_hba.conf"
rm -rf "${DATA:?}"/*
as_postgres pg_basebackup -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DATA" -R -X stream -c fast
# The copy carries the primary's postgresql.auto.conf, whose port would win over the cluster's.
as_postgres sed -i -E '/^[[:space:]]*port[[:space:]]*=/d' "$DATA/postgresql.auto.conf"
echo "port = $PORT" | as_postgres tee -a "$DATA/postgresql.auto.conf" >/dev/null
pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" start

if wait_ready 60; then
  say "standby ready on 127.0.0.1:$PORT (read-only, streaming from port $PRIMARY_PORT)"
  exit 0
fi
say "the standby did not accept read-only connections on port $PORT within 60 s"
exit 1
