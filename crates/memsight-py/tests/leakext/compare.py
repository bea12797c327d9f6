"""The leaks psleak 0.1.6 misses, under psleak and under memsight.leak, side by side.

Each function of leakext.c runs in a fresh interpreter with psleak's defaults (times=200,
retries=10, warmup_times=10), once per tool and allocator (pymalloc, the default, and
PYTHONMALLOC=malloc, which psleak needs). Prints one line per run: the verdict (LEAK, pass,
skipped), the calls and the wall time. A record for BENCHMARKS.md, not a test: psleak's misses
are the point. Needs psleak==0.1.6 installed beside memsight.
"""

import os
import subprocess
import sys
import tempfile
import time

from build import PAIRS, build

RUN = r"""
import sys, time, unittest
sys.path.insert(0, sys.argv[3])
import leakext
tool, name = sys.argv[1], sys.argv[2]
mod = __import__("psleak" if tool == "psleak" else "memsight.leak", fromlist=["x"])
calls = 0
fun = getattr(leakext, name)
def counted():
    global calls
    calls += 1
    fun()
class T(mod.MemoryLeakTestCase):
    def runTest(self):
        pass
t0 = time.perf_counter()
try:
    T().execute(counted)
    verdict = "pass"
except mod.MemoryLeakError:
    verdict = "LEAK"
except unittest.SkipTest as e:
    verdict = "skipped (%s)" % e
print("%s %d %.3f" % (verdict.replace(" ", "_"), calls, time.perf_counter() - t0))
"""


def main():
    with tempfile.TemporaryDirectory() as d:
        build(d)
        print(f"{'function':<28} {'leaks':<6} {'tool':<13} {'allocator':<9} "
              f"{'verdict':<40} {'calls':>6} {'time':>8}")
        for leak, twin in PAIRS:
            for name, leaks in ((leak, "yes"), (twin, "no")):
                for tool in ("psleak", "memsight.leak"):
                    for alloc in ("pymalloc", "malloc"):
                        env = dict(os.environ, PYTHONUNBUFFERED="1")
                        env.pop("PYTHONMALLOC", None)
                        if alloc == "malloc":
                            env["PYTHONMALLOC"] = "malloc"
                        out = subprocess.run([sys.executable, "-c", RUN, tool, name, d],
                                             env=env, capture_output=True, text=True)
                        if out.returncode != 0:
                            print(out.stderr, file=sys.stderr)
                            raise SystemExit(f"{tool} {name}: exit {out.returncode}")
                        verdict, calls, secs = out.stdout.split()
                        print(f"{name:<28} {leaks:<6} {tool:<13} {alloc:<9} "
                              f"{verdict.replace('_', ' '):<40} {calls:>6} {float(secs):>7.3f}s")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.1f} s")
