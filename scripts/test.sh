#!/usr/bin/env bash
# Runs every memsight test, installing what the tests need first (idempotent).
# Usage: scripts/test.sh [extra nextest args]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

export MEMSIGHT_VENV="$PWD/.venv"
cargo nextest run --workspace --no-fail-fast "$@"
cargo test --workspace --doc
