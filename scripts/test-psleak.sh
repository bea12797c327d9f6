#!/usr/bin/env bash
# psleak 0.1.6's own test suite against memsight.leak: downloads the psleak sdist from PyPI (it
# ships tests/ and the test_ext C extension), builds test_ext, rewrites the `psleak` imports to
# `memsight.leak`, and runs tests/test_c_leaks.py and tests/test_python_leaks.py in full and
# tests/test_interface.py's TestMisc (all but test_pythonmalloc_not_set, whose premise memsight
# removes), TestCheckers and TestAutoGenerate, under the default allocator and under
# PYTHONMALLOC=malloc. Then memsight's own leak extension (crates/memsight-py/tests/leakext)
# under psleak and memsight.leak side by side (compare.py: a record, not a test).
#
# Usage: scripts/test-psleak.sh VENV   (a venv with memsight installed: scripts/test-python.sh's)
# Needs a C compiler and Python headers (the venv's interpreter's), and PyPI the first time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-${MEMSIGHT_PY_VENV:?usage: scripts/test-psleak.sh VENV}}
py="$venv/bin/python"
"$venv/bin/pip" install -q setuptools "psutil==7.2.2" pytest
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/pip" download -q psleak==0.1.6 --no-binary :all: --no-deps -d "$work"
tar xzf "$work"/psleak-0.1.6.tar.gz -C "$work"
src="$work/psleak-0.1.6"
cd "$src"
"$py" tests/build_ext.py -q build_ext --inplace
"$py" -c 'import test_ext'
# memsight.leak, never psleak: its module leaves the tree.
rm psleak.py
sed -i -e 's/^import psleak$/import memsight.leak as psleak/' \
    -e 's/^from psleak import /from memsight.leak import /' tests/*.py
! grep -n 'psleak' tests/test_c_leaks.py tests/test_python_leaks.py tests/test_interface.py \
    tests/__init__.py | grep -v 'memsight.leak\|psleak\.\|Copyright' | grep -i import
tests=(tests/test_c_leaks.py tests/test_python_leaks.py
       tests/test_interface.py::TestMisc tests/test_interface.py::TestCheckers
       tests/test_interface.py::TestAutoGenerate
       --deselect tests/test_interface.py::TestMisc::test_pythonmalloc_not_set)
# psleak's pyproject.toml asks for pytest-instafail and has settings newer pytest rejects: an
# empty pytest.ini takes precedence.
printf '[pytest]\n' > pytest.ini
for alloc in pymalloc malloc; do
    echo "== psleak 0.1.6's tests on memsight.leak, allocator: $alloc"
    if [ "$alloc" = malloc ]; then export PYTHONMALLOC=malloc; else unset PYTHONMALLOC; fi
    "$py" -m pytest -q -p no:cacheprovider "${tests[@]}"
done
unset PYTHONMALLOC
[ -n "${PSLEAK_SKIP_COMPARE:-}" ] && exit 0
cd "$here/crates/memsight-py/tests/leakext"
"$venv/bin/pip" install -q psleak==0.1.6
"$py" compare.py
