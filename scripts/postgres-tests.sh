#!/usr/bin/env bash
# The test binaries scripts/test-postgres.sh runs inside its throwaway cluster
# (pg_virtualenv exports PGHOST, PGPORT, PGUSER, PGPASSWORD). Not meant to be run alone.
set -euo pipefail
CARGO=${CARGO:-cargo}
export NCOMPASS_TEST_POSTGRES="postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres?sslmode=disable"
echo "test-postgres: the integration suite on PostgreSQL at $PGHOST:$PGPORT" >&2

# Runs one test binary (cargo test ARGS). A test binary can still die of SIGSEGV at exit,
# after every test has passed and said so: that alone is reported, not failed. A failed
# test, or a crash before the binary's "test result: ok", still fails the stage.
# The cause (a core dump, 2026-12-02): r2d2 opens pool connections on threads of its own
# (scheduled_thread_pool, never joined); one in PQconnectdb's SCRAM exchange (HMAC in
# libcrypto) while the main thread ran the exit handlers that destroy libcrypto's locks
# read a freed lock. Fixed in the code: each test's server is stopped and its thread
# joined when the test ends (startup::Background), a stopped server waits for its writer
# and alerts threads, and a dropped pool opens no more connections and waits for those in
# progress (store/src/pool.rs). Five runs of the API suite after the fix: no crash (one in
# two to four before). The tolerance stays until more runs confirm it (issue 26 note).
run() {
    local log status
    log=$(mktemp)
    set +e
    "$CARGO" test --locked "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
        if grep -q 'SIGSEGV' "$log" && [ "$(grep -c '^test result: ok\.' "$log")" -ge 1 ] \
            && ! grep -q '^test result: FAILED' "$log"; then
            echo "test-postgres: WARNING: cargo test $* crashed at exit (SIGSEGV in libpq's teardown) after every test passed; not a test failure" >&2
        else
            rm -f "$log"
            exit "$status"
        fi
    fi
    rm -f "$log"
}

run -p ncompass --test api
# PostgreSQL's plans of the page queries (unit tests that skip on SQLite).
run -p ncompass-store --lib postgres_ -- --ignored
# The real binary killed mid-load and restarted, and the report round trip.
run -p ncompass --test crash
run -p ncompass --test roundtrip
# The dashboard in headless Chromium, on PostgreSQL.
run -p e2e --test dashboard
# Several instances on one database (one test at a time: each starts many servers).
run -p ncompass --test cluster -- --ignored --test-threads=1
