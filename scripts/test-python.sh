#!/usr/bin/env bash
# Builds the memsight wheel with maturin into a fresh venv and runs the Python tests against
# psutil (the reference). Needs python3 (3.9+) with venv, and network access to PyPI the first
# time (maturin, pytest, psutil).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${MEMSIGHT_PY_VENV:-$(mktemp -d)/venv}
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "maturin>=1.5,<2" pytest "psutil==7.2.2"
cd "$here/crates/memsight-py"
"$venv/bin/maturin" build --release -q -o "$venv/wheels" -i "$venv/bin/python"
"$venv/bin/pip" install -q --force-reinstall "$venv"/wheels/memsight-*.whl
cd "$here/crates/memsight-py/tests"
"$venv/bin/python" -c 'import memsight; print(memsight.virtual_memory())'
"$venv/bin/python" -m pytest -q .
"$here/scripts/test-psleak.sh" "$venv"
