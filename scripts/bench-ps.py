#!/usr/bin/env python3
"""Whole-system `memsight ps --json` against its floor and psutil, side by side in one run.

Usage (from the repository root, after `cargo build --release -p memsight-cli --bin memsight
--example ps_floor` and scripts/setup.sh):

    .venv/bin/python scripts/bench-ps.py [--extra 400] [--rounds 15] [--no-psutil] [--no-smem]
                                         [--compare OLD_MEMSIGHT]

It starts EXTRA `sleep` processes, then runs each contender once per round, in a shuffled order,
timing the wall clock of the whole command and its CPU time (user + system of the child, from
wait4); its peak RSS comes from separate, untimed runs under GNU time. Contenders:
- floor: target/release/examples/ps_floor (open+read smaps_rollup, status, cmdline of every pid
  into one buffer, parse nothing, one thread);
- floor-2t: the same work shared by two threads (`ps_floor --threads 2`): what a parallel `ps`
  could do at best on two cores;
- memsight: target/release/memsight ps --json (both cores);
- memsight-1cpu: the same pinned to one CPU with taskset;
- memsight-t1: memsight ps --json --threads 1 (one scan thread, any CPU);
- memsight-old: with --compare, another build's `memsight ps --json` (e.g. from before a change),
  so that both ratios to the floor come from one run;
- smem (Debian's smem 1.5, reading every smaps in python), when installed;
- psutil: python + psutil producing the same table as JSON (process_iter, oneshot,
  memory_full_info, username, name, cmdline), the way procsmem.py does.
Prints medians, minimums and the ratios, and psutil's time measured inside python (no interpreter
start-up) for reference.
"""
import argparse, os, platform, random, shutil, statistics, subprocess, sys, time

PSUTIL = r'''
import json, sys, time, psutil
t = time.perf_counter()
procs, denied = [], []
for p in psutil.process_iter():
    try:
        with p.oneshot():
            m = p.memory_full_info()
            if m.uss == 0:
                continue
            procs.append(dict(pid=p.pid, username=p.username(), name=p.name(), cmdline=p.cmdline(),
                              uss=m.uss, pss=m.pss, swap=m.swap, rss=m.rss, vms=m.vms))
    except psutil.AccessDenied:
        denied.append(p.pid)
    except psutil.NoSuchProcess:
        pass
procs.sort(key=lambda p: -p["uss"])
tot = {k: sum(p[k] for p in procs) for k in ("uss", "pss", "swap", "rss")}
json.dump(dict(processes=procs, access_denied=denied, totals=tot), sys.stdout)
print(time.perf_counter() - t, file=sys.stderr)
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extra", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--no-psutil", action="store_true")
    ap.add_argument("--no-smem", action="store_true")
    ap.add_argument("--compare", metavar="OLD_MEMSIGHT", help="another memsight binary to run too")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    contenders = {
        "floor": [f"{root}/target/release/examples/ps_floor"],
        "floor-2t": [f"{root}/target/release/examples/ps_floor", "--threads", "2"],
        "memsight": [f"{root}/target/release/memsight", "ps", "--json"],
        "memsight-1cpu": ["taskset", "-c", "0", f"{root}/target/release/memsight", "ps", "--json"],
        "memsight-t1": [f"{root}/target/release/memsight", "ps", "--json", "--threads", "1"],
        "psutil": [sys.executable, "-c", PSUTIL],
        "smem": ["smem", "-c", "pid user command uss pss rss swap"],
    }
    if a.compare:
        contenders["memsight-old"] = [os.path.abspath(a.compare), "ps", "--json"]
    if a.no_psutil:
        del contenders["psutil"]
    if a.no_smem or not shutil.which("smem"):
        del contenders["smem"]
    kids = [subprocess.Popen(["sleep", "1000"]) for _ in range(a.extra)]
    try:
        time.sleep(1)
        npids = sum(1 for d in os.listdir("/proc") if d.isdigit())
        times = {k: [] for k in contenders}
        cpu = {k: [] for k in contenders}
        peak = {k: 0 for k in contenders}
        inner = []
        for name, cmd in contenders.items():  # warm-up
            r = subprocess.run(cmd, capture_output=True)
            if r.returncode != 0:
                sys.exit(f"{name} failed: {r.stderr.decode()}")
        for _ in range(a.rounds):
            order = list(contenders.items())
            random.shuffle(order)
            for name, cmd in order:
                t0 = time.perf_counter()
                p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                out = p.stdout.read()
                err = p.stderr.read()
                _, status, usage = os.wait4(p.pid, 0)
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(usage.ru_utime + usage.ru_stime)
                if status != 0:
                    sys.exit(f"{name} failed: {err.decode()}")
                if name == "psutil":
                    inner.append(float(err.decode().split()[-1]))
        # Peak RSS, untimed: GNU time forks from its own small image (a fork from python would
        # carry python's high-water mark across exec into ru_maxrss).
        for name, cmd in contenders.items():
            r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, check=True)
            peak[name] = int(r.stderr.decode().split()[-1])
        med = {k: statistics.median(v) for k, v in times.items()}
        mcpu = {k: statistics.median(v) for k, v in cpu.items()}
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; kernel {platform.release()}; "
              f"{os.cpu_count()} CPUs; {npids} pids ({a.extra} extra sleep); {a.rounds} rounds; "
              f"load average {' '.join(load)}")
        print(f"{'contender':<14} {'median ms':>10} {'min ms':>8} {'CPU ms':>8} {'CPU µs/pid':>10} "
              f"{'peak RSS KiB':>13}")
        for k in contenders:
            print(f"{k:<14} {med[k]*1e3:>10.1f} {min(times[k])*1e3:>8.1f} {mcpu[k]*1e3:>8.1f} "
                  f"{mcpu[k]*1e6/npids:>10.1f} {peak[k]:>13}")
        if inner:
            print(f"{'psutil (in-process)':<14} {statistics.median(inner)*1e3:>6.1f}")
        for k in ("floor-2t", "memsight", "memsight-1cpu", "memsight-t1", "memsight-old"):
            if k not in contenders:
                continue
            print(f"{k} / floor: wall {med[k] / med['floor']:.2f}x, CPU {mcpu[k] / mcpu['floor']:.2f}x")
        print(f"memsight / floor-2t: wall {med['memsight'] / med['floor-2t']:.2f}x, "
              f"CPU {mcpu['memsight'] / mcpu['floor-2t']:.2f}x")
        for k in ("psutil", "smem"):
            if k in contenders:
                print(f"{k} / memsight: wall {med[k] / med['memsight']:.1f}x, "
                      f"CPU {mcpu[k] / mcpu['memsight']:.1f}x")
        if inner:
            print(f"psutil in-process / memsight = {statistics.median(inner) / med['memsight']:.1f}x")
    finally:
        for k in kids:
            k.kill()
        for k in kids:
            k.wait()


if __name__ == "__main__":
    main()
