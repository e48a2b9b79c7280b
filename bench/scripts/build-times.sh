#!/usr/bin/env bash
# Build times a developer waits for (BENCHMARKS.md, "Build times"):
#   1. the incremental build of the server after editing one handler: a comment line
#      added to HANDLER, then `cargo build -p ncompass`, REPS times (the file is put back
#      after);
#   2. the fuzz crate's cold build (`cargo build` in fuzz/, its own lock file, an empty
#      target directory).
# Usage: bench/scripts/build-times.sh TREE HANDLER [REPS]
#   TREE     a checkout of the project (run it on two checkouts, one after the other,
#            with the same CARGO_TARGET_DIR for step 1, to compare them)
#   HANDLER  the handler's file, relative to TREE
# Step 1 needs a warm build of TREE first (the script does one, untimed).
set -euo pipefail
tree=$1 handler=$2 reps=${3:-3}
cd "$tree"
cargo build --quiet -p ncompass
cp "$handler" "$handler.orig"
trap 'mv "$handler.orig" "$handler"' EXIT
for rep in $(seq "$reps"); do
    echo "// build-times edit $rep" >> "$handler"
    start=$(date +%s.%N)
    cargo build --quiet -p ncompass
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" -v f="$handler" 'BEGIN { printf "incremental build after editing %s: %.1f s\n", f, e - s }'
done
fuzz_target=$(mktemp -d)
start=$(date +%s.%N)
(cd fuzz && CARGO_TARGET_DIR=$fuzz_target cargo build --quiet)
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$(find "$fuzz_target/debug/deps" -name '*.rlib' | wc -l)" \
    'BEGIN { printf "fuzz crate, cold build: %.1f s (%d crates)\n", e - s, n }'
rm -rf "$fuzz_target"
