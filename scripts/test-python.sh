#!/usr/bin/env bash
# The memsight Python package (crates/memsight-py, its own cargo workspace: an extension module
# links against the interpreter only when loaded, so the root workspace's cargo test must not
# try to link it): rustfmt and clippy, then the wheel built by maturin, installed with pip into
# a fresh venv, `import memsight` there, the pytest suite against psutil 7.2.2, psleak's suite
# against memsight.leak, and psutil's own suite against memsight (scripts/test-psutil.sh).
# The wheel is manylinux2014 (glibc 2.17+): maturin links it with zig against glibc 2.17's
# symbols (the `ziglang` package from PyPI), so it loads on any glibc Rust's std supports.
# Needs python3 (3.9+) with venv, and PyPI the first time (maturin, ziglang, pytest, psutil; pip
# caches them). Idempotent: every run builds a new venv in a temporary directory and removes it.
# MEMSIGHT_PY_VENV=DIR keeps the venv in DIR instead (for reruns by hand).
# Usage: scripts/test-python.sh [pytest args]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
crate="$here/crates/memsight-py"
manifest="$crate/Cargo.toml"

cargo fmt --manifest-path "$manifest" -- --check
cargo clippy --manifest-path "$manifest" --release --all-targets -- -D warnings

if [ -n "${MEMSIGHT_PY_VENV:-}" ]; then
  venv=$MEMSIGHT_PY_VENV
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  venv=$tmp/venv
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "maturin>=1.5,<2" "ziglang==0.17.1" pytest "psutil==7.2.2"
rm -rf "$venv/wheels"
(cd "$crate" && PATH="$venv/bin:$PATH" "$venv/bin/maturin" build --release -q --zig \
  --compatibility manylinux2014 -o "$venv/wheels" -i "$venv/bin/python")
"$venv/bin/pip" install -q --force-reinstall "$venv"/wheels/memsight-*-manylinux2014_x86_64*.whl

# From outside the source tree, so the installed wheel is what is imported.
cd "$venv"
"$venv/bin/python" -c 'import memsight; print(memsight.virtual_memory())'
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$crate/tests" "$@"
"$here/scripts/test-psleak.sh" "$venv"
"$here/scripts/test-psutil.sh" "$venv" # psutil's own suite: root and nobody, PIE and non-PIE
"$here/scripts/test-publish.sh" "$venv" # crates and sdist package, the wheel is manylinux2014
