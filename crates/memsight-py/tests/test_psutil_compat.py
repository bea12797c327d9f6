"""memsight's Python API against psutil on the live machine: same names, fields, classes."""

import os
import subprocess
import sys
import time

import psutil
import pytest

import memsight

MB5 = 5 * 1024 * 1024


def test_virtual_memory_fields_and_values():
    m, p = memsight.virtual_memory(), psutil.virtual_memory()
    assert m._fields == p._fields
    assert m.total == p.total
    for f in ("available", "used", "free", "cached", "buffers", "shared", "slab"):
        assert abs(getattr(m, f) - getattr(p, f)) <= MB5, f


def test_swap_memory_fields_and_values():
    m, p = memsight.swap_memory(), psutil.swap_memory()
    assert m._fields == p._fields
    assert m.total == p.total
    assert abs(m.used - p.used) <= MB5


def test_memory_info_is_exact_against_psutil():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.2)
        m = memsight.Process(child.pid).memory_info()
        p = psutil.Process(child.pid).memory_info()
        assert m._fields == p._fields
        assert tuple(m) == tuple(p)
    finally:
        child.kill()
        child.wait()


def test_memory_full_info_fields_and_values():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.2)
        m = memsight.Process(child.pid).memory_full_info()
        p = psutil.Process(child.pid).memory_full_info()
        assert m._fields == p._fields
        assert abs(m.uss - p.uss) <= MB5
        assert abs(m.pss - p.pss) <= MB5
        assert m.swap == p.swap
    finally:
        child.kill()
        child.wait()


def test_current_process_default():
    assert memsight.Process().pid == os.getpid()
    assert memsight.Process().memory_info().rss > 0


def test_vanished_pid_raises_no_such_process_like_psutil():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(child.pid)
    with pytest.raises(memsight.NoSuchProcess) as e:
        memsight.Process(child.pid)
    assert e.value.pid == child.pid
    assert isinstance(e.value, memsight.Error)
    assert not memsight.pid_exists(child.pid)


def test_zombie_is_a_no_such_process_subclass():
    assert issubclass(memsight.ZombieProcess, memsight.NoSuchProcess)
    assert issubclass(memsight.AccessDenied, memsight.Error)
