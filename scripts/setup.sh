#!/usr/bin/env bash
# Installs what the tests and benchmarks need: Debian tools (procps, util-linux, iproute2, ...),
# cargo-nextest, and a Python venv (.venv) with psutil as an oracle. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Wait up to 10 minutes for another apt/dpkg (unattended-upgrades, a second setup) to let go of
# the dpkg lock, instead of failing at once.
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }

apt_packages=(procps util-linux iproute2 python3-venv python3-dev time gcc libc6-dev)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt_get update -qq
    DEBIAN_FRONTEND=noninteractive apt_get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install: ${missing[*]}" >&2
  fi
fi

# memsight serve: a real Prometheus server and promtool for its tests; wrk and process-exporter
# (the peer it is measured against) for its load benchmark.
serve_packages=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || serve_packages+=(prometheus)
# scripts/test-deploy.sh: systemd-analyze verifies the shipped unit and scores its sandbox (offline).
command -v systemd-analyze >/dev/null || serve_packages+=(systemd)
command -v wrk >/dev/null || serve_packages+=(wrk)
# smem: a peer of `memsight ps` in scripts/bench-ps.py.
command -v smem >/dev/null || serve_packages+=(smem)
command -v prometheus-process-exporter >/dev/null || serve_packages+=(prometheus-process-exporter)
# memsight top: tmux drives its full-screen tests like a person; htop is a peer in its benchmark.
command -v tmux >/dev/null || serve_packages+=(tmux)
command -v htop >/dev/null || serve_packages+=(htop)
if [ ${#serve_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    # The tests run their own Prometheus on loopback: keep the packages' daemons from starting.
    no_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      no_policy=1
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    fi
    apt_get update -qq
    DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends "${serve_packages[@]}" >/dev/null
    if [ "$no_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  else
    echo "setup: please install: ${serve_packages[*]}" >&2
  fi
fi

command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import psutil' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q psutil==7.2.2
fi

# scripts/test-deploy.sh validates deploy/kubernetes/ against the Kubernetes schemas (shipped in
# the package, offline).
if ! .venv/bin/python -c 'import kubernetes_validate' 2>/dev/null; then
  .venv/bin/pip install -q kubernetes-validate==1.37.0
fi

# memsight record is checked side by side with mprof (memory_profiler) and psrecord.
if ! .venv/bin/python -c 'import memory_profiler, psrecord' 2>/dev/null; then
  .venv/bin/pip install -q memory_profiler==0.61.0 psrecord==1.4
fi
