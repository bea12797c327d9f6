#!/usr/bin/env bash
# The CPU cost of `memsight record` per sample per process, with USS (smaps_rollup) and --fast
# (statm only), and the same command's peak RSS under memsight, mprof and psrecord.
# Usage: scripts/bench-record.sh [path/to/memsight]   (default: target/release/memsight)
set -euo pipefail
cd "$(dirname "$0")/.."
memsight=${1:-target/release/memsight}
py=.venv/bin/python
secs=5

# A tree of 1 parent + 4 children, each holding 200 MiB of touched memory; it prints its pids.
pids=$(mktemp)
$py -c '
import os, time
b = bytearray(b"\x01") * (200 << 20)
kids = []
for k in range(4):
    pid = os.fork()
    if pid == 0:
        time.sleep(600); os._exit(0)
    kids.append(pid)
print(os.getpid(), *kids, flush=True)
time.sleep(600)
' >"$pids" &
root=$!
trap 'kill $(cat "$pids") 2>/dev/null || true; rm -f "$pids"' EXIT
sleep 1

for mode in "" "--fast"; do
  out=$(mktemp)
  /usr/bin/time -f '%U %S' -o "$out.time" \
    timeout -s INT "$secs" "$memsight" record -i 0.01 --children $mode --json -p "$root" >"$out" || true  # timeout: 124
  read -r user sys < <(tail -n 1 "$out.time")
  $py - "$out" "$user" "$sys" "${mode:-(USS, PSS, swap)}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
cpu = float(sys.argv[2]) + float(sys.argv[3])
n, ps = s["samples"], s["process_samples"]
print(f"{sys.argv[4]:>18}: {n} samples of {s['max_processes']} processes in {s['last_time']:.1f} s, "
      f"CPU {cpu:.2f} s = {cpu / n * 1e6:.0f} us/sample = {cpu / ps * 1e6:.0f} us per process-sample; "
      f"wall {s['sampling_seconds'] / ps * 1e6:.0f} us per process-sample")
PY
  rm -f "$out" "$out.time"
done

# Peak RSS of one command under the three tools.
hog=$(mktemp --suffix=.py)
printf 'import time\nb = bytearray(b"\\x01") * (300 << 20)\ntime.sleep(1.5)\n' >"$hog"
ours=$("$memsight" record --json -- $py "$hog" | $py -c 'import json,sys; print(json.load(sys.stdin)["peaks"][0]["bytes"] / 2**20)')
dat=$(mktemp)
.venv/bin/mprof run -T 0.1 -o "$dat" $py "$hog" >/dev/null
mprof=$(awk '/^MEM/ { if ($2 > m) m = $2 } END { print m }' "$dat")
log=$(mktemp)
.venv/bin/psrecord "$py $hog" --include-children --interval 0.1 --log "$log" >/dev/null
psrec=$(awk '!/^#/ { if ($3 > m) m = $3 } END { print m }' "$log")
echo "peak RSS (MiB) of a 300 MiB python: memsight $ours, mprof $mprof, psrecord $psrec"
rm -f "$hog" "$dat" "$log"
