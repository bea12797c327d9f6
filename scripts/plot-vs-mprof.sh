#!/bin/sh
# Draws one run of a 200 MiB python ramp twice: by `memsight record -p` attached to the python
# that `mprof run` starts, and by `mprof plot`, to compare the pictures side by side.
# Usage: scripts/plot-vs-mprof.sh [OUTDIR] (needs a venv with memory_profiler and matplotlib in
# $MPROF_VENV, default .venv; memsight from target/release, else target/debug).
set -eu
out=${1:-plot-vs-mprof}
venv=${MPROF_VENV:-.venv}
memsight=target/release/memsight
[ -x "$memsight" ] || memsight=target/debug/memsight
mkdir -p "$out"
cat > "$out/ramp.py" <<'PY'
import time
time.sleep(0.5)
blocks = []
for i in range(10):
    time.sleep(0.2)
    blocks.append(bytearray(b"\x01") * (20 << 20))
time.sleep(1.0)
del blocks[5:]
time.sleep(0.5)
PY
"$venv/bin/mprof" run -o "$out/mprof.dat" python3 "$out/ramp.py" >/dev/null &
mprof=$!
pid=
while [ -z "$pid" ]; do
    sleep 0.05
    pid=$(pgrep -n -P "$mprof" python3 || true)
done
"$memsight" record -p "$pid" -o "$out/memsight.csv" --plot "$out/memsight.png"
wait "$mprof"
"$venv/bin/mprof" plot -o "$out/mprof.png" "$out/mprof.dat"
echo "$out/memsight.png $out/mprof.png"
