#!/usr/bin/env bash
# Cross checks (see README "Platforms"): installs the cross toolchain (scripts/xtarget.sh, state in
# ${MEMSIGHT_XT:-/var/cache/memsight/xt}), then
#   - x86_64-pc-windows-gnu: cargo check and cargo clippy -D warnings of memsight (library, tests,
#     examples; the benches measure Linux files), memsight-leak and memsight-cli (free, ps, info,
#     maps, record, plot), then the three crates' tests run under Wine,
#   - x86_64-apple-darwin, aarch64-apple-darwin and x86_64-unknown-freebsd: cargo check and cargo
#     clippy -D warnings of memsight, memsight-leak and memsight-cli (free, ps, info, maps,
#     record, plot) --all-targets (libraries, tests, examples, benches: the Linux-only cgroups
#     bench compiles to a skip), and their test binaries linked with zig (never run: no Mac or
#     FreeBSD machine here).
set -euo pipefail
cd "$(dirname "$0")/.."
X=scripts/xtarget.sh

"$X" setup

"$X" check x86_64-pc-windows-gnu -- -p memsight --lib --tests --examples
"$X" clippy x86_64-pc-windows-gnu -- -p memsight --lib --tests --examples -- -D warnings
"$X" check x86_64-pc-windows-gnu -- -p memsight-leak --lib --tests
"$X" clippy x86_64-pc-windows-gnu -- -p memsight-leak --lib --tests -- -D warnings
"$X" check x86_64-pc-windows-gnu -- -p memsight-cli --all-targets
"$X" clippy x86_64-pc-windows-gnu -- -p memsight-cli --all-targets -- -D warnings

for target in x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd; do
    "$X" check "$target" -- -p memsight -p memsight-leak -p memsight-cli --all-targets
    "$X" clippy "$target" -- -p memsight -p memsight-leak -p memsight-cli --all-targets -- -D warnings
    "$X" link "$target" -p memsight -p memsight-leak -p memsight-cli
done

"$X" test-win -p memsight
"$X" test-win -p memsight-leak
"$X" test-win -p memsight-cli
