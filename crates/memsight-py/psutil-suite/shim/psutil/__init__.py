"""``psutil`` for psutil 7.2.2's own test suite, resolving to memsight.

Every public name is memsight's (read through at call time, so ``psutil.PROCFS_PATH = ...``
reaches memsight). What is added here is test scaffolding only, never a claimed API: psutil's
helpers (``tests/__init__.py``) stop and reap their children through ``Process.send_signal``,
``terminate``, ``kill``, ``wait``, ``wait_procs`` and check ``isinstance(p, psutil.Popen)``, so
those exist here, written on ``os.kill`` and psutil's own ``_psposix.wait_pid`` (copied from the
sdist with ``_common`` and ``_ntuples``), and ``cpu_count`` (``os.cpu_count``), which
test_process_all compares ``cpu_num()`` and ``cpu_affinity()`` with. The tests of those methods are set aside in
``set-aside.txt`` as APIs memsight does not claim.
"""

import os
import signal
import subprocess
import sys
import time
import types

import memsight
from memsight import *  # noqa: F401,F403

from . import _common


class TimeoutExpired(memsight.Error):
    """psutil's TimeoutExpired (raised by wait()), a memsight.Error as psutil's is a psutil.Error."""

    def __init__(self, seconds, pid=None, name=None):
        memsight.Error.__init__(self, "timeout after %s seconds" % seconds)
        self.seconds = seconds
        self.pid = pid
        self.name = name


# _psposix.wait_pid raises _common's TimeoutExpired: make it this one before importing it.
_common.TimeoutExpired = TimeoutExpired
from . import _psposix  # noqa: E402

__all__ = memsight.__all__


def _send_signal(self, sig):
    if not self.is_running():
        raise memsight.NoSuchProcess(self.pid)
    try:
        os.kill(self.pid, sig)
    except ProcessLookupError:
        raise memsight.NoSuchProcess(self.pid) from None
    except PermissionError:
        # Another user's zombie, met by assert_proc_zombie's suspend()/terminate() as nobody:
        # no signal reaches a zombie anyway, and the getters are what the test checks. Reaped
        # since (its parent waited meanwhile): the signal was refused, AccessDenied as psutil.
        try:
            if self.status() == memsight.STATUS_ZOMBIE:
                return
        except memsight.NoSuchProcess:
            pass
        raise memsight.AccessDenied(self.pid) from None


def _wait(self, timeout=None):
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be a positive integer")
    try:
        return _psposix.wait_pid(self.pid, timeout)
    except TimeoutExpired as e:
        # psutil's Process.wait names the process in the exception.
        e.pid, e.name = self.pid, self._name
        raise


def _init(self, pid, _ignore_nsp=False):
    # psutil's _init starts the handle afresh: its creation time is read again, from the
    # process at pid now, and once none is there create_time() raises NoSuchProcess
    # (assert_proc_gone checks that after a process ended mid-test). memsight keeps the
    # creation time of the process its handle opened, so a new handle reads it.
    try:
        self._create_time = memsight.Process(pid).create_time()
        self.__dict__.pop("_gone", None)
    except memsight.NoSuchProcess:
        if not _ignore_nsp:
            raise
        self._gone = True
    except memsight.Error:
        pass


_memsight_create_time = memsight.Process.create_time


def _create_time(self):
    if self.__dict__.get("_gone"):
        raise memsight.NoSuchProcess(self.pid)
    return _memsight_create_time(self)


# Added to memsight.Process itself, so that the processes memsight makes (children(),
# process_iter(), parent()) have them too.
for _name, _fun in {
    "send_signal": _send_signal,
    "suspend": lambda self: self.send_signal(signal.SIGSTOP),
    "resume": lambda self: self.send_signal(signal.SIGCONT),
    "terminate": lambda self: self.send_signal(signal.SIGTERM),
    "kill": lambda self: self.send_signal(signal.SIGKILL),
    "wait": _wait,
    # process_namespace.clear_cache() calls this (see _init above).
    "_init": _init,
    "create_time": _create_time,
    # The name and parent pid psutil's exceptions carry once read (_check_proc_exc).
    "_name": None,
    "_ppid": None,
}.items():
    setattr(memsight.Process, _name, _fun)
Process = memsight.Process

# psutil's platform module, empty: tests guard platform-only internals with
# ``hasattr(psutil._psplatform.cext, ...)``, which then answers False.
# TestProcessAgainstStatus reads /proc/PID/status itself through its ``open_text``.
_psplatform = types.SimpleNamespace(cext=types.SimpleNamespace(), open_text=_common.open_text)


def cpu_count(logical=True):
    """test_process_all checks cpu_num() and cpu_affinity() against the CPU count: the count
    from os (scaffolding; psutil's own cpu_count tests are set aside)."""
    return os.cpu_count() if logical else None


def _set_debug(value):
    """psutil's debug switch (test_process_all turns it off around its loop): nothing to do."""


class Popen(Process):
    """subprocess.Popen with the Process methods (helpers test ``isinstance`` against it)."""

    def __new__(cls, *args, **kwargs):
        popen = subprocess.Popen(*args, **kwargs)
        self = super().__new__(cls, popen.pid)
        self._popen = popen
        return self

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return getattr(self.__dict__["_popen"], name)

    def wait(self, timeout=None):
        return self._popen.wait(timeout)


def wait_procs(procs, timeout=None, callback=None):
    """psutil's wait_procs, enough for reap_children(): (gone, alive)."""
    gone, alive = [], list(procs)
    deadline = None if timeout is None else time.monotonic() + timeout
    while alive:
        for p in list(alive):
            try:
                p.returncode = p.wait(0)
            except TimeoutExpired:
                continue
            except memsight.NoSuchProcess:
                p.returncode = None
            alive.remove(p)
            gone.append(p)
            if callback is not None:
                callback(p)
        if not alive or (deadline is not None and time.monotonic() >= deadline):
            break
        time.sleep(0.01)
    return gone, alive


class _Module(types.ModuleType):
    """Reads and writes of a memsight name go to memsight (PROCFS_PATH, process_iter, ...)."""

    def __getattr__(self, name):
        return getattr(memsight, name)

    def __dir__(self):
        return sorted(set(vars(self)) | set(dir(memsight)))

    def __setattr__(self, name, value):
        if name in vars(memsight) and name not in vars(self):
            setattr(memsight, name, value)
        else:
            super().__setattr__(name, value)


_here = sys.modules[__name__]
_here.__class__ = _Module
# Names memsight defines are read through, not copied, so that a test's change to one (or
# memsight's own) is seen by both.
for _n in list(vars(_here)):
    # Modules this file uses (os, signal, ...) stay its own, even when memsight imports them too.
    if isinstance(vars(_here)[_n], types.ModuleType):
        continue
    if _n in vars(memsight) and _n not in ("__doc__", "__name__", "__all__",
                                            "__file__", "__path__", "__package__",
                                            "__loader__", "__spec__", "__builtins__",
                                            "__cached__", "__getattr__"):
        delattr(_here, _n)
del _n, _name, _fun
