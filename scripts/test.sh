#!/usr/bin/env bash
# Runs every memsight test, installing what the tests need first (idempotent).
# Usage: scripts/test.sh [extra nextest args]
#
# Every stage runs even when an earlier one failed (a failing Rust test must not hide the Python
# suite's result); the script ends with one line per stage and exits 1 naming the stages that
# failed, followed by the lines of each failed stage's output that name what failed (CI keeps
# only the start and the end of a long log). MEMSIGHT_TEST_STAGES="nextest python" runs only the
# named stages.
set -uo pipefail
cd "$(dirname "$0")/.."

stages=${MEMSIGHT_TEST_STAGES:-setup cross doc nextest python fuzz}
failed=()
summary=()
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Stops with a clear message instead of failing later in a linker or a pip install.
check_disk() {
    local free_kib
    free_kib=$(df -Pk . | awk 'NR == 2 { print $4 }')
    if [ "${free_kib:-0}" -lt $((3 * 1024 * 1024)) ]; then
        echo "scripts/test.sh: only $((free_kib / 1024)) MiB free on $(df -P . | awk 'NR == 2 { print $6 }'): builds may fail for want of space" >&2
    fi
}

# stage NAME COMMAND...: runs COMMAND when NAME is selected, records how it went.
stage() {
    local name=$1
    shift
    case " $stages " in *" $name "*) ;; *) return 0 ;; esac
    printf '\n\033[1m== stage %s: %s\033[0m\n' "$name" "$*" >&2
    check_disk
    local start=$SECONDS
    "$@" 2>&1 | tee "$logs/$name"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ]; then
        summary+=("ok      $name ($((SECONDS - start)) s)")
    else
        summary+=("FAILED  $name ($((SECONDS - start)) s, exit $rc)")
        failed+=("$name")
    fi
}

# The lines of a stage's log that say what failed: nextest's and pytest's failure lines, panics,
# assertion messages, compiler and script errors (at most 80).
failure_lines() {
    grep -a -E -e '^ *(FAIL|FAILED|SIGSEGV|SIGABRT|TIMEOUT) ' -e 'panicked at' -e '^ *E  ' \
        -e 'FAIL: name=' -e '^(error|Error)(\[|:)' -e 'No space left' -e 'signal [0-9]+ ' \
        -e 'short test summary' -e '^FAILED ' "$1" | cut -c1-400 | head -80
}

stage setup scripts/setup.sh
export MEMSIGHT_VENV="$PWD/.venv"
stage cross scripts/test-cross.sh # Windows, macOS, FreeBSD: check + clippy, Windows tests under Wine
# Doc tests first, so that the Rust run closes on nextest's summary of every other test.
stage doc cargo test --workspace --doc
stage nextest cargo nextest run --workspace --no-fail-fast "$@"
stage python scripts/test-python.sh # the Python package: wheel built by maturin, pytest against psutil
stage fuzz scripts/fuzz.sh          # every fuzz target for a few seconds (fuzz/README.md)

printf '\n\033[1m== scripts/test.sh\033[0m\n' >&2
printf '%s\n' "${summary[@]}" >&2
df -h . | awk 'NR == 2 { print "disk: " $4 " free of " $2 " on " $6 }' >&2
for name in "${failed[@]}"; do
    printf '\n\033[1m== what failed in stage %s\033[0m\n' "$name" >&2
    failure_lines "$logs/$name" >&2
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "scripts/test.sh: failed stages: ${failed[*]}" >&2
    exit 1
fi
