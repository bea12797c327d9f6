"""memsight: the truth about memory on Linux, with psutil's names.

    >>> import memsight
    >>> memsight.virtual_memory().total > 0
    True
"""

import os
from collections import namedtuple

from . import _native

__all__ = [
    "Error", "NoSuchProcess", "ZombieProcess", "AccessDenied",
    "virtual_memory", "swap_memory", "pid_exists", "Process",
]

svmem = namedtuple("svmem", "total available percent used free active inactive buffers "
                   "cached shared slab")
sswap = namedtuple("sswap", "total used free percent sin sout")
pmem = namedtuple("pmem", "rss vms shared text lib data dirty")
pfullmem = namedtuple("pfullmem", "rss vms shared text lib data dirty uss pss swap")


class Error(Exception):
    """Base exception class (psutil.Error)."""

    def __init__(self, msg=""):
        Exception.__init__(self, msg)
        self.msg = msg

    def __str__(self):
        return self.msg


class NoSuchProcess(Error):
    """No process with this pid exists (any more)."""

    def __init__(self, pid, name=None, msg=None):
        Error.__init__(self, msg or "process no longer exists")
        self.pid = pid
        self.name = name


class ZombieProcess(NoSuchProcess):
    """The process is a zombie (psutil: a subclass of NoSuchProcess)."""

    def __init__(self, pid, name=None, ppid=None, msg=None):
        NoSuchProcess.__init__(self, pid, name, msg or "process still exists but it's a zombie")
        self.ppid = ppid


class AccessDenied(Error):
    """The kernel refused to let this user read the file."""

    def __init__(self, pid=None, name=None, msg=None):
        Error.__init__(self, msg or "")
        self.pid = pid
        self.name = name


def _raise(e):
    kind, pid, name, msg = e.args[0] if len(e.args) == 1 else e.args
    cls = {"NoSuchProcess": NoSuchProcess, "ZombieProcess": ZombieProcess,
           "AccessDenied": AccessDenied}.get(kind)
    if cls is None:
        raise Error(msg) from None
    raise cls(pid, name, msg) from None


def virtual_memory():
    """System memory, in bytes (psutil.virtual_memory)."""
    try:
        return svmem(*_native.virtual_memory())
    except _native.NativeError as e:
        _raise(e)


def swap_memory():
    """Swap, in bytes (psutil.swap_memory)."""
    try:
        return sswap(*_native.swap_memory())
    except _native.NativeError as e:
        _raise(e)


def pid_exists(pid):
    """Whether a process with this pid exists."""
    return pid >= 0 and _native.pid_exists(pid)


class Process:
    """A process (psutil.Process); only the memory getters so far."""

    def __init__(self, pid=None):
        self.pid = os.getpid() if pid is None else pid
        if not isinstance(self.pid, int) or self.pid < 0:
            raise ValueError("pid must be a positive integer (got %r)" % (self.pid,))
        if not _native.pid_exists(self.pid):
            raise NoSuchProcess(self.pid, None, "process PID not found (pid=%d)" % self.pid)

    def memory_info(self):
        """RSS, VMS and the other statm figures, in bytes."""
        try:
            return pmem(*_native.memory_info(self.pid))
        except _native.NativeError as e:
            _raise(e)

    def memory_full_info(self):
        """memory_info plus USS, PSS and swap, in bytes."""
        try:
            return pfullmem(*_native.memory_full_info(self.pid))
        except _native.NativeError as e:
            _raise(e)
