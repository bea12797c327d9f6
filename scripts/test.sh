#!/usr/bin/env bash
# Runs every memsight test, installing what the tests need first (idempotent).
# Usage: scripts/test.sh [extra nextest args]
#
# Every stage runs even when an earlier one failed (a failing Rust test must not hide the Python
# suite's result); the script ends with one line per stage and exits 1 naming the stages that
# failed. MEMSIGHT_TEST_STAGES="nextest python" runs only the named stages.
set -uo pipefail
cd "$(dirname "$0")/.."

stages=${MEMSIGHT_TEST_STAGES:-setup cross doc nextest python fuzz}
failed=()
summary=()

# stage NAME COMMAND...: runs COMMAND when NAME is selected, records how it went.
stage() {
    local name=$1
    shift
    case " $stages " in *" $name "*) ;; *) return 0 ;; esac
    printf '\n\033[1m== stage %s: %s\033[0m\n' "$name" "$*" >&2
    local start=$SECONDS
    if "$@"; then
        summary+=("ok      $name ($((SECONDS - start)) s)")
    else
        summary+=("FAILED  $name ($((SECONDS - start)) s, exit $?)")
        failed+=("$name")
    fi
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
if [ ${#failed[@]} -gt 0 ]; then
    echo "scripts/test.sh: failed stages: ${failed[*]}" >&2
    exit 1
fi
