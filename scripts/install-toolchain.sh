#!/usr/bin/env bash
# Installs what building the dashboard and running the browser tests need, when missing.
# Idempotent: each step checks first, so calling it on every `make run` / `make test`
# costs about a second once everything is there. Versions are pinned (see
# ../shared/TOOLCHAIN.md for what works on these machines and why).
#
#   scripts/install-toolchain.sh            wasm target, trunk, wasm-bindgen-cli, wasm-opt,
#                                           swagger-ui-dist (the API reference page)
#   scripts/install-toolchain.sh --browser  ... and what the tests need: Chromium with
#                                           ChromeDriver, iproute2 and curl
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132
AXE_VERSION=4.10.3   # axe-core: the browser tests' accessibility checks
# swagger-ui-dist: the API reference at /api/docs. Its version is also in the paths of
# frontend/index.html and frontend/api-docs/index.html (a browser test loads the page).
SWAGGER_UI_VERSION=5.35.0
TOOLS_DIR=.tools   # project-local npm packages (wasm-opt), ignored by git

say() { printf '==> %s\n' "$*" >&2; }

# The wasm-bindgen CLI must be exactly the library's version in Cargo.lock, or trunk
# tries to download its own (and fails: no internet here).
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION (about 9 minutes on 2 cores, once)"
    # trunk 0.22 needs a newer rustc than this machine's.
    cargo install --locked trunk --version "$TRUNK_VERSION"
fi

WASM_BINDGEN_VERSION=$(wasm_bindgen_version)
if [ -z "$WASM_BINDGEN_VERSION" ]; then
    echo "cannot find the wasm-bindgen version in Cargo.lock" >&2
    exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
    # Not --locked: its lock file names a crate version the registry mirror lacks.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# Debian's binaryen (wasm-opt 108) is too old for current rustc output; npm's runs on Node.
if [ "$("$TOOLS_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | awk '{print $3}')" != "$BINARYEN_VERSION" ]; then
    say "installing wasm-opt (binaryen $BINARYEN_VERSION from npm) into $TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
fi

if [ "$(node -p "require('./$TOOLS_DIR/node_modules/swagger-ui-dist/package.json').version" 2>/dev/null)" != "$SWAGGER_UI_VERSION" ]; then
    say "installing swagger-ui-dist $SWAGGER_UI_VERSION from npm into $TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent "swagger-ui-dist@$SWAGGER_UI_VERSION"
fi

# libpq (PostgreSQL's client library) is linked into ncompass, for --database
# postgres://...; Debian's libpq-dev provides it (SQLite is compiled in).
if ! [ -e /usr/include/postgresql/libpq-fe.h ] && ! pkg-config --exists libpq 2>/dev/null; then
    scripts/apt-install.sh install-toolchain libpq-dev
fi

# The IEEE registry of MAC blocks, for each row's vendor: Debian's copy, read by the
# server at start-up (--oui-file); never downloaded at run time.
if ! [ -e /usr/share/ieee-data/oui.csv ]; then
    scripts/apt-install.sh install-toolchain ieee-data
fi

if [ "${1:-}" = "--browser" ]; then
    # The tests' other needs: Chromium and ChromeDriver (browser tests), iproute2 and curl
    # (a client in a network namespace of its own, for protected mode).
    missing=
    command -v chromium >/dev/null || missing="$missing chromium"
    command -v chromedriver >/dev/null || missing="$missing chromium-driver"
    command -v ip >/dev/null || missing="$missing iproute2"
    command -v curl >/dev/null || missing="$missing curl"
    # shellcheck disable=SC2086
    scripts/apt-install.sh install-toolchain $missing
    # axe-core (npm), injected into the pages by the browser tests: no CDN at test time.
    if [ "$(node -p "require('./$TOOLS_DIR/node_modules/axe-core/package.json').version" 2>/dev/null)" != "$AXE_VERSION" ]; then
        say "installing axe-core $AXE_VERSION from npm into $TOOLS_DIR"
        mkdir -p "$TOOLS_DIR"
        npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent "axe-core@$AXE_VERSION"
    fi
fi
