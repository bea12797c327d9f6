#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a few seconds each (the parsers of /proc, /sys and
# cgroup files, the macOS/FreeBSD/Windows record buffers, and plot's recording readers; see
# fuzz/README.md), seeded with
# the matching files of fixtures/. A crash fails the script and leaves its input under
# fuzz/artifacts/TARGET/.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 5 s, every target)
# Longer: scripts/fuzz.sh 1800 pid_smaps  (30 minutes on one target)
#
# cargo-fuzz builds with AddressSanitizer through `-Z` flags, which a stable toolchain refuses
# unless RUSTC_BOOTSTRAP=1 (set here); `--sanitizer none` would do without it, but finds less.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-5}
shift || true
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1

# The targets and memsight::fuzzing::PARSERS name the same parsers.
cargo test -q -p memsight --features fuzzing --lib fuzzing >/dev/null

cd fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)

# The fixture files each target starts from: find(1) -name patterns.
seeds() {
    case "$1" in
        proc_meminfo) echo meminfo ;;
        proc_vmstat) echo vmstat ;;
        proc_zoneinfo) echo zoneinfo ;;
        proc_loadavg) echo loadavg ;;
        proc_stat | pid_stat) echo stat ;;
        proc_diskstats) echo diskstats ;;
        pid_statm) echo statm ;;
        pid_status) echo status ;;
        pid_io) echo io ;;
        pid_limits) echo limits ;;
        pid_cmdline) echo cmdline ;;
        pid_environ) echo environ ;;
        pid_fdinfo) echo '[0-9]*' ;;
        pid_smaps) echo 'smaps*' ;;
        pid_cgroup) echo cgroup ;;
        net_tcp) echo 'tcp*' ;;
        net_unix) echo unix ;;
        cgroup_mountinfo) echo mountinfo ;;
        cgroup_values) echo 'memory.max memory.current memory.pressure memory' ;;
        cgroup_memory_stat) echo memory.stat ;;
        cgroup_events) echo 'memory.events memory.oom_control cgroup.procs' ;;
        recording_csv) echo '*.csv' ;;
        recording_jsonl) echo '*.jsonl' ;;
    esac
}

build_start=$SECONDS
cargo fuzz build >/dev/null
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - build_start)) s; ${seconds} s each" >&2
failed=()
for t in "${targets[@]}"; do
    corpus=corpus/$t
    mkdir -p "$corpus"
    # Fixture files share names (every pid has a stat): each is copied under its checksum.
    for pattern in $(seeds "$t"); do
        find ../fixtures -type f -name "$pattern" -size -1M -exec sh -c \
            'for f; do cp "$f" "$0/seed-$(cksum <"$f" | cut -d" " -f1)"; done' "$corpus" {} + || true
    done
    log=$(mktemp)
    if cargo fuzz run "$t" "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
        -timeout=10 >"$log" 2>&1; then
        echo "fuzz: $t: $(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#') runs, no crash" >&2
    else
        echo "fuzz: $t: FAILED (input in fuzz/artifacts/$t/)" >&2
        tail -40 "$log" >&2
        failed+=("$t")
    fi
    rm -f "$log"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]}" >&2
    exit 1
fi
