#!/usr/bin/env bash
# The release binary's size: builds `memsight` with the workspace's release profile and fails
# when it is larger than the budget (default 8 MiB; BENCHMARKS.md has the figures).
# Usage: scripts/bench-size.sh [BUDGET_BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-$((8 << 20))}
start=$(date +%s)
cargo build --release -p memsight-cli
bin=${CARGO_TARGET_DIR:-target}/release/memsight
size=$(stat -c %s "$bin")
echo "memsight release binary: $size bytes ($(( $(date +%s) - start )) s to build here)"
if [ "$size" -gt "$budget" ]; then
    echo "bench-size: $size bytes is over the budget of $budget" >&2
    exit 1
fi
