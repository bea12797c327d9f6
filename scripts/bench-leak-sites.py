#!/usr/bin/env python3
"""The leak-site corpus (crates/memsight-py/tests/leaksites: 9 C leaks, one per function, and 6
clean twins) under memsight.leak, pytest-memray and psleak 0.1.6, side by side in one run.

For each tool one pytest run over the whole corpus (one test per case, in a fresh interpreter
per tool), recording per case: detected (the test failed) or not, placed (the failure names the
leak's own line, ``file.c:LINE`` from the source's LEAK-SITE marker) or not, and the test's
call-phase time from ``--durations``; per tool the wall time of the run.

- memsight.leak: ``MemoryLeakTestCase.execute(fun)`` with its defaults, under the default
  allocator and under ``PYTHONMALLOC=malloc``; placed when the first "leaking sites" line names
  the marker's ``function (file:LINE)``. Once more with ``sites = False`` (the verdict alone):
  the difference is the attribution phase's cost.
- pytest-memray: ``@pytest.mark.limit_leaks(LIMIT)`` on a test that calls the function CALLS
  times, with and without ``--native``; placed when the failure's stacks show ``file:LINE``.
- psleak: ``MemoryLeakTestCase.execute(fun)`` with its defaults, under ``PYTHONMALLOC=malloc``
  (it skips every memory test without it); it names no site.

Then the attribution phase's cost on two allocation-heavy leaking functions (a Python one: 100
small objects made and freed per call, one kept; a C one: 100 ``malloc``+``free`` pairs through
the extension, then ``malloc_helper``): wall time of ``execute()`` with and without sites (best
of 5), the phase's calls (``report.sites[0]["calls"]``), and its time per call against the
verdict phase's (the slowdown while tracked).

Usage: scripts/bench-leak-sites.py VENV   (VENV: a venv with memsight installed; memray,
pytest-memray and psleak 0.1.6 are installed into it from PyPI). Prints a Markdown table.
"""

import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "crates", "memsight-py", "tests", "leaksites")
sys.path.insert(0, CORPUS)
import corpus  # noqa: E402

# pytest-memray: calls per test and the per-location limit.
CALLS = 1000
LIMIT = "1 KB"
PY_CLEAN = ("lru_cache", "re_compile", "py_thread")

COMMON = """
import functools, re, sys, threading
sys.path.insert(0, {build!r})
import leaksites

@functools.lru_cache(maxsize=128)
def _square(n):
    return [n] * 8

_keys = iter(range(10**9))

def lru_cache():
    _square(next(_keys) % 1000)

def re_compile():
    re.compile("a%db+" % (next(_keys) % 1000))

def py_thread():
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
"""

CASE_TEST = """
class Case(MemoryLeakTestCase):
    sites = {sites}
    def runTest(self):
        pass

def test_{case}():
    Case().execute({fun})
"""

MEMRAY_TEST = """
@pytest.mark.limit_leaks({limit!r})
def test_{case}():
    for _ in range({calls}):
        {fun}()
"""


def cases():
    """``(case, expression calling it, leaks)`` for the whole corpus."""
    out = [(case, f"leaksites.{fn}", True) for case, (fn, _, _) in corpus.LEAKS.items()]
    out += [(name, f"leaksites.{name}", False) for name in corpus.CLEAN]
    out += [(name, name, False) for name in PY_CLEAN]
    return out


def write_tests(path, tool, build, sites=True):
    head = COMMON.format(build=build)
    if tool == "memray":
        head = "import pytest\n" + head
        body = "".join(MEMRAY_TEST.format(case=c, fun=f, limit=LIMIT, calls=CALLS)
                       for c, f, _ in cases())
    else:
        mod = "psleak" if tool == "psleak" else "memsight.leak"
        head = f"from {mod} import MemoryLeakTestCase\n" + head
        body = "".join(CASE_TEST.format(case=c, fun=f, sites=sites) for c, f, _ in cases())
    with open(path, "w") as f:
        f.write(textwrap.dedent(head) + body)


def sections(out):
    """``{test name: failure text}`` from pytest's FAILURES section."""
    found, name, buf = {}, None, []
    for line in out.splitlines():
        m = re.match(r"^_{3,} (test_\w+) _{3,}$", line)
        if m or line.startswith("====") or line.startswith("----- Captured"):
            if name:
                found[name] = "\n".join(buf)
            name, buf = (m.group(1) if m else None), []
            continue
        if name:
            buf.append(line)
    if name:
        found[name] = "\n".join(buf)
    return found


def durations(out):
    """``{test name: call time (s)}`` from ``--durations=0``."""
    return {m.group(2): float(m.group(1))
            for m in re.finditer(r"^([\d.]+)s call\s+\S+::(test_\w+)", out, re.M)}


def placed(tool, case, text):
    if case not in corpus.LEAKS or not text:
        return False
    function, file, line = corpus.site(case)
    if tool == "memsight":
        first = [ln for ln in text.splitlines() if "B/call," in ln and "block" in ln][:1]
        return bool(first) and f"{function} ({file}:{line})" in first[0]
    if tool == "memray":
        return re.search(rf"/{re.escape(file)}:{line}\b", text) is not None
    return False


def run(venv, label, tool, args, env_extra, build, work, sites=True):
    test = os.path.join(work, "test_" + re.sub(r"\W+", "_", label) + ".py")
    write_tests(test, tool, build, sites)
    env = dict(os.environ, PYTHONUNBUFFERED="1", **env_extra)
    if "PYTHONMALLOC" not in env_extra:
        env.pop("PYTHONMALLOC", None)
    cmd = [os.path.join(venv, "bin", "python"), "-m", "pytest", "-p", "no:cacheprovider",
           "--durations=0", "-vv", "-rN", *args, test]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    failed = sections(out.stdout)
    if out.returncode not in (0, 1) or "error" in out.stdout.splitlines()[-1]:
        print(out.stdout[-3000:], out.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{label}: pytest exit {out.returncode}")
    times = durations(out.stdout)
    rows = {}
    for case, _, _ in cases():
        name = f"test_{case}"
        rows[case] = (name in failed, placed(tool, case, failed.get(name)), times.get(name, 0.0))
    return label, wall, rows


def main():
    venv = sys.argv[1] if len(sys.argv) > 1 else None
    if not venv:
        raise SystemExit(__doc__)
    pip = os.path.join(venv, "bin", "pip")
    subprocess.run([pip, "install", "-q", "memray==1.20.0", "pytest-memray==1.11.0",
                    "psleak==0.1.6", "psutil==7.2.2", "pytest"], check=True)
    versions = subprocess.run([pip, "list", "--format=freeze"], capture_output=True,
                              text=True).stdout
    with tempfile.TemporaryDirectory() as work:
        build = corpus.build(os.path.join(work))
        costs = {alloc: cost(venv, build, alloc == "malloc") for alloc in ("pymalloc", "malloc")}
        runs = [
            ("memsight.leak", "memsight", [], {}, True),
            ("memsight.leak PYTHONMALLOC=malloc", "memsight", [], {"PYTHONMALLOC": "malloc"}, True),
            ("memsight.leak, no sites", "memsight", [], {}, False),
            ("pytest-memray", "memray", ["--memray"], {}, True),
            ("pytest-memray --native", "memray", ["--memray", "--native"], {}, True),
            ("psleak PYTHONMALLOC=malloc", "psleak", [], {"PYTHONMALLOC": "malloc"}, True),
        ]
        results = [run(venv, label, tool, args, env, build, work, sites)
                   for label, tool, args, env, sites in runs]
    print("versions: " + ", ".join(v for v in versions.split()
                                   if re.match(r"(memsight|memray|pytest-memray|psleak|"
                                               r"pytest)==", v)) + f", Python {sys.version.split()[0]}")
    print(f"pytest-memray: limit_leaks({LIMIT!r}), {CALLS} calls per test\n")
    print("| case | leaks | " + " | ".join(label for label, _, _ in results) + " |")
    print("|---|---|" + "---|" * len(results))
    for case, _, leaks in cases():
        cells = []
        for label, _, rows in results:
            failed, right, secs = rows[case]
            if leaks:
                mark = ("found, placed" if right else "found, not placed") if failed else "MISSED"
            else:
                mark = "FALSE ALARM" if failed else "pass"
            cells.append(f"{mark} ({secs:.2f} s)")
        print(f"| {case} | {'yes' if leaks else 'no'} | " + " | ".join(cells) + " |")
    summary = []
    for label, wall, rows in results:
        leaks = [c for c, _, lk in cases() if lk]
        clean = [c for c, _, lk in cases() if not lk]
        summary.append(f"{sum(rows[c][0] for c in leaks)}/{len(leaks)} found, "
                       f"{sum(rows[c][1] for c in leaks)} placed, "
                       f"{sum(rows[c][0] for c in clean)}/{len(clean)} false alarms, "
                       f"{wall:.1f} s wall")
    print("| **total** | | " + " | ".join(summary) + " |")
    by = {label: rows for label, _, rows in results}
    extra = [by["memsight.leak"][c][2] - by["memsight.leak, no sites"][c][2]
             for c in corpus.LEAKS]
    print(f"\nattribution phase (memsight.leak minus 'no sites', per leak): "
          f"{min(extra):+.3f} .. {max(extra):+.3f} s, sum {sum(extra):+.2f} s")
    for alloc, text in costs.items():
        print(f"\ntracking cost, allocator {alloc} (best of 5):\n{text.rstrip()}")


COST = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import leaksites
from memsight.leak import MemoryLeakError, MemoryLeakTestCase

KEPT = []

def py_heavy():
    KEPT.append([bytes(64) for _ in range(100)][0])

def c_heavy():
    for _ in range(100):
        leaksites.malloc_free()
    leaksites.malloc_helper()

for name, fun in (("python", py_heavy), ("c", c_heavy)):
    best = {}
    for sites in (False, True):
        class Case(MemoryLeakTestCase):
            def runTest(self):
                pass
        Case.sites = sites
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            try:
                Case().execute(fun)
            except MemoryLeakError as e:
                report = e.report
            times.append(time.perf_counter() - t0)
        best[sites] = (min(times), report)
    plain, rep = best[False]
    tracked, rep_s = best[True]
    calls = rep_s.sites[0]["calls"] if rep_s.sites else 0
    per_call = plain / rep.calls
    extra = tracked - plain
    print(f"{name}: verdict {plain * 1e3:.1f} ms ({rep.calls} calls, {per_call * 1e6:.1f} us/call); "
          f"with sites {tracked * 1e3:.1f} ms: +{extra * 1e3:.1f} ms for {calls} attribution "
          f"calls ({extra / calls * 1e6 if calls else 0:.1f} us/call, "
          f"{extra / calls / per_call if calls else 0:.2f}x the verdict phase's per call)")
"""


def cost(venv, build, malloc):
    env = dict(os.environ)
    env.pop("PYTHONMALLOC", None)
    if malloc:
        env["PYTHONMALLOC"] = "malloc"
    out = subprocess.run([os.path.join(venv, "bin", "python"), "-c", COST, build], env=env,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return out.stdout


if __name__ == "__main__":
    main()
