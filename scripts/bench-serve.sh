#!/usr/bin/env bash
# Load benchmark of `memsight serve` (BENCHMARKS.md, "The Prometheus exporter under load"), on loopback only and bounded:
# starts PROCS `sleep` processes, the exporter on 127.0.0.1 (a free port) and, when installed,
# Debian's prometheus-process-exporter (a peer: per-scrape /proc scan, smaps on) on another, and
# sends each SCRAPES scrapes of /metrics at CONCURRENCY with wrk (each wrk thread stops after its
# share; wrk's -d caps a round at MAX_SECONDS anyway), in alternating rounds, side by side in
# one run. Prints request count, errors, latency percentiles, scans run (coalescing) and each
# exporter's RSS before and after each round. Everything it starts is killed on exit.
#
# Usage: scripts/bench-serve.sh [extra `memsight serve` args]
#   env: PROCS=500 SCRAPES=2000 CONCURRENCY=16 MAX_SECONDS=60 ROUNDS=2 PEER=1 GZIP=0
#        MEMSIGHT=target/release/memsight
# GZIP=1 sends `Accept-Encoding: gzip` with every scrape, as Prometheus does. Each exporter's
# body size with and without gzip is printed either way.
set -euo pipefail
cd "$(dirname "$0")/.."

PROCS=${PROCS:-500}
SCRAPES=${SCRAPES:-2000}
CONCURRENCY=${CONCURRENCY:-16}
MAX_SECONDS=${MAX_SECONDS:-60}
ROUNDS=${ROUNDS:-2}
PEER=${PEER:-1}
GZIP=${GZIP:-0}
THREADS=2
MEMSIGHT=${MEMSIGHT:-target/release/memsight}

command -v wrk >/dev/null || { echo "bench-serve: wrk missing (scripts/setup.sh installs it)" >&2; exit 1; }
if [ "$MEMSIGHT" = target/release/memsight ]; then
  cargo build --release -q -p memsight-cli
fi

work=$(mktemp -d)
sleepers=()
exporter=""
peer=""
cleanup() {
  [ -n "$exporter" ] && kill "$exporter" 2>/dev/null || true
  [ -n "$peer" ] && kill "$peer" 2>/dev/null || true
  if [ ${#sleepers[@]} -gt 0 ]; then kill "${sleepers[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

for _ in $(seq "$PROCS"); do
  sleep 900 &
  sleepers+=($!)
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; return 1; }

"$MEMSIGHT" serve --listen 127.0.0.1:0 "$@" >"$work/serve.out" 2>"$work/serve.err" &
exporter=$!
for _ in $(seq 100); do
  grep -q listening "$work/serve.out" 2>/dev/null && break
  sleep 0.05
done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/metrics' "$work/serve.out")
case "$url" in http://127.0.0.1:*) ;; *) echo "bench-serve: exporter did not start" >&2; exit 1 ;; esac

peer_url=""
if [ "$PEER" = 1 ] && command -v prometheus-process-exporter >/dev/null; then
  # Same grouping as memsight's default: one group per process name.
  printf 'process_names:\n  - name: "{{.Comm}}"\n    cmdline: [".+"]\n' >"$work/pe.yml"
  peer_addr="127.0.0.1:$(free_port)"
  peer_url="http://$peer_addr/metrics"
  prometheus-process-exporter -config.path "$work/pe.yml" -gather-smaps=true -threads=false \
    -web.listen-address "$peer_addr" >"$work/pe.out" 2>&1 &
  peer=$!
  wait_http "$peer_url" || { echo "bench-serve: process-exporter did not start" >&2; peer_url=""; }
fi

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
metric() { curl -s "$url" | awk -v m="$1" '$1 == m {print $2}'; }

# Each wrk thread stops after its share of SCRAPES (wrk counts non-2xx answers itself).
cat >"$work/bounded.lua" <<EOF
local limit = math.ceil($SCRAPES / $THREADS)
local count = 0
function response(status, headers, body)
  count = count + 1
  if count >= limit then wrk.thread:stop() end
end
function done(summary, latency, requests)
  -- (wrk runs until -d even after every thread stopped, so no rate is derived from its duration)
  io.write(string.format("requests %d, %.0f KiB each  errors(connect/read/write/status/timeout) %d/%d/%d/%d/%d\n",
    summary.requests, summary.bytes / summary.requests / 1024, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%-5s %.1f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("max    %.1f ms\n", latency.max / 1000))
end
EOF

gzip_header=()
if [ "$GZIP" = 1 ]; then gzip_header=(-H "Accept-Encoding: gzip"); fi

sizes() { # name url
  echo "body size:   $1 $(curl -s "$2" | wc -c) B plain, $(curl -s -H 'Accept-Encoding: gzip' "$2" | wc -c) B with Accept-Encoding: gzip"
}

round() { # name url pid
  echo "--- $1, rss before $(rss_kib "$3") KiB"
  wrk "${gzip_header[@]}" -t"$THREADS" -c"$CONCURRENCY" -d"${MAX_SECONDS}s" --timeout 10s -s "$work/bounded.lua" "$2" \
    | grep -E '^(requests|p[0-9]|max|  Non-2xx|  Socket errors)'
  echo "rss after:   $(rss_kib "$3") KiB"
}

curl -s -o /dev/null "$url" # first scan, so "before" is a warmed-up exporter
if [ -n "$peer_url" ]; then curl -s -o /dev/null "$peer_url"; fi
procs=$(metric memsight_scrape_processes)
echo "date:        $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:     $(nproc) cores, $(uname -r); load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "processes:   $procs with memory scanned (${PROCS} sleeps started)"
echo "exporter:    $MEMSIGHT serve $*"
if [ -n "$peer_url" ]; then echo "peer:        prometheus-process-exporter $(dpkg-query -W -f='${Version}' prometheus-process-exporter 2>/dev/null) -gather-smaps -threads=false, groups by comm"; fi
sizes memsight "$url"
if [ -n "$peer_url" ]; then sizes process-exporter "$peer_url"; fi
echo "load:        $SCRAPES scrapes per round, concurrency $CONCURRENCY, wrk $THREADS threads, <= ${MAX_SECONDS}s"
for r in $(seq "$ROUNDS"); do
  scans_before=$(metric memsight_scans_total)
  round "memsight round $r" "$url" "$exporter"
  scans_after=$(metric memsight_scans_total)
  echo "scans:       $((${scans_after%.*} - ${scans_before%.*} - 1)) for the round's scrapes; last scan $(metric memsight_scrape_duration_seconds) s"
  if [ -n "$peer_url" ]; then round "process-exporter round $r" "$peer_url" "$peer"; fi
done
