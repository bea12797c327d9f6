#!/usr/bin/env bash
# memsight against sysinfo 0.40, procfs 0.18 and the raw read floor, interleaved in one run:
# system memory, every process's RSS/VMS, one process's USS/PSS (fresh and reused handle), a
# whole memory scan. The peers are built in crates/memsight-bench (its own workspace), never by
# the project's tests. Usage: scripts/bench-peers.sh [EXTRA_SLEEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
extra=${1:-0}
pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 "$extra"); do
    sleep 1000 &
    pids+=($!)
done
date -u '+%Y-%m-%d %H:%M UTC'
uname -r
cat /proc/loadavg
cargo bench --manifest-path crates/memsight-bench/Cargo.toml --bench peers
