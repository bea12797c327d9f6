#!/usr/bin/env python3
"""memsight's Python API against psutil, per call, side by side in one run.

Usage: python scripts/bench-python.py [--seconds S] [--rounds N] [--extra N]
       (in a venv with the memsight wheel and psutil 7.2.2)

The two tools are timed in alternating rounds (timeit, psutil then memsight, 15 rounds by
default), so both see the same machine load and the same processes; the table gives each one's
best round and the median of the per-round ratios. psutil 7.2.2 has no memory_footprint()
(psutil 8 does): its peer is memory_full_info(), which gives the same uss/pss/swap (both read
smaps_rollup). --extra N starts N idle `sleep` processes first, so the whole-system scans see
N more processes. The last line is the kernel's own cost of a scan, every smaps_rollup read once
(the same code in both columns, as a check of the method): no tool goes below it on one core.
"""

import argparse
import os
import statistics
import subprocess
import timeit

import psutil

import memsight


def read_every_smaps_rollup():
    """The kernel's share of a scan: every process's smaps_rollup read once (os.read, no
    parsing): the floor under both tools."""
    for pid in psutil.pids():
        try:
            fd = os.open("/proc/%d/smaps_rollup" % pid, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.read(fd, 65536)
        except OSError:
            pass
        finally:
            os.close(fd)


def alternating(theirs, mine, rounds, seconds):
    """Times the two tools in alternation, `rounds` rounds of about `seconds` each: machine load
    and the process population drift from one second to the next, so a round compares both
    under the same conditions. Returns the best time of each and the median per-round ratio."""
    once = max(timeit.timeit(theirs, number=1), timeit.timeit(mine, number=1), 1e-7)
    number = max(1, int(seconds / rounds / 2 / once))
    rows = []
    for _ in range(rounds):
        t_p = timeit.timeit(theirs, number=number) / number
        t_m = timeit.timeit(mine, number=number) / number
        rows.append((t_p, t_m))
    return (min(p for p, _ in rows), min(m for _, m in rows),
            statistics.median(p / m for p, m in rows))


def show(name, t_p, t_m, ratio):
    unit, k = ("ms", 1e3) if t_p > 1e-3 else ("us", 1e6)
    print("%-64s %9.2f %s %9.2f %s %7.1fx" % (name, t_p * k, unit, t_m * k, unit, ratio))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="time per call, both tools and all rounds (5x that per scan)")
    ap.add_argument("--rounds", type=int, default=15, help="alternating rounds per call")
    ap.add_argument("--extra", type=int, default=0, help="idle processes to start first")
    args = ap.parse_args()
    extra = [subprocess.Popen(["sleep", "3600"]) for _ in range(args.extra)]
    try:
        run(args)
    finally:
        for p in extra:
            p.kill()
            p.wait()


def run(args):
    pm, mm = psutil.Process(), memsight.Process()
    n = len(psutil.pids())
    calls = [
        ("virtual_memory()", psutil.virtual_memory, memsight.virtual_memory),
        ("Process().memory_info()", lambda: psutil.Process().memory_info(),
         lambda: memsight.Process().memory_info()),
        ("p.memory_info()", pm.memory_info, mm.memory_info),
        ("p.memory_footprint() [psutil: memory_full_info()]", pm.memory_full_info,
         mm.memory_footprint),
    ]
    scan = ["pid", "username", "name", "cmdline", "memory_full_info"]
    scans = [
        ("process_iter([pid, name, memory_footprint]) [psutil: memory_full_info]",
         lambda: list(psutil.process_iter(["pid", "name", "memory_full_info"])),
         lambda: list(memsight.process_iter(["pid", "name", "memory_footprint"]))),
        ("memory_scan() [psutil: process_iter(%s)]" % ", ".join(scan),
         lambda: list(psutil.process_iter(scan)), memsight.memory_scan),
        ("kernel floor: every smaps_rollup read once [both: the same]",
         read_every_smaps_rollup, read_every_smaps_rollup),
    ]
    print("psutil %s, memsight %s, %d CPUs, %d processes, %d rounds" % (
        psutil.__version__, getattr(memsight, "__version__", "0.1.0"), os.cpu_count(), n,
        args.rounds))
    print("%-64s %12s %12s %8s" % ("call (best of the rounds; median ratio)", "psutil",
                                   "memsight", "ratio"))
    for name, theirs, mine in calls:
        show(name, *alternating(theirs, mine, args.rounds, args.seconds))
    for name, theirs, mine in scans:
        show(name, *alternating(theirs, mine, args.rounds, args.seconds * 5))


if __name__ == "__main__":
    main()
