# The two set-up commands are `make run` and `make test`; each installs what it needs
# (scripts/install-toolchain.sh: wasm target, trunk, wasm-bindgen-cli, wasm-opt, and for
# the browser tests Chromium with ChromeDriver), idempotently.
# Settings come from the NCOMPASS_* environment variables (see README.md), e.g.
#   NCOMPASS_BIND=0.0.0.0:8080 NCOMPASS_SECRET=... make run

CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
# wasm-opt from npm lives in .tools/; cargo-installed tools in ~/.cargo/bin.
export PATH := $(CURDIR)/.tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run test cluster build frontend toolchain browser-toolchain test-tools openapi lint bench-dashboard bench-ingest bench-presence bench-postgres bench-postgres-queries bench-privacy bench-hostile bench-now bench-capacity bench-merge bench-meraki bench-retention fuzz help

## run: build the dashboard and the server (release), then serve both on one port
run: frontend build
	$(TARGET_DIR)/release/ncompass serve

build:
	$(CARGO) build --release --locked -p ncompass

## frontend: build the dashboard into dist/ (Trunk, release, offline)
frontend: toolchain
	trunk build --release --offline --cargo-profile wasm-release

toolchain:
	scripts/install-toolchain.sh

browser-toolchain:
	scripts/install-toolchain.sh --browser

# promtool (Debian's prometheus package) checks deploy/prometheus and deploy/grafana.
test-tools:
	@command -v promtool >/dev/null || scripts/apt-install.sh test-tools --no-install-recommends prometheus

## test: every test: unit, integration (HTTP on a temp database: SQLite, then PostgreSQL), browser (headless Chromium)
test: browser-toolchain test-tools frontend
	NCOMPASS_REQUIRE_PROMTOOL=1 $(CARGO) test --workspace --locked
	CARGO=$(CARGO) scripts/test-postgres.sh

## cluster: two instances on a throwaway PostgreSQL behind nginx on http://127.0.0.1:8080 (Ctrl-C stops all)
cluster: frontend build
	scripts/cluster.sh

## openapi: regenerate openapi.yaml from the code (a test fails when it drifts)
openapi:
	$(CARGO) run --quiet --locked -p ncompass -- openapi > openapi.yaml

## lint: what CI checks besides the tests
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## bench-dashboard: bundle size and time to a rendered table (BENCHMARKS.md)
bench-dashboard: browser-toolchain frontend
	$(CARGO) run --release --locked -p e2e --bin dashboard-bench

help:
	@grep -E '^## ' Makefile | sed 's/^## /make /'

## bench-ingest: ingestion and query figures of BENCHMARKS.md (takes about 15 minutes)
bench-ingest: build
	$(CARGO) run --release --locked -p bench --bin ingest-bench -- --server $(TARGET_DIR)/release/ncompass

## bench-privacy: keyed beside raw ingestion, and ingestion while retention deletes (BENCHMARKS.md; about 10 minutes)
bench-privacy: build
	$(CARGO) run --release --locked -p bench --bin privacy-bench -- --server $(TARGET_DIR)/release/ncompass

## bench-hostile: signed reports beside an attacker posting refused bodies at 10x their rate (SQLite, then a throwaway PostgreSQL), and memory with stalled exports and 5,500 idle or trickling connections (BENCHMARKS.md; about 5 minutes)
bench-hostile: build
	$(CARGO) build --release --locked -p bench --bin hostile-bench
	ulimit -n 20000 && pg_virtualenv -t sh -c '$(TARGET_DIR)/release/hostile-bench --server $(TARGET_DIR)/release/ncompass --postgres "postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$$PGPORT/postgres?sslmode=disable"'

## bench-capacity: realistic beside sequential MACs on an empty database, then realistic ingestion on databases already holding 3M and 10M rows, as ratios to an empty run beside each (BENCHMARKS.md; about 15 minutes). More rows: BENCH_STORED=30000000
BENCH_STORED ?= 3000000,10000000
bench-capacity: build
	$(CARGO) run --release --locked -p bench --bin capacity-bench -- --server $(TARGET_DIR)/release/ncompass --stored $(BENCH_STORED)

## bench-meraki: Meraki v3 ingestion (observations/s, rows/s) beside CloudTrax's (probe requests/s), alternated on fresh databases (BENCHMARKS.md; about 3 minutes)
bench-meraki: build
	$(CARGO) run --release --locked -p bench --bin meraki-bench -- --server $(TARGET_DIR)/release/ncompass

## bench-retention: SQLite retention, the oldest day of a file filled over two days (5M rows) dropped whole beside deleted by the chunk (BENCHMARKS.md; about 5 minutes)
bench-retention:
	$(CARGO) build --release --locked -p bench --bin retention-bench
	$(TARGET_DIR)/release/retention-bench

## bench-merge: the presence merge's rate on BENCH_MERGE_ROWS realistic rows, on SQLite and on PostgreSQL in the same run (BENCHMARKS.md; a throwaway cluster, about 5 minutes)
BENCH_MERGE_ROWS ?= 1000000
bench-merge:
	$(CARGO) build --release --locked -p bench --bin merge-bench
	pg_virtualenv -t sh -c 'NCOMPASS_BENCH_POSTGRES="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$$PGPORT/postgres" $(TARGET_DIR)/release/merge-bench --rows $(BENCH_MERGE_ROWS)'

## bench-now: occupancy now (GET /api/v1/stats/now) at 10M stored rows beside the HTTP floor, on SQLite then PostgreSQL (BENCHMARKS.md; about 20 minutes)
bench-now: build
	$(CARGO) build --release --locked -p bench --bin now-bench
	$(TARGET_DIR)/release/now-bench --server $(TARGET_DIR)/release/ncompass
	for history in 604800 86400; do pg_virtualenv -t sh -c "set -e; psql -q -c 'CREATE DATABASE bench_now'; $(TARGET_DIR)/release/now-bench --server $(TARGET_DIR)/release/ncompass --history $$history --database \"postgres://\$$PGUSER:\$$PGPASSWORD@\$$PGHOST:\$$PGPORT/bench_now?sslmode=disable\""; done

## bench-presence: the presence analytics over a day of 1M and 10M rows, and the home page's figures (BENCHMARKS.md; about 25 minutes, mostly filling 10M rows)
bench-presence: build
	$(CARGO) run --release --locked -p bench --bin presence-bench -- --server $(TARGET_DIR)/release/ncompass

## bench-postgres: 100-probe ingestion on SQLite, PostgreSQL, two instances on PostgreSQL, and PostgreSQL's raw ceiling (BENCHMARKS.md; a throwaway cluster, about 2 minutes)
bench-postgres: build
	$(CARGO) build --release --locked -p bench --bin postgres-bench
	pg_virtualenv -t sh -c 'NCOMPASS_BENCH_POSTGRES="postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$$PGPORT/postgres" $(TARGET_DIR)/release/postgres-bench --server $(TARGET_DIR)/release/ncompass'

## bench-postgres-queries: list queries and analytics at 1M rows on SQLite, then on PostgreSQL (BENCHMARKS.md; about 5 minutes)
bench-postgres-queries: build
	$(CARGO) build --release --locked -p bench --bin ingest-bench
	pg_virtualenv -t sh -c 'set -e; $(TARGET_DIR)/release/ingest-bench --server $(TARGET_DIR)/release/ncompass --queries-only --query-sizes 1000000 --query-requests 100; psql -q -c "CREATE DATABASE bench_queries"; $(TARGET_DIR)/release/ingest-bench --server $(TARGET_DIR)/release/ncompass --queries-only --query-sizes 1000000 --query-requests 100 --database "postgres://$$PGUSER:$$PGPASSWORD@$$PGHOST:$$PGPORT/bench_queries"'

FUZZ_SECONDS ?= 120
## fuzz: the webhook parser and signature check, then the Meraki parser, under libFuzzer for FUZZ_SECONDS each (installs cargo-fuzz)
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run webhook corpus/webhook -- -max_total_time=$(FUZZ_SECONDS)
	mkdir -p fuzz/corpus/meraki && cp core/samples/meraki-*.json fuzz/corpus/meraki/
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run meraki corpus/meraki -- -max_total_time=$(FUZZ_SECONDS)
