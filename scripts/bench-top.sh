#!/usr/bin/env bash
# `memsight top` against procps `top -b -n` and htop (with its PSS, SWAP and PSSWP columns on), side
# by side in one run: CPU per refresh and the viewer's own peak RSS, at several process counts.
#
# Usage (from the repository root, after `cargo build --release -p memsight-cli` and
# scripts/setup.sh, which installs tmux and htop):
#
#     scripts/bench-top.sh [COUNT ...]        # default: 500 5000
#
# For each COUNT it starts sleeping `sleep` processes until /proc holds about COUNT processes,
# then measures, each over REFRESHES refreshes (default 10) DELAY seconds apart (default 0.5):
# - memsight-batch: `memsight top -b -n R -d D` (every row printed as text, extras for all rows);
# - top-batch: procps `top -b -n R -d D` (every row printed);
# - memsight-tui: `memsight top -d D` full screen in a 200x50 tmux window for R x D seconds;
# - htop-tui: `htop -d D*10` in the same window, its htoprc showing PID USER VIRT RES PSS SWAP
#   PSSWP S Command and sorted by PSS (htop has no batch mode; this is the nearest equivalent).
# Batch CPU is user + system time of the whole run (GNU time) over its R frames, start-up
# included (ms per refresh). Full-screen CPU is utime + stime of the viewer (/proc/PID/stat)
# over its R x D seconds on screen (ms per second: on a loaded machine a refresh can take longer
# than D, and neither viewer says how many it drew, so per second is the figure that holds).
# Peak RSS is GNU time's %M for batch, VmHWM for the full-screen viewers. Each figure is the
# median of ROUNDS runs (default 3), the viewers taken in turn in each round; the procs column
# gives the fewest and most processes seen at the start of a measurement.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${MEMSIGHT:-target/release/memsight}
REFRESHES=${REFRESHES:-10}
DELAY=${DELAY:-0.5}
ROUNDS=${ROUNDS:-3}
COUNTS=("$@")
[ ${#COUNTS[@]} -eq 0 ] && COUNTS=(500 5000)
for tool in tmux htop top /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-top: $tool is missing (scripts/setup.sh)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "bench-top: build $BIN first" >&2; exit 1; }

work=$(mktemp -d)
sleepers=()
cleanup() {
  for pid in "${sleepers[@]}"; do kill "$pid" 2>/dev/null || true; done
  tmux -S "$work/tmux.sock" kill-server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

CLK_TCK=$(getconf CLK_TCK)
# Processes now (a glob, not ls: a process that exits between the glob and ls's stat would fail
# the pipeline and end the script under pipefail).
procs() {
  local all=(/proc/[0-9]*)
  echo "${#all[@]}"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One batch run: prints "cpu_ms_per_refresh peak_rss_kib".
batch() {
  /usr/bin/time -f "%U %S %M" -o "$work/time" "$@" >/dev/null
  awk -v r="$REFRESHES" '{printf "%.1f %d\n", ($1 + $2) * 1000 / r, $3}' "$work/time"
}

# One full-screen run in tmux: prints "cpu_ms_per_second peak_rss_kib".
tui() {
  tmux -S "$work/tmux.sock" -f /dev/null new-session -d -x 200 -y 50 "$@"
  local pid
  pid=$(tmux -S "$work/tmux.sock" display-message -p '#{pane_pid}')
  local seconds
  seconds=$(awk -v r="$REFRESHES" -v d="$DELAY" 'BEGIN {print r * d}')
  sleep "$seconds"
  local ticks hwm
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  tmux -S "$work/tmux.sock" kill-server 2>/dev/null || true
  sleep 0.3
  awk -v t="$ticks" -v hz="$CLK_TCK" -v s="$seconds" -v m="$hwm" \
    'BEGIN {printf "%.1f %d\n", t * 1000 / hz / s, m}'
}

htoprc="$work/htoprc"
htop_delay=$(awk -v d="$DELAY" 'BEGIN {printf "%d", d * 10}')

echo "memsight top benchmark, $(date -u +%F), $(nproc) CPUs, kernel $(uname -r), $("$BIN" --version)"
echo "refreshes=$REFRESHES delay=${DELAY}s rounds=$ROUNDS (medians), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %-16s %10s %-8s %12s %8s\n' procs viewer cpu unit "peak RSS" "ratio"
for count in "${COUNTS[@]}"; do
  # In batches: counting /proc after every fork would be quadratic.
  while [ "$(procs)" -lt "$count" ]; do
    for _ in $(seq $((count - $(procs)))); do
      sleep 3600 &
      sleepers+=($!)
    done
  done
  declare -A cpus=() rsss=()
  counts=()
  # Round-robin, so that every viewer meets the same machine (other work comes and goes).
  for _ in $(seq "$ROUNDS"); do
    for viewer in memsight-batch top-batch memsight-tui htop-tui; do
      counts+=("$(procs)")
      case $viewer in
        memsight-batch) out=$(batch "$BIN" top -b -n "$REFRESHES" -d "$DELAY") ;;
        top-batch) out=$(batch top -b -n "$REFRESHES" -d "$DELAY" -w 512) ;;
        memsight-tui) out=$(tui "$BIN" top -d "$DELAY") ;;
        htop-tui)
          # htop rewrites its rc file on exit: a fresh one each run.
          printf 'fields=0 48 38 39 118 119 120 2 1\nsort_key=118\nsort_direction=-1\n' >"$htoprc"
          out=$(tui env HTOPRC="$htoprc" htop -d "$htop_delay") ;;
      esac
      cpus[$viewer]+="${out% *} " rsss[$viewer]+="${out#* } "
    done
  done
  n="$(printf '%s\n' "${counts[@]}" | sort -n | head -1)-$(printf '%s\n' "${counts[@]}" | sort -n | tail -1)"
  declare -A cpu=() rss=()
  for viewer in memsight-batch top-batch memsight-tui htop-tui; do
    cpu[$viewer]=$(printf '%s\n' ${cpus[$viewer]} | median)
    rss[$viewer]=$(printf '%s\n' ${rsss[$viewer]} | median)
  done
  for viewer in memsight-batch top-batch memsight-tui htop-tui; do
    case $viewer in
      *-batch) peer=top-batch unit=ms/ref ;;
      *) peer=htop-tui unit=ms/s ;;
    esac
    ratio=$(awk -v a="${cpu[$viewer]}" -v b="${cpu[$peer]}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else print "-"}')
    printf '%-12s %-16s %10s %-8s %8s KiB %8s\n' "$n" "$viewer" "${cpu[$viewer]}" "$unit" "${rss[$viewer]}" "$ratio"
  done
  unset cpu rss cpus rsss
done
