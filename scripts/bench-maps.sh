#!/usr/bin/env bash
# memsight maps / info on a process with 60,000 mappings against `pmap -x`, in one run.
# Usage: scripts/bench-maps.sh [MEMSIGHT_BINARY...]  (default: target/release/memsight)
# Each binary given is timed, so a before/after pair can run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- target/release/memsight
date -u +"date: %Y-%m-%d %H:%M UTC"
uname -r
pmap -V 2>&1 | head -1

# The holder: 60,000 separate private anonymous pages with alternating protections, so the kernel
# cannot merge neighbours into one mapping.
fifo=$(mktemp -u)
mkfifo "$fifo"
python3 -c '
import mmap, sys
keep = [mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE,
                  prot=mmap.PROT_READ if i % 2 else mmap.PROT_READ | mmap.PROT_WRITE)
        for i in range(60000)]
print("ready", flush=True)
sys.stdin.read()
' < "$fifo" > "$fifo.out" &
holder=$!
exec 3> "$fifo"
trap 'exec 3>&-; wait $holder 2>/dev/null; rm -f "$fifo" "$fifo.out"' EXIT
until grep -q ready "$fifo.out" 2>/dev/null; do sleep 0.1; done
echo "holder pid $holder: $(wc -l < /proc/$holder/maps) lines in /proc/$holder/maps"

seconds() { # wall seconds of one run of "$@", output discarded
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > /dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

pmap_s=$(seconds pmap -x "$holder")
printf '%-40s %8.2f s\n' "pmap -x" "$pmap_s"
for bin in "$@"; do
  for cmd in "maps $holder" "info $holder"; do
    # shellcheck disable=SC2086
    s=$(seconds "$bin" $cmd)
    printf '%-40s %8.2f s  %6.2fx pmap\n' "$bin $cmd" "$s" "$(echo "$s / $pmap_s" | bc -l)"
  done
done
pmap_s=$(seconds pmap -x "$holder")
printf '%-40s %8.2f s  (again, after)\n' "pmap -x" "$pmap_s"
