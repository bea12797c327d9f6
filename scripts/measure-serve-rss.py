#!/usr/bin/env python3
"""The resident memory of `memsight serve` on a host with many processes: what the resource
requests of deploy/kubernetes/daemonset.yaml and the limits of deploy/systemd/memsight.service
are sized from.

For each count N it starts N sleeping processes (`sleep`, on top of whatever the machine runs),
starts the exporter, scrapes /metrics five times (fresh scans, a second apart), and reads the
exporter's VmRSS and VmHWM from /proc/PID/status. Plain Python, no dependencies.

With --peer, Debian's prometheus-process-exporter (-gather-smaps, one group per process name, as
memsight's default) is measured the same way beside it.

Usage: scripts/measure-serve-rss.py [--memsight target/release/memsight] [--counts 500,5000]
       [--peer] [-- extra serve flags]
"""

import argparse
import os
import re
import socket
import subprocess
import tempfile
import sys
import time
import urllib.request


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def start_memsight(memsight, extra):
    serve = subprocess.Popen(
        [memsight, "serve", "--listen", "127.0.0.1:0", *extra],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = serve.stdout.readline()
    m = re.search(r"http://([^/]+)/metrics", line)
    if not m:
        serve.kill()
        sys.exit(f"unexpected first line from memsight serve: {line!r}")
    return serve, f"http://{m.group(1)}/metrics"


def start_process_exporter(workdir):
    config = os.path.join(workdir, "pe.yml")
    with open(config, "w") as f:
        f.write('process_names:\n  - name: "{{.Comm}}"\n    cmdline: [".+"]\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    peer = subprocess.Popen(
        ["prometheus-process-exporter", "-config.path", config, "-gather-smaps=true",
         "-threads=false", "-web.listen-address", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    deadline = time.time() + 120  # it reads every process before it first answers
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=60).read()
            return peer, url
        except OSError:
            time.sleep(0.1)
    peer.kill()
    sys.exit("process-exporter did not start")


def scrape(proc, url):
    """Five scrapes a second apart; the exporter's VmRSS and VmHWM (KiB) and last body."""
    body = ""
    for _ in range(5):
        body = urllib.request.urlopen(url, timeout=60).read().decode()
        time.sleep(1.1)  # past memsight's --max-age: the next scrape scans afresh
    return status_kib(proc.pid, "VmRSS"), status_kib(proc.pid, "VmHWM"), body


def measure(start, count):
    sleepers = []
    try:
        for _ in range(count):
            sleepers.append(subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL))
        proc, url = start()
        try:
            rss, hwm, body = scrape(proc, url)
        finally:
            proc.terminate()
            proc.wait()
    finally:
        for s in sleepers:
            s.kill()
        for s in sleepers:
            s.wait()
    pm = re.search(r"^memsight_scrape_processes (\d+)", body, re.M)
    return (int(pm.group(1)) if pm else None), rss, hwm, len(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--memsight", default="target/release/memsight")
    ap.add_argument("--counts", default="500,5000")
    ap.add_argument("--peer", action="store_true", help="also measure prometheus-process-exporter")
    ap.add_argument("extra", nargs="*", help="extra `memsight serve` flags (after --)")
    args = ap.parse_args()
    if not os.access(args.memsight, os.X_OK):
        sys.exit(f"{args.memsight}: not built (cargo build --release -p memsight-cli)")
    flags = " ".join(args.extra) or "(defaults)"
    print(f"{'exporter':<17} {'sleepers':>9} {'processes':>10} {'VmRSS MiB':>10} {'VmHWM MiB':>10} {'body KiB':>9}")
    with tempfile.TemporaryDirectory() as workdir:
        exporters = [(f"memsight {flags}", lambda: start_memsight(args.memsight, args.extra))]
        if args.peer:
            exporters.append(("process-exporter", lambda: start_process_exporter(workdir)))
        for count in (int(c) for c in args.counts.split(",")):
            for name, start in exporters:
                processes, rss, hwm, size = measure(start, count)
                print(f"{name:<17} {count:>9} {processes!s:>10} {rss / 1024:>10.1f} "
                      f"{hwm / 1024:>10.1f} {size / 1024:>9.0f}")


if __name__ == "__main__":
    main()
