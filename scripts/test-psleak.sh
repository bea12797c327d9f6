#!/usr/bin/env bash
# psleak 0.1.6's own test suite against memsight.leak: downloads the psleak sdist from PyPI (it
# ships tests/ and the test_ext C extension), builds test_ext, rewrites the `psleak` imports to
# `memsight.leak`, and runs tests/test_c_leaks.py and tests/test_python_leaks.py in full and
# tests/test_interface.py's TestMisc (all but test_pythonmalloc_not_set, whose premise memsight
# removes), TestCheckers and TestAutoGenerate, under the default allocator and under
# PYTHONMALLOC=malloc. Then memsight's own leak extension (crates/memsight-py/tests/leakext)
# under psleak and memsight.leak side by side (compare.py: a record, not a test).
#
# Usage: scripts/test-psleak.sh VENV [--bench]
#   VENV: a venv with memsight installed (scripts/test-python.sh passes its own).
#   --bench: instead, time the same test selection under psleak itself (PYTHONMALLOC=malloc,
#   which it needs) and under memsight.leak (both allocators), one run each (BENCHMARKS.md).
# Needs a C compiler and the interpreter's headers, and PyPI the first time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:?usage: scripts/test-psleak.sh VENV [--bench]}
bench=${2:-}
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
# psleak's pyproject.toml asks for pytest-instafail and has settings newer pytest rejects: an
# empty pytest.ini takes precedence.
printf '[pytest]\n' > pytest.ini
[ "$bench" = --bench ] && cp -a "$src" "$work/psleak-original"
# memsight.leak, never psleak: its module leaves the tree.
rm psleak.py
sed -i -e 's/^import psleak$/import memsight.leak as psleak/' \
    -e 's/^from psleak import /from memsight.leak import /' tests/*.py
if grep -n '^import psleak\|^from psleak' tests/*.py; then
    echo "psleak imports left" >&2
    exit 1
fi
tests=(tests/test_c_leaks.py tests/test_python_leaks.py
       tests/test_interface.py::TestMisc tests/test_interface.py::TestCheckers
       tests/test_interface.py::TestAutoGenerate
       --deselect tests/test_interface.py::TestMisc::test_pythonmalloc_not_set)
run() { # DIR ALLOCATOR
    (cd "$1" && if [ "$2" = malloc ]; then export PYTHONMALLOC=malloc; else unset PYTHONMALLOC; fi &&
        PYTHONUNBUFFERED=1 "$py" -m pytest -q -p no:cacheprovider "${tests[@]}")
}
if [ "$bench" = --bench ]; then
    "$venv/bin/pip" install -q "psutil==7.2.2"
    for what in "psleak malloc $work/psleak-original" "memsight.leak malloc $src" \
                "memsight.leak pymalloc $src"; do
        set -- $what
        start=$(date +%s.%N)
        run "$3" "$2" | tail -1
        end=$(date +%s.%N)
        echo "== $1 (allocator $2): $("$py" -c "print(round($end - $start, 2))") s"
    done
    exit 0
fi
for alloc in pymalloc malloc; do
    echo "== psleak 0.1.6's tests on memsight.leak, allocator: $alloc"
    run "$src" "$alloc"
done
cd "$here/crates/memsight-py/tests/leakext"
"$venv/bin/pip" install -q psleak==0.1.6
"$py" compare.py
