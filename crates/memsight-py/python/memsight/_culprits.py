"""Naming what an unclosed-resource failure left open, as psutil names it (popenfile, pconn,
pthread) or as Python has it (Thread objects, the garbage objects): one more call of the
function, bracketed by listings of /proc/self (fds, tasks, children) or of the interpreter's
threads and garbage. Used by memsight.leak after memsight's engine found the resource."""

import os
import socket
import threading
from collections import namedtuple

pfd = namedtuple("pfd", "fd path")
popenfile = namedtuple("popenfile", "path fd position mode flags")
pconn = namedtuple("pconn", "fd family type laddr raddr status")
addr = namedtuple("addr", "ip port")
pthread = namedtuple("pthread", "id user_time system_time")
pchild = namedtuple("pchild", "pid name status")


def _fds():
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass
    return out


def _fdinfo(fd):
    info = {}
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                k, _, v = line.partition(":")
                info[k] = v.strip()
    except OSError:
        pass
    return info


def _open_mode(flags):
    acc = flags & os.O_ACCMODE
    if acc == os.O_RDONLY:
        return "r"
    append = flags & os.O_APPEND
    if acc == os.O_WRONLY:
        return "a" if append else "w"
    return "a+" if append else "r+"


def _sockaddr(a):
    if isinstance(a, tuple) and len(a) >= 2:
        return addr(a[0], a[1])
    return a or ()


def _describe_fd(fd, target):
    """psutil's popenfile for a regular file, pconn for a socket, else (fd, link target)."""
    if target.startswith("socket:"):
        try:
            with socket.socket(fileno=os.dup(fd)) as s:
                try:
                    raddr = _sockaddr(s.getpeername())
                except OSError:
                    raddr = ()
                listening = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                status = "LISTEN" if listening else ("ESTABLISHED" if raddr else "NONE")
                return pconn(fd, s.family, s.type, _sockaddr(s.getsockname()), raddr, status)
        except OSError:
            return pfd(fd, target)
    if target.startswith("/") and os.path.isfile(target):
        info = _fdinfo(fd)
        flags = int(info.get("flags", "0"), 8)
        return popenfile(target, fd, int(info.get("pos", "0")), _open_mode(flags), flags)
    return pfd(fd, target)


def _tids():
    return set(int(t) for t in os.listdir("/proc/self/task"))


def _describe_tid(tid):
    try:
        with open(f"/proc/self/task/{tid}/stat") as f:
            stat = f.read()
        rest = stat[stat.rindex(")") + 2:].split()
        tick = os.sysconf("SC_CLK_TCK")
        return pthread(tid, int(rest[11]) / tick, int(rest[12]) / tick)
    except (OSError, ValueError, IndexError):
        return pthread(tid, 0.0, 0.0)


def _children():
    out = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                out.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return out


def _describe_child(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        state = stat[stat.rindex(")") + 2:].split()[0]
        return pchild(pid, name, "zombie" if state == "Z" else "running")
    except (OSError, ValueError, IndexError):
        return pchild(pid, "?", "?")


def culprits(metric, call, gc_debugger):
    """One more call of the function, bracketed by listings of ``metric``'s items: the new
    ones, described as psutil would."""
    if metric == "fds":
        before = _fds()
        call()
        after = _fds()
        return [_describe_fd(fd, t) for fd, t in sorted(after.items()) if before.get(fd) != t]
    if metric == "threads":
        before = _tids()
        call()
        return [_describe_tid(t) for t in sorted(_tids() - before)]
    if metric == "py_threads":
        before = set(map(id, threading.enumerate()))
        call()
        return [t for t in threading.enumerate() if id(t) not in before]
    if metric == "gc_garbage":
        with gc_debugger() as dbg:
            call()
        return dbg.leaked_objects()
    if metric == "children":
        before = _children()
        call()
        return [_describe_child(p) for p in sorted(_children() - before)]
    return []
