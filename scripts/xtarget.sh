#!/bin/bash
# scripts/xtarget.sh - memsight's cross toolchain: check/clippy/link/test for Windows, macOS and
# FreeBSD on Debian 12 without `rustup target add` (started from ../shared/tools/xcheck.sh).
# State lives in ${MEMSIGHT_XT:-/var/cache/memsight/xt}; `setup` is idempotent and also installs zig.
#
# How it works: Debian's rustc-web 1.96 + rust-web-src 1.96 (matching std sources) are unpacked
# (dpkg -x, no system install) into $XT/rust196; RUSTC_BOOTSTRAP=1 unlocks `cargo -Z build-std`,
# which compiles core/alloc/std for the foreign target from those sources (std's crates.io deps
# are downloaded by cargo). Windows links with mingw-w64 and runs under Wine 8 (with a tiny
# bcryptprimitives.dll shim, because Wine 8 lacks ProcessPrng that Rust std >= 1.78 imports).
# macOS / FreeBSD link (no run) with zig (PyPI wheel `ziglang`) as the linker.
#
# Usage (run inside the crate/workspace dir, or set XCHECK_DIR):
#   xcheck.sh setup            # one-time: toolchain, mingw-w64, wine64, shim   (~1.5 min, ~3 GB incl. apt)
#   xcheck.sh setup-zig        # optional: zig for macOS/FreeBSD linking        (~10 s, 0.6 GB)
#   xcheck.sh check [TARGET...] [-- cargo-check-args]   # default: 4 targets, --all-targets
#   xcheck.sh clippy [TARGET...] [-- args]              # same, with Debian's clippy 1.96
#   xcheck.sh test-win [cargo-test-args]                # build + run tests under Wine
#   xcheck.sh link TARGET [cargo-test-args]             # build test binaries w/o running (zig)
#   xcheck.sh env              # print the env (eval "$(xcheck.sh env)" to use cargo by hand)
#
# Env overrides: XT (base dir, default /tmp/xtarget), XCHECK_DIR (crate dir, default $PWD),
#   CARGO_TARGET_DIR (default $XT/target), CARGO_HOME (default $XT/cargo-home; set to ~/.cargo
#   to reuse the normal registry cache), WINEPREFIX (default $XT/wineprefix).
set -euo pipefail

export XT=${XT:-${MEMSIGHT_XT:-/var/cache/memsight/xt}}
R=$XT/rust196/usr
DEFAULT_TARGETS=(x86_64-pc-windows-gnu x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd)
DEBS=(rustc-web cargo-web libstd-rust-web-1.96 libstd-rust-web-dev rust-web-src rust-web-clippy)
RUST_VER=1.96.0+dfsg1-1~deb12u2

# Wait up to 10 minutes for the dpkg lock (another install running) instead of failing at once.
APT=(apt-get -o DPkg::Lock::Timeout=600)

log() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

setup_env() {
    [ -x "$R/bin/rustc" ] || { echo "run '$0 setup' first" >&2; exit 2; }
    export LD_LIBRARY_PATH=$R/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export PATH=$R/bin:$PATH                 # bypass rustup proxies / rust-toolchain.toml
    export RUSTC=$R/bin/rustc RUSTDOC=$R/bin/rustdoc CARGO=$R/bin/cargo
    export RUSTC_BOOTSTRAP=1                 # allow -Z build-std on a stable compiler
    export CARGO_HOME=${CARGO_HOME:-$XT/cargo-home}
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$XT/target}
    # Line tables only (file:line in backtraces and leak reports, no variable info): the cross
    # target dirs are mostly debug info, and nothing here runs a debugger.
    export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
    export CARGO_PROFILE_TEST_DEBUG=${CARGO_PROFILE_TEST_DEBUG:-line-tables-only}
    # The cache outlives every clone that uses it: incremental state would pile up per clone.
    export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
    # Windows: mingw-w64 linker (dlltool is also needed by `check`, for std's raw-dylib imports)
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$XT/wine-runner.sh
    export WINEPREFIX=${WINEPREFIX:-$XT/wineprefix} WINEDEBUG=${WINEDEBUG:--all}
    # macOS / FreeBSD: zig as linker (only used by `link`; harmless for `check`)
    export CARGO_TARGET_X86_64_APPLE_DARWIN_LINKER=$XT/zig/zig-x86_64-macos
    export CARGO_TARGET_AARCH64_APPLE_DARWIN_LINKER=$XT/zig/zig-aarch64-macos
    export CARGO_TARGET_X86_64_UNKNOWN_FREEBSD_LINKER=$XT/zig/zig-x86_64-freebsd
    cd "${XCHECK_DIR:-$PWD}"
}

write_helpers() {
    mkdir -p "$XT/wineshim" "$XT/zig"
    cat > "$XT/wine-runner.sh" <<'EOF'
#!/bin/sh
# Cargo runner for x86_64-pc-windows-gnu binaries under Debian 12's Wine 8.
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"   # no Mono/Gecko prompts
XT="${XT:-/var/cache/memsight/xt}"
export WINEPREFIX="${WINEPREFIX:-$XT/wineprefix}"
WINE=/usr/lib/wine/wine64
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    "$WINE" wineboot --init >/dev/null 2>&1
    /usr/lib/wine/wineserver64 -w 2>/dev/null || true
fi
DST="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
[ -f "$DST" ] || cp "$XT/wineshim/bcryptprimitives.dll" "$DST"
exec "$WINE" "$@"
EOF
    chmod +x "$XT/wine-runner.sh"
    cat > "$XT/wineshim/bcryptprimitives.c" <<'EOF'
/* Wine 8 lacks bcryptprimitives.dll!ProcessPrng (used by Rust std >= 1.78 for HashMap seeds etc.).
   Forward it to advapi32!SystemFunction036 (RtlGenRandom). */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk)) return FALSE;
        data += chunk; len -= chunk;
    }
    return TRUE;
}
EOF
    printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\n    ProcessPrng\n' > "$XT/wineshim/bcryptprimitives.def"
    cat > "$XT/zig/zig-linker.sh" <<'EOF'
#!/bin/bash
# `zig cc` as the linker for macOS / FreeBSD Rust targets; target taken from the symlink name.
XT="${XT:-/var/cache/memsight/xt}"
export ZIG_GLOBAL_CACHE_DIR=${ZIG_GLOBAL_CACHE_DIR:-$XT/zig/cache}
export ZIG_LOCAL_CACHE_DIR=$ZIG_GLOBAL_CACHE_DIR
case "$(basename "$0")" in
  zig-x86_64-freebsd) T=x86_64-freebsd ;;
  zig-x86_64-macos)   T=x86_64-macos ;;
  zig-aarch64-macos)  T=aarch64-macos ;;
  *) T=${ZIG_TARGET:?set ZIG_TARGET} ;;
esac
args=(); skip=0
for a in "$@"; do
  if [ $skip = 1 ]; then skip=0; continue; fi
  case "$a" in
    -arch) skip=1 ;;                                 # zig takes the arch from -target
    -mmacosx-version-min=*) ;;
    -lkvm|-lmemstat|-lprocstat|-ldevstat) ;;         # FreeBSD libs zig has no stubs for (libc crate links them always)
    -liconv) ;;                                      # macOS: zig ships only libSystem.tbd
    *) args+=("$a") ;;
  esac
done
exec "$XT/zig/ziglang/zig" cc -target "$T" "${args[@]}"
EOF
    chmod +x "$XT/zig/zig-linker.sh"
    for n in zig-x86_64-freebsd zig-x86_64-macos zig-aarch64-macos; do ln -sf zig-linker.sh "$XT/zig/$n"; done
}

cmd_setup() {
    mkdir -p "$XT/debs"
    log "apt: runtime deps of the unpacked toolchain + mingw-w64 + wine64"
    local pkgs=(libllvm22 libgit2-1.5 gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 mingw-w64-x86-64-dev wine64)
    if ! dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null | grep -qv 'ok installed' &&
       [ "$(dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null | grep -c 'ok installed')" = "${#pkgs[@]}" ]; then
        :   # all there already
    else
        "${APT[@]}" update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    fi
    if [ ! -x "$R/bin/rustc" ]; then
        log "unpacking Debian rustc-web $RUST_VER into $XT/rust196"
        # the pinned version first; if the archive has moved on, its current one (all from one source build)
        (cd "$XT/debs" && { apt-get download "${DEBS[@]/%/=$RUST_VER}" 2>/dev/null ||
            { "${APT[@]}" update -qq >/dev/null 2>&1; apt-get download "${DEBS[@]/%/=$RUST_VER}" 2>/dev/null; } ||
            apt-get download "${DEBS[@]}"; })
        for f in "$XT"/debs/*.deb; do dpkg -x "$f" "$XT/rust196"; done
    fi
    # The debs are only needed once they are unpacked (114 MB).
    rm -f "$XT"/debs/*.deb
    write_helpers
    [ -f "$XT/wineshim/bcryptprimitives.dll" ] || x86_64-w64-mingw32-gcc -O2 -shared -s -o "$XT/wineshim/bcryptprimitives.dll" \
        "$XT/wineshim/bcryptprimitives.c" "$XT/wineshim/bcryptprimitives.def" -ladvapi32
    LD_LIBRARY_PATH=$R/lib/x86_64-linux-gnu "$R/bin/rustc" -V
    LD_LIBRARY_PATH=$R/lib/x86_64-linux-gnu "$R/bin/cargo" -V
    ls "$R/lib/rustlib/src/rust/library/Cargo.lock" >/dev/null   # std sources for build-std
}

cmd_setup_zig() {
    write_helpers
    if [ ! -x "$XT/zig/ziglang/zig" ]; then
        (cd "$XT/zig" && pip download ziglang --no-deps -d . >/dev/null &&
         python3 -m zipfile -e ziglang-*.whl . && chmod +x ziglang/zig)
    fi
    # The wheel is only needed once it is unpacked (97 MB).
    rm -f "$XT"/zig/ziglang-*.whl
    "$XT/zig/ziglang/zig" version
}

case "${1:-}" in
  setup)     cmd_setup; cmd_setup_zig ;;
  setup-zig) cmd_setup_zig ;;
  env)       setup_env >/dev/null
             for v in LD_LIBRARY_PATH PATH RUSTC RUSTDOC CARGO RUSTC_BOOTSTRAP CARGO_HOME CARGO_TARGET_DIR \
                      CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER \
                      WINEPREFIX WINEDEBUG CARGO_TARGET_X86_64_APPLE_DARWIN_LINKER \
                      CARGO_TARGET_AARCH64_APPLE_DARWIN_LINKER CARGO_TARGET_X86_64_UNKNOWN_FREEBSD_LINKER; do
                 printf 'export %s=%q\n' "$v" "${!v}"; done ;;
  check|clippy)
    sub=$1; shift; targets=(); extra=()
    while [ $# -gt 0 ]; do [ "$1" = -- ] && { shift; extra=("$@"); break; }; targets+=("$1"); shift; done
    [ ${#targets[@]} -gt 0 ] || targets=("${DEFAULT_TARGETS[@]}")
    [ ${#extra[@]} -gt 0 ] || extra=(--all-targets)
    setup_env; rc=0
    for t in "${targets[@]}"; do
        log "cargo $sub --target $t ${extra[*]}"
        s=$SECONDS
        # note: for clippy the -Z flag must come AFTER the subcommand (external subcommand)
        "$CARGO" "$sub" -Z build-std=std,panic_abort --target "$t" "${extra[@]}" || rc=1
        echo "[$t: $((SECONDS - s)) s]" >&2
    done
    exit $rc ;;
  test-win)
    shift; setup_env
    log "cargo test --target x86_64-pc-windows-gnu (runner: wine64)"
    exec "$CARGO" -Z build-std test --target x86_64-pc-windows-gnu "$@" ;;
  link)
    shift; t=${1:?target}; shift; setup_env
    [ -x "$XT/zig/ziglang/zig" ] || { echo "run '$0 setup-zig' first" >&2; exit 2; }
    log "cargo test --no-run --target $t (linker: zig cc)"
    exec "$CARGO" -Z build-std test --no-run --target "$t" "$@" ;;
  *) sed -n '2,26p' "$0"; exit 2 ;;
esac
