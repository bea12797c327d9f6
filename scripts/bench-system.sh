#!/usr/bin/env bash
# virtual_memory() per call: memsight vs its floor vs psutil, in one run.
# Usage: scripts/bench-system.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
date -u +"date: %Y-%m-%d %H:%M UTC"
cargo bench -q -p memsight --bench system 2>/dev/null
.venv/bin/python - <<'PY'
import statistics, time, psutil
def per_call(f, n=2000):
    t = time.perf_counter_ns()
    for _ in range(n):
        f()
    return (time.perf_counter_ns() - t) / n
runs = [per_call(psutil.virtual_memory) for _ in range(10)]
print(f"psutil {psutil.__version__} virtual_memory()   {statistics.median(runs):>8.0f} ns/call")
PY
cargo bench -q -p memsight --bench system 2>/dev/null | tail -1
