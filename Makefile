# The two set-up commands are `make run` and `make test`; each installs what it needs.
# Settings come from the NCOMPASS_* environment variables (see README.md), e.g.
#   NCOMPASS_BIND=0.0.0.0:8080 NCOMPASS_SECRET=... make run

CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

.PHONY: run test build openapi lint help

## run: build everything (release) and serve webhook, API and pages on one port
run: build
	$(TARGET_DIR)/release/ncompass serve

build:
	$(CARGO) build --release --locked -p ncompass

## test: every test of the workspace (unit and integration)
test:
	$(CARGO) test --workspace --locked

## openapi: regenerate openapi.yaml from the code (a test fails when it drifts)
openapi:
	$(CARGO) run --quiet --locked -p ncompass -- openapi > openapi.yaml

## lint: what CI checks besides the tests
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

help:
	@grep -E '^## ' Makefile | sed 's/^## /make /'
