"""The leak-site corpus (tests/leaksites: a C extension built with -g, one leak per function,
and a shared library it links) under memsight.leak: every leak fails the check and names its
line (found by its LEAK-SITE marker) and its Python caller, and the clean twins (malloc+free, a
64-entry C cache, a C thread spawned and joined, ``functools.lru_cache`` and ``re.compile`` with
cycling keys, a Python thread started and joined) pass. A call that raises or forks in the
attribution phase, with a thread allocating all along, leaves the process healthy: the
interpreter's allocators are the ones it had (``allocators_restored``), a second check works.

The whole module runs again under ``PYTHONMALLOC=malloc`` in a subprocess with a timeout
(``test_corpus_under_pythonmalloc_malloc``), which is also the watchdog for a hang."""

import faulthandler
import functools
import importlib
import json
import os
import re
import subprocess
import sys
import threading

import pytest

from memsight import _native
from memsight.leak import MemoryLeakError, MemoryLeakTestCase

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "leaksites"))
import corpus  # noqa: E402

# The subprocess rerun (and a hang anywhere in it) is bounded by this.
WATCHDOG_S = 600
# A hung test (a deadlock in an allocator hook) ends the process with every thread's stack.
TEST_WATCHDOG_S = 300
KEPT = []


@pytest.fixture(autouse=True)
def watchdog():
    faulthandler.dump_traceback_later(TEST_WATCHDOG_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def allocators_restored():
    """The interpreter's allocators are the same after the test as before, and unwrapped."""
    before = _native.pymem_allocators()
    yield
    assert not _native.pymem_wrapped()
    assert _native.pymem_allocators() == before


@pytest.fixture(scope="module")
def leaksites(tmp_path_factory):
    if corpus.compiler() is None:
        pytest.skip("no C compiler to build tests/leaksites (install gcc or set CC)")
    sys.path.insert(0, corpus.build(str(tmp_path_factory.mktemp("leaksites"))))
    try:
        return importlib.import_module("leaksites")
    finally:
        sys.path.pop(0)


class Case(MemoryLeakTestCase):
    def runTest(self):
        pass


def test_markers_name_every_leak():
    # Each case's line comes from its marker, in the file the case says.
    for case in corpus.LEAKS:
        function, file, line = corpus.site(case)
        with open(os.path.join(os.path.dirname(corpus.__file__), file)) as f:
            assert f"LEAK-SITE {case} " in f.read().splitlines()[line - 1] + " "


@pytest.mark.parametrize("case", sorted(corpus.LEAKS))
def test_leak_fails(leaksites, case):
    with pytest.raises(MemoryLeakError) as e:
        Case().execute(getattr(leaksites, corpus.LEAKS[case][0]))
    assert "Run # 1:" in str(e.value)


@pytest.mark.parametrize("name", corpus.CLEAN)
def test_c_clean_twin_passes(leaksites, name):
    Case().execute(getattr(leaksites, name))


def test_lru_cache_with_cycling_keys_passes():
    @functools.lru_cache(maxsize=128)
    def square(n):
        return [n] * 8

    keys = iter(range(10**9))
    Case().execute(lambda: square(next(keys) % 1000))


def test_re_compile_with_cycling_keys_passes():
    keys = iter(range(10**9))
    Case().execute(lambda: re.compile(f"a{next(keys) % 1000}b+"))


FRESH_RE_COMPILE = """
import re, sys
from memsight.leak import MemoryLeakTestCase
class Case(MemoryLeakTestCase):
    def runTest(self):
        pass
keys = iter(range(10**9))
Case().execute(lambda: re.compile("a%db+" % (next(keys) % 1000)))
print("passed")
"""


def test_re_compile_first_check_of_a_fresh_process_under_malloc_passes():
    # The first check of a process, glibc's malloc under every Python allocation: the heap's
    # top and RSS creep a page at a time while re's caches fill (the heap's own figure does
    # not grow), for longer than one window of batches. Not a leak.
    env = dict(os.environ, PYTHONMALLOC="malloc")
    out = subprocess.run([sys.executable, "-c", FRESH_RE_COMPILE], env=env,
                         capture_output=True, text=True, timeout=WATCHDOG_S)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert out.stdout.strip().endswith("passed"), out.stdout[-2000:]


def test_python_thread_spawn_join_passes():
    def spawn_join():
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()

    Case().execute(spawn_join)


def test_corpus_under_pythonmalloc_malloc():
    if os.environ.get("PYTHONMALLOC") == "malloc":
        pytest.skip("this is the rerun under PYTHONMALLOC=malloc")
    env = dict(os.environ, PYTHONMALLOC="malloc")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          __file__], env=env, capture_output=True, text=True,
                         timeout=WATCHDOG_S)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert " passed" in out.stdout


def placed(report):
    """``(function, file base name, line)`` of each site's own frame, first site first."""
    out = []
    for s in report.sites:
        if s["site"] is not None:
            f = s["frames"][s["site"]]
            out.append((f["function"], os.path.basename(f["file"] or ""), f["line"]))
    return out


@pytest.mark.parametrize("case", sorted(corpus.LEAKS))
def test_leak_names_its_line(leaksites, allocators_restored, case):
    function, file, line = corpus.site(case)
    with pytest.raises(MemoryLeakError) as e:
        Case().execute(getattr(leaksites, corpus.LEAKS[case][0]))
    report = e.value.report
    where = placed(report)
    assert where, str(e.value)
    # The first site (most bytes per call) is the leak's line.
    assert where[0] == (function, file, line), str(e.value)
    # The message names it under the first line, as `function (file.c:LINE)`.
    head, sites_title, first_site = str(e.value).splitlines()[:3]
    assert "leaking sites" in sites_title, str(e.value)
    assert f"{function} ({file}:{line})" in first_site, str(e.value)
    # Sites are plain data: JSON takes them, with the full path of the file.
    data = json.loads(json.dumps(report.to_dict()))
    frame = data["sites"][0]["frames"][data["sites"][0]["site"]]
    assert frame["file"].endswith("/" + file) and os.path.isabs(frame["file"])
    assert data["sites"][0]["bytes_per_call"] > 0 and data["sites"][0]["blocks_per_call"] > 0


def test_site_has_the_python_caller(leaksites, allocators_restored):
    def caller():
        leaksites.list_no_decref()  # PY-CALLER

    with open(__file__) as f:
        line = next(n for n, text in enumerate(f, 1) if text.rstrip().endswith("# PY-CALLER"))
    with pytest.raises(MemoryLeakError) as e:
        Case().execute(caller)
    frames = e.value.report.sites[0]["frames"]
    assert any(f["file"] == __file__ and f["line"] == line and f["kind"] == "user"
               for f in frames), frames
    assert f"caller ({os.path.basename(__file__)}:{line})" in str(e.value)


def test_python_leak_is_placed_at_its_python_line(allocators_restored):
    def keep():
        KEPT.append([1, 2, 3])  # PY-LEAK

    with open(__file__) as f:
        line = next(n for n, text in enumerate(f, 1) if text.rstrip().endswith("# PY-LEAK"))
    with pytest.raises(MemoryLeakError) as e:
        Case().execute(keep)
    assert placed(e.value.report)[0][1:] == (os.path.basename(__file__), line), str(e.value)
    # The printed chain starts at the Python line: the interpreter's frames between the
    # allocator and it (the eval loop, where the harness called in) are in the JSON only.
    first = next(ln for ln in str(e.value).splitlines() if "B/call," in ln and "block" in ln)
    chain = first.split("   ")[-1].strip()
    assert re.match(rf"[\w.<>]*keep \({os.path.basename(__file__)}:{line}\)", chain), first
    frames = e.value.report.sites[0]["frames"]
    assert any(f["kind"] == "runtime" for f in frames[:e.value.report.sites[0]["site"]]), frames


def test_clean_twins_name_nothing(leaksites, allocators_restored):
    # A pass has a report with no site (the attribution phase runs only after a leak).
    for name in corpus.CLEAN:
        Case().execute(getattr(leaksites, name))


def test_raise_in_attribution_then_a_second_check(leaksites, allocators_restored):
    # The function leaks, then raises on every call once the allocators are wrapped (in the
    # attribution phase only): the leak is still reported, with a note, and the allocators are
    # back; a second check right after works and names its site.
    def leak_then_raise():
        KEPT.append([0] * 4)
        if _native.pymem_wrapped():
            raise ValueError("raised in the attribution phase")

    with pytest.raises(MemoryLeakError) as e:
        Case().execute(leak_then_raise)
    assert "raised in the attribution phase" in str(e.value)
    assert not _native.pymem_wrapped()
    function, file, line = corpus.site("malloc_helper")
    with pytest.raises(MemoryLeakError) as e:
        Case().execute(leaksites.malloc_helper)
    assert placed(e.value.report)[0] == (function, file, line), str(e.value)


def test_fork_and_allocating_thread_during_attribution(leaksites, allocators_restored):
    # A child forked in the attribution phase exits at once; a thread allocating all through
    # the check (while hooks go in and out) finishes; the leak is still placed.
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            [bytes(64) for _ in range(100)]

    def leak_and_fork():
        leaksites.calloc_leak()
        if _native.pymem_wrapped() and len(forked) < 3:
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            forked.append(os.waitpid(pid, 0)[1])

    forked = []
    t = threading.Thread(target=churn)
    t.start()
    try:
        with pytest.raises(MemoryLeakError) as e:
            Case().execute(leak_and_fork, checkers=MemoryLeakTestCase.checkers.exclude(
                "children", "c_threads", "py_threads"))
    finally:
        stop.set()
        t.join()
    assert forked and all(status == 0 for status in forked)
    function, file, line = corpus.site("calloc")
    assert (function, file, line) in placed(e.value.report), str(e.value)


def test_tracemalloc_started_in_the_phase(leaksites):
    # tracemalloc, started by the tested function inside the attribution phase, wraps Python's
    # allocators over memsight's: the phase's end leaves its hooks working; once it is stopped,
    # the next check takes memsight's leftover wrapper out, names its site again, and leaves the
    # interpreter's own allocators.
    import tracemalloc

    if tracemalloc.is_tracing():
        pytest.skip("tracemalloc is on for the whole run")
    original = _native.pymem_allocators()

    def leak_and_trace():
        leaksites.list_no_decref()
        if _native.pymem_wrapped() and not tracemalloc.is_tracing():
            tracemalloc.start()

    try:
        with pytest.raises(MemoryLeakError):
            Case().execute(leak_and_trace)
        assert tracemalloc.is_tracing() and not _native.pymem_wrapped()
        assert tracemalloc.get_traced_memory()[0] > 0
    finally:
        tracemalloc.stop()
    with pytest.raises(MemoryLeakError) as e:
        Case().execute(leaksites.list_no_decref)
    assert placed(e.value.report)[0] == corpus.site("list_no_decref"), str(e.value)
    assert _native.pymem_allocators() == original


def test_plot_caption_names_the_site(leaksites, tmp_path, allocators_restored):
    function, file, line = corpus.site("malloc_helper")

    class Plotted(Case):
        plot_dir = tmp_path

    with pytest.raises(MemoryLeakError):
        Plotted().execute(leaksites.malloc_helper)
    (svg,) = tmp_path.glob("*.svg")
    assert f"{function} ({file}:{line})" in svg.read_text()
