#!/usr/bin/env python3
"""memsight's Python API against psutil, per call, side by side in one run.

Usage: python scripts/bench-python.py [--seconds S]   (a venv with memsight and psutil 7.2.2)

Each call is timed with timeit, best of 5 repeats, psutil then memsight then psutil again (its
best kept), so both see the same machine load. The last line is the kernel's own cost of the
whole-system scan (every smaps_rollup read once), which neither tool can go below serially. psutil 7.2.2 has no memory_footprint() (psutil 8 does): its
peer is memory_full_info(), which gives the same uss/pss/swap (both read smaps_rollup).
"""

import argparse
import os
import timeit

import psutil

import memsight


def best(fun, seconds):
    number = max(1, int(seconds / 5 / max(timeit.timeit(fun, number=1), 1e-7)))
    return min(timeit.repeat(fun, number=number, repeat=5)) / number


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.0, help="time per call and tool")
    args = ap.parse_args()
    pm, mm = psutil.Process(), memsight.Process()
    n = len(psutil.pids())
    cases = [
        ("virtual_memory()", psutil.virtual_memory, memsight.virtual_memory),
        ("Process().memory_info()", lambda: psutil.Process().memory_info(),
         lambda: memsight.Process().memory_info()),
        ("p.memory_info()", pm.memory_info, mm.memory_info),
        ("p.memory_footprint() [psutil: memory_full_info()]", pm.memory_full_info,
         mm.memory_footprint),
        ("process_iter([pid, name, memory_footprint]) [psutil: memory_full_info], %d procs" % n,
         lambda: list(psutil.process_iter(["pid", "name", "memory_full_info"])),
         lambda: list(memsight.process_iter(["pid", "name", "memory_footprint"]))),
        ("memory_scan() [psutil: process_iter as above]",
         lambda: list(psutil.process_iter(["pid", "name", "memory_full_info"])),
         memsight.memory_scan),
    ]
    print("psutil %s, memsight %s, %d CPUs, %d processes" % (
        psutil.__version__, getattr(memsight, "__version__", "0.1.0"), os.cpu_count(), n))
    print("%-70s %12s %12s %8s" % ("call", "psutil", "memsight", "ratio"))
    for name, theirs, mine in cases:
        t_p = best(theirs, args.seconds)
        t_m = best(mine, args.seconds)
        t_p = min(t_p, best(theirs, args.seconds))
        unit, k = ("ms", 1e3) if t_p > 1e-3 else ("us", 1e6)
        print("%-70s %9.2f %s %9.2f %s %7.1fx" % (name, t_p * k, unit, t_m * k, unit, t_p / t_m))
    floor = best(read_every_smaps_rollup, args.seconds)
    print("%-70s %9.2f ms (every smaps_rollup read once, no parsing)" % ("kernel floor of the scan",
                                                                          floor * 1e3))


if __name__ == "__main__":
    main()
