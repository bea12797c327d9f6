#!/usr/bin/env bash
# memsight-leak vs psleak, side by side on the same C leaks.
#
# Builds crates/memsight-leak/tests/cleaks/leaks.c into a shared library, then for each scenario
# runs, each in a fresh process:
#   - psleak (PyPI, in a venv this script creates) calling the library through ctypes, with
#     PYTHONMALLOC=malloc PYTHONUNBUFFERED=1 as psleak requires;
#   - memsight-leak calling the same library through FFI (examples/scenarios.rs).
# Prints calls to the verdict, wall time and the verdict of each.
#
# Usage: scripts/bench-leak-vs-psleak.sh [--with-1m] [REPEAT [SCENARIO...]]
#   --with-1m  also run the 1 MiB-per-call leak under psleak (it leaks ~22 GiB and takes a minute;
#              off by default on a shared 24 GiB machine)
#   REPEAT     runs per scenario and tool (default 1)
#   SCENARIO   only these (names as printed), e.g. `10 rust_spawn_join` to see psleak's flakiness
set -euo pipefail
cd "$(dirname "$0")/.."

with_1m=0
if [ "${1:-}" = "--with-1m" ]; then with_1m=1; shift; fi
repeat="${1:-1}"
[ $# -gt 0 ] && shift

out=target/leak-bench
venv="$out/venv"
mkdir -p "$out"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import psleak, psutil' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q psutil psleak
fi
cc -O2 -shared -fPIC -pthread -o "$out/libleaks.so" crates/memsight-leak/tests/cleaks/leaks.c
cargo build -q --release -p memsight-leak --example scenarios
scenarios_bin=target/release/examples/scenarios

cat > "$out/psleak_run.py" <<'PY'
import ctypes, sys, threading, time, unittest
import psleak

lib = ctypes.CDLL(sys.argv[1])
name = sys.argv[2]
for f in ("leak_malloc", "malloc_free", "leak_mmap", "leak_mmap_touched"):
    getattr(lib, f).argtypes = [ctypes.c_size_t]
lib.leak_every.argtypes = [ctypes.c_size_t, ctypes.c_ulong]

def py_spawn_join():
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()

funs = {
    "c_malloc_16": lambda: lib.leak_malloc(16),
    "c_malloc_1_every_10": lambda: lib.leak_every(1, 10),
    "c_malloc_1_every_100": lambda: lib.leak_every(1, 100),
    "c_malloc_1024_every_64": lambda: lib.leak_every(1024, 64),
    "c_mmap_4k": lambda: lib.leak_mmap(4096),
    "c_mmap_1m_touched": lambda: lib.leak_mmap_touched(1 << 20),
    "c_fd": lambda: lib.leak_fd(),
    "c_thread": lambda: lib.leak_thread(),
    "c_worker_thread_malloc_64": lambda: lib.leak_on_worker(),
    "c_malloc_free_64": lambda: lib.malloc_free(64),
    "c_malloc_free_1m": lambda: lib.malloc_free(1 << 20),
    "c_open_close": lambda: lib.open_close(),
    "c_spawn_join": lambda: lib.spawn_join(),
    "rust_spawn_join": py_spawn_join,  # the language's own thread spawn + join
}
inner = funs[name]
calls = 0
def fun():
    global calls
    calls += 1
    inner()

class T(psleak.MemoryLeakTestCase):
    def test(self):
        self.execute(fun)

res = unittest.TestResult()
t0 = time.perf_counter()
T("test").run(res)
wall = (time.perf_counter() - t0) * 1000
if res.failures or res.errors:
    text = (res.failures or res.errors)[0][1]
    import re
    m = re.findall(r"(\w+Error):", text)
    kind = m[-1] if m else "error"
    verdict = "LEAK"
    detail = kind
elif res.skipped:
    verdict, detail = "SKIP", res.skipped[0][1]
else:
    verdict, detail = "PASS", ""
print(f"{verdict} {calls} {wall:.1f} {detail}")
PY

names=(c_malloc_16 c_malloc_1_every_10 c_malloc_1_every_100 c_malloc_1024_every_64 c_mmap_4k
       c_mmap_1m_touched c_fd c_thread c_worker_thread_malloc_64
       c_malloc_free_64 c_malloc_free_1m c_open_close c_spawn_join rust_spawn_join)
if [ $# -gt 0 ]; then names=("$@"); fi
expect() { case "$1" in c_malloc_free_*|c_open_close|c_spawn_join|rust_spawn_join) echo PASS;; *) echo LEAK;; esac; }

printf '%-26s %-6s | %-6s %7s %10s %-26s | %-6s %7s %10s\n' \
  scenario expect psleak calls wall_ms kind memsight calls wall_ms
for name in "${names[@]}"; do
  for _ in $(seq "$repeat"); do
    if [ "$name" = c_mmap_1m_touched ] && [ "$with_1m" = 0 ]; then
      p_verdict="-"; p_calls="-"; p_wall="-"; p_kind="skipped (~22 GiB)"
    else
      read -r p_verdict p_calls p_wall p_kind < <(PYTHONMALLOC=malloc PYTHONUNBUFFERED=1 \
        "$venv/bin/python" "$out/psleak_run.py" "$PWD/$out/libleaks.so" "$name" 2>/dev/null \
        || echo "ERROR - - -")
    fi
    # memsight-leak: "scenario expect got calls wall_ms detail"
    read -r _ _ m_verdict m_calls m_wall _ < <(MEMSIGHT_LEAKS_DIR="$out/so" \
      "$scenarios_bin" --here "$name" | tail -1)
    printf '%-26s %-6s | %-6s %7s %10s %-26s | %-6s %7s %10s\n' "$name" "$(expect "$name")" \
      "$p_verdict" "$p_calls" "$p_wall" "${p_kind:0:26}" "$m_verdict" "$m_calls" "$m_wall"
  done
done
