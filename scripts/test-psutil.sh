#!/usr/bin/env bash
# psutil 7.2.2's own test suite against memsight: downloads the psutil sdist from PyPI (it ships
# tests/), puts a `psutil` package that resolves to memsight on sys.path
# (crates/memsight-py/psutil-suite/shim: memsight's names read through, plus the scaffolding
# psutil's helpers need to stop their children, and psutil's pure-Python _common, _ntuples and
# _psposix from the sdist), and runs the Linux-relevant test files with the tests listed in
# crates/memsight-py/psutil-suite/set-aside.txt deselected (each entry says why).
#
# Four runs, each must end with zero failures:
#   root   on VENV's Python (a PIE build on this machine),
#   nobody on a readable copy of that interpreter (setpriv),
#   root   on the distribution's /usr/bin/python3 (Debian's, non-PIE),
#   nobody on /usr/bin/python3.
# The wheel installed is VENV/wheels/memsight-*.whl (scripts/test-python.sh builds it there).
#
# Usage: scripts/test-psutil.sh VENV [pytest args]
# Needs root (for the unprivileged runs: setpriv), python3-venv, and PyPI the first time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:?usage: scripts/test-psutil.sh VENV [pytest args]}
shift
suite="$here/crates/memsight-py/psutil-suite"
wheel=$(ls "$venv"/wheels/memsight-*.whl | head -1)
version=7.2.2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
"$venv/bin/pip" download -q --no-deps --no-binary :all: "psutil==$version" -d "$work"
tar xzf "$work/psutil-$version.tar.gz" -C "$work"
src="$work/psutil-$version"

# The run directory: psutil's tests, the shim, the conftest that deselects the set-aside tests.
run="$work/run"
mkdir -p "$run/shim"
cp -a "$src/tests" "$run/"
cp -a "$suite/shim/psutil" "$run/shim/"
cp "$src"/psutil/{_common,_ntuples,_psposix}.py "$run/shim/psutil/"
cp "$suite/conftest.py" "$suite/set-aside.txt" "$run/"
# psutil's pyproject.toml asks for plugins (instafail, xdist): an empty pytest.ini wins.
printf '[pytest]\n' > "$run/pytest.ini"
files=(tests/test_linux.py tests/test_process.py tests/test_system.py tests/test_misc.py
       tests/test_contracts.py tests/test_posix.py tests/test_unicode.py
       tests/test_connections.py tests/test_process_all.py tests/test_heap.py
       tests/test_testutils.py)

# A venv on interpreter PY with pytest and the wheel; every file readable by others.
make_venv() { # PY DIR
    "$1" -m venv "$2"
    "$2/bin/pip" install -q --upgrade pip
    "$2/bin/pip" install -q pytest pytest-timeout "$wheel"
    chmod -R a+rX "$2"
}

# The PIE interpreter VENV was made from may live where others cannot read it (/root/.pyenv):
# a copy of its standard library, binary and libpython, without tests and site-packages.
base=$("$venv/bin/python" -c 'import sys; print(sys.base_prefix)')
pyver=$("$venv/bin/python" -c 'import sys; print("python%d.%d" % sys.version_info[:2])')
pie="$work/pie-python"
mkdir -p "$pie/bin" "$pie/lib"
cp -a "$base/bin/$pyver" "$pie/bin/"
cp -a "$base"/lib/libpython3* "$pie/lib/" 2>/dev/null || true
tar -C "$base/lib" -cf - --exclude="$pyver/test" --exclude="$pyver/site-packages" \
    --exclude="$pyver/config-*" --exclude="$pyver/idlelib" --exclude='__pycache__' "$pyver" |
    tar -C "$pie/lib" -xf -
mkdir -p "$pie/lib/$pyver/site-packages"
export LD_LIBRARY_PATH="$pie/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
make_venv "$pie/bin/$pyver" "$work/venv-pie"
make_venv /usr/bin/python3 "$work/venv-system"

status=0
summary=()
one_run() { # LABEL VENVDIR USER
    local label=$1 py="$2/bin/python" user=$3 dir="$work/run-$1" out
    shift 3
    cp -a "$run" "$dir"
    # PYTEST_XDIST_WORKER: test_process_all then walks the processes in this process instead
    # of a fork()ed multiprocessing pool, as psutil's own CI does (the test's comment: a pool
    # in CI may deadlock, giampaolo/psutil#2104). Seen here: a pool worker blocked on the
    # pool's queue lock while the teardown waited for it with no timeout, until
    # pytest-timeout (then 900 s) failed the run.
    local cmd=(env PYTHONPATH="$dir/shim" PYTHONDONTWRITEBYTECODE=1 HOME="$dir" PYTEST_XDIST_WORKER=gw0
               LD_LIBRARY_PATH="$LD_LIBRARY_PATH" ${PYTHONHOME:+PYTHONHOME="$PYTHONHOME"}
               "$py" -m pytest -q -p no:cacheprovider --timeout 300 -rfE "${files[@]}" "$@")
    if [ "$user" != "$(id -un)" ]; then
        chown -R "$user" "$dir"
        cmd=(setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups "${cmd[@]}")
    fi
    echo "== psutil $version's tests on memsight: $label"
    "$py" -c 'import sys; print(sys.executable)'
    if out=$(cd "$dir" && "${cmd[@]}" 2>&1); then :; else
        status=1
        # The whole output of a failed run, for reading after the work directory is gone.
        printf '%s\n' "$out" > "${TMPDIR:-/tmp}/test-psutil-$label.log"
        echo "(whole output: ${TMPDIR:-/tmp}/test-psutil-$label.log)"
        # What failed, for a log that outlives this machine: test_process_all's per-process
        # failures ("FAIL: name=test_cwd, pid=..., ret=...") and pytest's assertion lines.
        printf '%s\n' "$out" | grep -E 'FAIL: name=|^E  ' | cut -c1-300 | head -40
    fi
    printf '%s\n' "$out" | grep -E '^(FAILED|ERROR)' || true
    summary+=("$label: $(printf '%s\n' "$out" | grep -E '[0-9]+ (passed|failed)' | tail -1)")
}
# The copy finds its standard library through PYTHONHOME: psutil's tests run copies of the
# interpreter from elsewhere (test_unicode's oddly named ones), which would look for it under the
# original prefix nobody may not enter.
if [ "$(id -u)" -eq 0 ]; then
    PYTHONHOME="$pie" one_run root-pie "$work/venv-pie" root "$@"
    PYTHONHOME="$pie" one_run nobody-pie "$work/venv-pie" nobody "$@"
    one_run root-system "$work/venv-system" root "$@"
    one_run nobody-system "$work/venv-system" nobody "$@"
else
    # Without root there is no other user to become (setpriv): the two runs as this user only,
    # unless CI is set, where all four must run.
    if [ -n "${CI:-}" ]; then echo "test-psutil: CI needs root for the nobody runs" >&2; exit 1; fi
    echo "test-psutil: skipped the nobody runs: not root (setpriv needs it)" >&2
    PYTHONHOME="$pie" one_run "$(id -un)-pie" "$work/venv-pie" "$(id -un)" "$@"
    one_run "$(id -un)-system" "$work/venv-system" "$(id -un)" "$@"
fi
printf '%s\n' "${summary[@]}"
exit $status
