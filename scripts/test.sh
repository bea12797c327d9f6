#!/usr/bin/env bash
# Runs every memsight test, installing what the tests need first (idempotent).
# Usage: scripts/test.sh [extra nextest args]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

export MEMSIGHT_VENV="$PWD/.venv"
scripts/test-cross.sh # Windows, macOS, FreeBSD: check + clippy, Windows tests under Wine
# Doc tests first, so that the run closes on nextest's summary of every other test.
cargo test --workspace --doc
cargo nextest run --workspace --no-fail-fast "$@"
scripts/test-python.sh # the Python package: wheel built by maturin, pytest against psutil
