#!/usr/bin/env python3
"""The resident memory of `memsight serve` on a host with many processes: what the resource
requests of deploy/kubernetes/daemonset.yaml and the limits of deploy/systemd/memsight.service
are sized from.

For each count N it starts N sleeping processes (`sleep`, on top of whatever the machine runs),
starts the exporter, scrapes /metrics five times (fresh scans, a second apart), and reads the
exporter's VmRSS and VmHWM from /proc/PID/status. Plain Python, no dependencies.

Usage: scripts/measure-serve-rss.py [--memsight target/release/memsight] [--counts 500,5000]
       [-- extra serve flags]
"""

import argparse
import os
import re
import subprocess
import sys
import time
import urllib.request


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def measure(memsight, extra, count):
    sleepers = []
    try:
        for _ in range(count):
            sleepers.append(subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL))
        serve = subprocess.Popen(
            [memsight, "serve", "--listen", "127.0.0.1:0", *extra],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            line = serve.stdout.readline()
            m = re.search(r"http://([^/]+)/metrics", line)
            if not m:
                sys.exit(f"unexpected first line from memsight serve: {line!r}")
            url = f"http://{m.group(1)}/metrics"
            size = 0
            processes = None
            for _ in range(5):
                body = urllib.request.urlopen(url, timeout=60).read().decode()
                size = len(body)
                pm = re.search(r"^memsight_scrape_processes (\d+)", body, re.M)
                processes = int(pm.group(1)) if pm else None
                time.sleep(1.1)  # past --max-age: the next scrape scans afresh
            rss = status_kib(serve.pid, "VmRSS")
            hwm = status_kib(serve.pid, "VmHWM")
        finally:
            serve.terminate()
            serve.wait()
    finally:
        for s in sleepers:
            s.kill()
        for s in sleepers:
            s.wait()
    return processes, rss, hwm, size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--memsight", default="target/release/memsight")
    ap.add_argument("--counts", default="500,5000")
    ap.add_argument("extra", nargs="*", help="extra `memsight serve` flags (after --)")
    args = ap.parse_args()
    if not os.access(args.memsight, os.X_OK):
        sys.exit(f"{args.memsight}: not built (cargo build --release -p memsight-cli)")
    flags = " ".join(args.extra) or "(defaults)"
    print(f"memsight serve {flags}")
    print(f"{'sleepers':>9} {'processes':>10} {'VmRSS MiB':>10} {'VmHWM MiB':>10} {'body KiB':>9}")
    for count in (int(c) for c in args.counts.split(",")):
        processes, rss, hwm, size = measure(args.memsight, args.extra, count)
        print(f"{count:>9} {processes!s:>10} {rss / 1024:>10.1f} {hwm / 1024:>10.1f} {size / 1024:>9.0f}")


if __name__ == "__main__":
    main()
