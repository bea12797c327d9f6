#!/usr/bin/env python3
"""`memsight info PID --json` against its floor and psutil's as_dict, side by side in one run.

Usage (from the repository root, after scripts/setup.sh and
`cargo build --release -p memsight-cli --bin memsight --example info_floor`):

    .venv/bin/python scripts/bench-info.py [--rounds 30]

The target is the info tests' process (crates/memsight/tests/process/info_target.py: three
threads, two open files, three sockets). Each contender runs once per round in a shuffled order;
the wall clock of the whole command is timed. Contenders:
- floor: target/release/examples/info_floor PID (reads every file the record needs once, parses
  nothing);
- memsight: target/release/memsight info PID --json;
- psutil: a fresh python printing as_dict() plus rlimit and children as JSON (what a user runs);
  its as_dict time measured inside python is printed too.
"""
import argparse, os, platform, random, statistics, subprocess, sys, tempfile, time

PSUTIL = r'''
import json, sys, time, psutil
t = time.perf_counter()
p = psutil.Process(int(sys.argv[1]))
with p.oneshot():
    d = p.as_dict()
    d["children"] = [c.pid for c in p.children()]
    d["rlimit"] = {n: p.rlimit(getattr(psutil, n)) for n in dir(psutil) if n.startswith("RLIMIT_")}
json.dump(d, sys.stdout, default=str)
print(time.perf_counter() - t, file=sys.stderr)
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    workdir = tempfile.mkdtemp()
    target = subprocess.Popen(
        ["/usr/bin/python3", f"{root}/crates/memsight/tests/process/info_target.py"],
        cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    target.stdout.readline()
    pid = str(target.pid)
    contenders = {
        "floor": [f"{root}/target/release/examples/info_floor", pid],
        "memsight": [f"{root}/target/release/memsight", "info", pid, "--json"],
        "psutil": [sys.executable, "-c", PSUTIL, pid],
    }
    try:
        times = {k: [] for k in contenders}
        inner = []
        for cmd in contenders.values():  # warm-up
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        for _ in range(a.rounds):
            order = list(contenders.items())
            random.shuffle(order)
            for name, cmd in order:
                t0 = time.perf_counter()
                r = subprocess.run(cmd, capture_output=True)
                times[name].append(time.perf_counter() - t0)
                if r.returncode != 0:
                    sys.exit(f"{name} failed: {r.stderr.decode()}")
                if name == "psutil":
                    inner.append(float(r.stderr.decode().split()[-1]))
        npids = sum(1 for d in os.listdir("/proc") if d.isdigit())
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; kernel {platform.release()}; "
              f"{os.cpu_count()} CPUs; {npids} pids; {a.rounds} rounds")
        print(f"{'contender':<10} {'median ms':>10} {'min ms':>8}")
        for k in contenders:
            print(f"{k:<10} {med[k]*1e3:>10.2f} {min(times[k])*1e3:>8.2f}")
        print(f"psutil as_dict in-process: {statistics.median(inner)*1e3:.2f} ms")
        print(f"memsight / floor  = {med['memsight'] / med['floor']:.2f}x")
        print(f"psutil / memsight = {med['psutil'] / med['memsight']:.1f}x "
              f"(in-process {statistics.median(inner) / med['memsight']:.1f}x)")
    finally:
        target.kill()
        target.wait()


if __name__ == "__main__":
    main()
