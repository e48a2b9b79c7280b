#!/usr/bin/env bash
# The test binaries scripts/test-postgres.sh runs inside its throwaway cluster
# (pg_virtualenv exports PGHOST, PGPORT, PGUSER, PGPASSWORD). Not meant to be run alone.
#
# A test binary that crashes fails the stage, even after every test said ok. (A
# SIGSEGV at exit used to: r2d2 opened pool connections on threads nobody joined, one
# in libpq's SCRAM exchange while the exit handlers destroyed libcrypto's locks. Each
# test's server is now stopped and its thread joined when the test ends
# (startup::Background), a stopped server waits for its writer and alerts threads, and
# a dropped pool opens no more connections and waits for those in progress
# (store/src/pool.rs).)
set -euo pipefail
CARGO=${CARGO:-cargo}
export NCOMPASS_TEST_POSTGRES="postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres?sslmode=disable"
echo "test-postgres: the integration suite on PostgreSQL at $PGHOST:$PGPORT" >&2

run() {
    "$CARGO" test --locked "$@"
}

run -p ncompass --test api
# PostgreSQL's plans of the page queries (unit tests that skip on SQLite).
run -p ncompass-store --lib postgres_ -- --ignored
# The real binary killed mid-load and restarted, and the report round trip.
run -p ncompass --test crash
run -p ncompass --test roundtrip
# The dashboard in headless Chromium, on PostgreSQL.
run -p e2e --test dashboard
# Several instances on one database, and a database outage (one test at a time: each
# starts several servers).
run -p ncompass --test cluster -- --ignored --test-threads=1
