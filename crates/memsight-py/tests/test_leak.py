"""memsight.leak on real Python functions: clean ones pass, leaky ones fail."""

import threading

import pytest

from memsight.leak import (MemoryLeakError, MemoryLeakTestCase, UnclosedFdError,
                           UnclosedPythonThreadError)

KEPT = []


class T(MemoryLeakTestCase):
    def runTest(self):
        pass


def test_clean_function_passes():
    T().execute(lambda: len(str(12345)))


def test_thread_start_join_passes():
    def fun():
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
    T().execute(fun)


def test_small_object_leak_under_pymalloc_is_caught():
    with pytest.raises(MemoryLeakError) as e:
        T().execute(lambda: KEPT.append((object(),)))
    assert "py_blocks" in str(e.value)


def test_unclosed_fd_is_caught():
    with pytest.raises(UnclosedFdError):
        T().execute(lambda: KEPT.append(open("/dev/null")))


def test_unjoined_python_thread_is_caught():
    stop = threading.Event()
    try:
        with pytest.raises(UnclosedPythonThreadError):
            T().execute(lambda: threading.Thread(target=stop.wait, daemon=True).start())
    finally:
        stop.set()


def test_exception_in_the_function_is_raised():
    with pytest.raises(ZeroDivisionError):
        T().execute(lambda: 1 / 0)
