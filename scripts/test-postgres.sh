#!/usr/bin/env bash
# The HTTP integration suite (backend/tests/api), the crash, round-trip and browser
# tests once more, on PostgreSQL, and the multi-instance tests (backend/tests/cluster.rs), which need it: a throwaway
# cluster made by Debian's pg_virtualenv (postgresql-common), which exports PGHOST,
# PGPORT, PGUSER and PGPASSWORD, runs the tests and drops the cluster. Works as root.
# Each test creates a database of its own in that cluster (tests/api/helpers.rs).
# Installs Debian's postgresql (and nginx, for the test through it) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO=${CARGO:-cargo}

missing=
if ! command -v pg_virtualenv >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    missing="$missing postgresql postgresql-common"
fi
command -v nginx >/dev/null || missing="$missing nginx"
# shellcheck disable=SC2086
scripts/apt-install.sh test-postgres $missing

export CARGO
# -t: the cluster in a temporary directory even as root, so a run that was killed
# leaves no 15/regress behind to make the next one refuse ("exists, refusing to
# overwrite").
# sslmode=disable: no TLS on loopback. With it, OpenSSL (inside libpq) was torn down by
# exit handlers while the test servers' threads still held TLS connections, and the
# test binary died of SIGSEGV after every test had passed (about one run in two).
exec pg_virtualenv -t bash scripts/postgres-tests.sh
