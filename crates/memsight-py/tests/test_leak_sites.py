"""The leak-site corpus (tests/leaksites: a C extension built with -g, one leak per function,
and a shared library it links) under memsight.leak: every leak fails the check, and the clean
twins (malloc+free, a 64-entry C cache, a C thread spawned and joined, ``functools.lru_cache``
and ``re.compile`` with cycling keys, a Python thread started and joined) pass.

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

