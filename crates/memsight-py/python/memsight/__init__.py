"""memsight: the truth about memory on Linux, with psutil's names.

The functions, named tuples (same fields, same order) and exception classes are psutil's, so
``import memsight as psutil`` works for the memory API. Every size is in bytes, every time in
seconds. The native code releases the GIL while it reads the kernel.

    >>> import memsight
    >>> memsight.virtual_memory().total > 0
    True
"""

import contextlib
import enum
import os
import stat
import resource as _resource
import socket
from collections import namedtuple

from . import _native
from ._native import (  # noqa: F401 (re-exported)
    AF_LINK, AIX, BSD, FREEBSD, LINUX, MACOS, NETBSD, OPENBSD, POSIX, SUNOS, WINDOWS,
)

__version__ = _native.__version__
version_info = tuple(int(n) for n in __version__.split("."))

__all__ = [
    "__version__", "version_info",
    # exceptions
    "Error", "NoSuchProcess", "ZombieProcess", "AccessDenied",
    # system
    "virtual_memory", "swap_memory", "heap_info", "heap_trim", "pids", "pid_exists",
    "process_iter", "boot_time", "disk_io_counters", "net_if_addrs",
    # beyond psutil
    "cgroup_memory", "memory_scan",
    "Process",
    # constants
    "POSIX", "WINDOWS", "LINUX", "MACOS", "OSX", "FREEBSD", "OPENBSD", "NETBSD", "BSD", "SUNOS",
    "AIX", "AF_LINK", "PROCFS_PATH", "RLIM_INFINITY", "IOPriority",
]

OSX = MACOS
# Where procfs is mounted, read at each call (as psutil's): set it to a host's /proc bind-mounted
# in a container, for one.
PROCFS_PATH = "/proc"

STATUS_RUNNING = "running"
STATUS_SLEEPING = "sleeping"
STATUS_DISK_SLEEP = "disk-sleep"
STATUS_STOPPED = "stopped"
STATUS_TRACING_STOP = "tracing-stop"
STATUS_ZOMBIE = "zombie"
STATUS_DEAD = "dead"
STATUS_WAKE_KILL = "wake-kill"
STATUS_WAKING = "waking"
STATUS_IDLE = "idle"
STATUS_LOCKED = "locked"
STATUS_WAITING = "waiting"
STATUS_PARKED = "parked"

CONN_ESTABLISHED = "ESTABLISHED"
CONN_SYN_SENT = "SYN_SENT"
CONN_SYN_RECV = "SYN_RECV"
CONN_FIN_WAIT1 = "FIN_WAIT1"
CONN_FIN_WAIT2 = "FIN_WAIT2"
CONN_TIME_WAIT = "TIME_WAIT"
CONN_CLOSE = "CLOSE"
CONN_CLOSE_WAIT = "CLOSE_WAIT"
CONN_LAST_ACK = "LAST_ACK"
CONN_LISTEN = "LISTEN"
CONN_CLOSING = "CLOSING"
CONN_NONE = "NONE"

__all__ += [n for n in dir() if n.startswith(("STATUS_", "CONN_"))]


class IOPriority(enum.IntEnum):
    """The I/O scheduling classes (``ioprio_get``), psutil's ``IOPriority``."""

    IOPRIO_CLASS_NONE = 0
    IOPRIO_CLASS_RT = 1
    IOPRIO_CLASS_BE = 2
    IOPRIO_CLASS_IDLE = 3


globals().update(IOPriority.__members__)
__all__ += list(IOPriority.__members__)

# psutil's RLIMIT_* constants: the resource module's numbers where it has them, else Linux's
# generic ones (asm-generic/resource.h), and the names /proc/PID/limits uses for them.
RLIM_INFINITY = _resource.RLIM_INFINITY
_RLIMIT_NAMES = {}
for _i, _n in enumerate(("CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
                         "MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO",
                         "RTTIME")):
    _v = getattr(_resource, "RLIMIT_" + _n, _i)
    globals()["RLIMIT_" + _n] = _v
    _RLIMIT_NAMES[_v] = _n.lower()
    __all__.append("RLIMIT_" + _n)
__all__.append("RLIM_INFINITY")


# --- exceptions: psutil's classes, messages and attributes -------------------------------------

class Error(Exception):
    """Base exception class (psutil.Error): every other one inherits from it."""

    def __init__(self, msg=""):
        Exception.__init__(self, msg)
        self.msg = msg

    def _infodict(self, attrs):
        return {n: getattr(self, n, None) for n in attrs
                if getattr(self, n, None) or (n == "pid" and getattr(self, n, None) == 0)}

    def __str__(self):
        info = self._infodict(("pid", "ppid", "name"))
        details = "(%s)" % ", ".join("%s=%r" % kv for kv in info.items()) if info else None
        return " ".join(x for x in (getattr(self, "msg", ""), details) if x)

    def __repr__(self):
        info = self._infodict(("pid", "ppid", "name", "msg"))
        return "memsight.%s(%s)" % (type(self).__name__,
                                    ", ".join("%s=%r" % kv for kv in info.items()))


class NoSuchProcess(Error):
    """No process with this pid exists, or it exited (or its pid was reused)."""

    def __init__(self, pid, name=None, msg=None):
        Error.__init__(self, msg or "process no longer exists")
        self.pid = pid
        self.name = name

    def __reduce__(self):
        return (type(self), (self.pid, self.name, self.msg))


class ZombieProcess(NoSuchProcess):
    """The process has exited but its parent has not reaped it; a subclass of NoSuchProcess."""

    def __init__(self, pid, name=None, ppid=None, msg=None):
        NoSuchProcess.__init__(self, pid, name, msg or "PID still exists but it's a zombie")
        self.ppid = ppid

    def __reduce__(self):
        return (type(self), (self.pid, self.name, self.ppid, self.msg))


class AccessDenied(Error):
    """The kernel refused to let this user read the file (EACCES or EPERM)."""

    def __init__(self, pid=None, name=None, msg=None):
        Error.__init__(self, msg or "")
        self.pid = pid
        self.name = name

    def __reduce__(self):
        return (type(self), (self.pid, self.name, self.msg))


_native.register_errors(Error, NoSuchProcess, ZombieProcess, AccessDenied)


# --- named tuples: psutil's names and field order, keyed by the Rust record ----------------------

def _nt(rust_name, name, fields):
    cls = namedtuple(name, fields)
    _native.register_type(rust_name, cls)
    return cls


svmem = _nt("VirtualMemory", "svmem",
            "total available percent used free active inactive buffers cached shared slab")
sswap = _nt("SwapMemory", "sswap", "total used free percent sin sout")
pheap = _nt("HeapInfo", "pheap", "heap_used mmap_used")
sdiskio = _nt("DiskIo", "sdiskio", "read_count write_count read_bytes write_bytes read_time "
              "write_time read_merged_count write_merged_count busy_time")
snicaddr = _nt("NicAddr", "snicaddr", "family address netmask broadcast ptp")
pmem = _nt("MemoryInfo", "pmem", "rss vms shared text lib data dirty")
pmem_ex = _nt("MemoryInfoEx", "pmem_ex", "rss vms shared text lib data dirty peak_rss peak_vms "
              "rss_anon rss_file rss_shmem swap hugetlb")
pfootprint = _nt("MemoryFootprint", "pfootprint", "uss pss swap")
pfullmem = _nt("MemoryFullInfo", "pfullmem", "rss vms shared text lib data dirty uss pss swap")
pmmap_grouped = _nt("MemoryMap", "pmmap_grouped", "path rss size pss shared_clean shared_dirty "
                    "private_clean private_dirty referenced anonymous swap")
pmmap_ext = _nt("MemoryMap", "pmmap_ext", "addr perms " + " ".join(pmmap_grouped._fields))
pcputimes = _nt("CpuTimes", "pcputimes", "user system children_user children_system iowait")
pio = _nt("IoCounters", "pio", "read_count write_count read_bytes write_bytes read_chars "
          "write_chars")
pctxsw = _nt("CtxSwitches", "pctxsw", "voluntary involuntary")
puids = _nt("Uids", "puids", "real effective saved")
pgids = _nt("Gids", "pgids", "real effective saved")
pionice = _nt("IoNice", "pionice", "ioclass value")
pthread = _nt("Thread", "pthread", "id user_time system_time")
popenfile = _nt("OpenFile", "popenfile", "path fd position mode flags")
ppagefaults = _nt("PageFaults", "ppagefaults", "minor major")
pconn = _nt("Connection", "pconn", "fd family type laddr raddr status")
addr = namedtuple("addr", "ip port")
# Beyond psutil: memsight's cgroup and scan records, with the Rust field names.
scgroupmem = _nt("CgroupMemory", "scgroupmem", "version path directory limit usage working_set "
                 "peak swap_usage swap_limit oom oom_kill pressure")
smempressure = _nt("MemoryPressure", "smempressure", "some full")
spressure = _nt("Pressure", "spressure", "avg10 avg60 avg300 total")
pscan = _nt("ProcessMemory", "pscan", "pid username name cmdline uss pss swap rss vms")
smemscan = namedtuple("smemscan", "processes access_denied errors")


# --- system ------------------------------------------------------------------------------------

def virtual_memory():
    """System memory in bytes, as procps ``free`` (``/proc/meminfo``): psutil's ``svmem``."""
    return _native.virtual_memory(PROCFS_PATH)


def swap_memory():
    """Swap in bytes (``/proc/meminfo``; sin/sout from ``/proc/vmstat``): ``sswap``."""
    return _native.swap_memory(PROCFS_PATH)


def heap_info():
    """This process's C heap in bytes (glibc ``mallinfo2``): ``pheap(heap_used, mmap_used)``."""
    return _native.heap_info()


def heap_trim():
    """Hands free C-heap memory back to the OS (``malloc_trim(0)``), as psutil: returns None."""
    _native.heap_trim()


def pids():
    """Every pid, ascending (``/proc``)."""
    return _native.pids(PROCFS_PATH)


def pid_exists(pid):
    """Whether a process with this pid exists (a zombie does, a thread id does not:
    ``/proc/PID/status``'s Tgid, as psutil checks). A pid outside the kernel's range is False,
    where psutil raises OverflowError."""
    if pid < 0 or not _native.pid_exists(pid, PROCFS_PATH):
        return False
    # /proc/TID opens too for a thread id that is not a process: psutil's Tgid check tells them
    # apart, and so does this one.
    try:
        with open("%s/%d/status" % (PROCFS_PATH, pid), "rb") as f:
            for line in f:
                if line.startswith(b"Tgid:"):
                    return int(line.split()[1]) == pid
    except OSError:
        pass
    return pid in pids()


def boot_time():
    """When the system booted, seconds since the epoch (``/proc/stat`` btime)."""
    return _native.boot_time(PROCFS_PATH)


def disk_io_counters(perdisk=False, nowrap=True):
    """``sdiskio`` summed over the physical disks, or ``{name: sdiskio}`` when *perdisk*
    (``/proc/diskstats``; times in ms, bytes in bytes)."""
    return _native.disk_io_counters(perdisk, nowrap, PROCFS_PATH)


def _family(n):
    try:
        return socket.AddressFamily(n)
    except ValueError:
        return n


def net_if_addrs():
    """``{nic: [snicaddr, ...]}`` for every interface (``getifaddrs``), the family as
    ``socket.AddressFamily`` (``AF_LINK`` for MAC addresses)."""
    return {nic: [a._replace(family=_family(a.family)) for a in addrs]
            for nic, addrs in _native.net_if_addrs().items()}


def cgroup_memory():
    """Beyond psutil: this process's memory cgroup (``scgroupmem``: limit, usage, working set,
    peak, swap, OOM counts, pressure; bytes), or None when no memory controller applies."""
    return _native.cgroup_memory()


def memory_scan():
    """Beyond psutil: USS/PSS/swap/RSS of every process, read on every core (what
    ``memsight ps`` shows): ``smemscan(processes=[pscan...], access_denied=[pid...],
    errors=[(pid, message)...])``."""
    return smemscan(*_native.memory_scan())


# --- processes ---------------------------------------------------------------------------------

class Process(_native.Process):
    """A process (psutil's ``Process``): ``Process()`` is the calling one.

    The handle is tied to the process it opened: once that process has exited, every getter
    raises NoSuchProcess even if its pid has been reused.
    """

    def __new__(cls, pid=None):
        # psutil's checks and messages: the pid given is the one the error carries.
        if pid is not None:
            if not isinstance(pid, int):
                raise TypeError("pid must be an integer (got %r)" % (pid,))
            if pid < 0:
                raise ValueError("pid must be a positive integer (got %s)" % pid)
            if pid > _PID_MAX:
                raise NoSuchProcess(pid, msg="process PID out of range")
        try:
            return super().__new__(cls, pid, PROCFS_PATH)
        except ZombieProcess:
            raise
        except NoSuchProcess:
            raise NoSuchProcess(pid, msg="process PID not found") from None

    def __eq__(self, other):
        return isinstance(other, _native.Process) and self._same(other)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.pid)

    def __str__(self):
        info = {"pid": self.pid}
        try:
            info["name"] = self.name()
            info["status"] = self.status()
        except ZombieProcess:
            info["status"] = "zombie"
        except NoSuchProcess:
            info["status"] = "terminated"
        except AccessDenied:
            pass
        return "memsight.Process(%s)" % ", ".join("%s=%r" % kv for kv in info.items())

    __repr__ = __str__

    @contextlib.contextmanager
    def oneshot(self):
        """Inside this block each getter without arguments keeps its first result
        (psutil's ``oneshot()``)."""
        self._oneshot_enter()
        try:
            yield
        finally:
            self._oneshot_exit()

    def parent(self):
        """The parent Process, or None when it is gone or younger than this one."""
        ppid = self._parent_pid()
        if ppid is None:
            return None
        try:
            return Process(ppid)
        except NoSuchProcess:
            return None

    def parents(self):
        """Every ancestor, nearest first."""
        out, p = [], self.parent()
        while p is not None:
            out.append(p)
            p = p.parent()
        return out

    def children(self, recursive=False):
        """The children (all descendants when *recursive*) that still run, as Process."""
        out = []
        for pid in self._children_pids(recursive):
            try:
                out.append(Process(pid))
            except NoSuchProcess:
                pass
        return out

    def create_time(self):
        """When the process started, seconds since the epoch (kept after the first read, as
        psutil keeps it)."""
        try:
            return self._create_time
        except AttributeError:
            self._create_time = super().create_time()
            return self._create_time

    def ionice(self, ioclass=None, value=None):
        """``pionice(ioclass, value)``, the class an ``IOPriority`` (getting only)."""
        if ioclass is not None or value is not None:
            raise NotImplementedError("memsight reads the I/O priority; it does not set it")
        n = self._ionice()
        return pionice(IOPriority(n.ioclass) if n.ioclass in IOPriority._value2member_map_
                       else n.ioclass, n.value)

    def rlimit(self, resource, limits=None):
        """``(soft, hard)`` of one ``RLIMIT_*`` resource (``/proc/PID/limits``),
        ``RLIM_INFINITY`` for unlimited (getting only)."""
        if limits is not None:
            raise NotImplementedError("memsight reads resource limits; it does not set them")
        name = _RLIMIT_NAMES.get(resource)
        if name is None:
            raise ValueError("invalid resource %r" % (resource,))
        return tuple(RLIM_INFINITY if v is None else v for v in self._rlimit(name))

    def open_files(self):
        """``popenfile`` for each regular file open (``/proc/PID/fd``, ``fdinfo``) that is
        reachable by its path, as psutil lists them: a deleted file, or one made with
        ``O_TMPFILE``, is left out."""
        try:
            return [f for f in super().open_files() if _isfile_strict(f.path)]
        except PermissionError:
            raise AccessDenied(self.pid) from None

    def net_connections(self, kind="inet"):
        """``pconn`` for each socket of *kind* (``/proc/PID/fd`` and ``/proc/net``)."""
        out = []
        for c in super().net_connections(kind):
            la = addr(*c.laddr) if isinstance(c.laddr, tuple) and c.laddr else c.laddr
            ra = addr(*c.raddr) if isinstance(c.raddr, tuple) and c.raddr else c.raddr
            out.append(pconn(c.fd, _family(c.family), _socktype(c.type), la, ra, c.status))
        return out

    def as_dict(self, attrs=None, ad_value=None):
        """``{name: getter()}`` for *attrs* (default: every getter), read in one ``oneshot``;
        a getter that raises AccessDenied or ZombieProcess gives *ad_value*."""
        if attrs is None:
            names, explicit = _AS_DICT_ATTRS, False
        else:
            if not isinstance(attrs, (list, tuple, set, frozenset)):
                raise TypeError("invalid attrs type %s" % type(attrs))
            _check_attrs(attrs)
            names, explicit = attrs, True
        return self._read_attrs(names, explicit, ad_value)

    def _read_attrs(self, names, explicit, ad_value):
        """as_dict's reading, once *names* are known to be valid (process_iter checks them
        once for every process)."""
        out = {}
        self._oneshot_enter()
        try:
            for name in names:
                if name == "pid":
                    out[name] = self.pid
                    continue
                try:
                    out[name] = getattr(self, name)()
                except (AccessDenied, ZombieProcess):
                    out[name] = ad_value
                except NotImplementedError:
                    if explicit:
                        raise
        finally:
            self._oneshot_exit()
        return out


def _isfile_strict(path):
    """psutil's test: a regular file at *path* (stat follows links); PermissionError raises."""
    try:
        st = os.stat(path)
    except PermissionError:
        raise
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode)


def _socktype(n):
    try:
        return socket.SocketKind(n)
    except ValueError:
        return n


# The largest pid the kernel can hand out (pid_t is a C int); psutil's range check.
_PID_MAX = 2**31 - 1

# psutil's rule: every public getter but these.
_AS_DICT_EXCLUDED = {"as_dict", "oneshot", "parent", "parents", "children", "rlimit",
                     "is_running"}
_AS_DICT_VALID = {n for n in dir(Process) if not n.startswith("_")} - _AS_DICT_EXCLUDED
_AS_DICT_ATTRS = sorted(_AS_DICT_VALID)


def _check_attrs(attrs):
    """psutil's ValueError for names that are not getters."""
    bad = set(attrs) - _AS_DICT_VALID
    if bad:
        raise ValueError("invalid attr name%s %s" % (
            "s" if len(bad) > 1 else "", ", ".join(map(repr, sorted(bad)))))


def process_iter(attrs=None, ad_value=None):
    """Yields a Process for every running process, ascending by pid. With *attrs* each one
    carries ``.info = proc.as_dict(attrs, ad_value)``; processes that exit meanwhile are
    skipped. With *attrs*, when there are enough processes and idle cores (memsight's scan
    policy: one thread per idle core, one per 128 processes, at most 8), the getters among
    *attrs* are read for every process first, in parallel without the GIL."""
    if attrs is not None:
        attrs = list(attrs) if not isinstance(attrs, str) else [attrs]
        explicit = bool(attrs)
        if not attrs:
            attrs = _AS_DICT_ATTRS
        _check_attrs(attrs)
    procs = []
    for pid in _native.pids(PROCFS_PATH):
        try:
            procs.append(Process(pid))
        except NoSuchProcess:
            pass
    if attrs is not None:
        _native.prefetch(procs, attrs)
    for p in procs:
        if attrs is not None:
            try:
                p.info = p.as_dict(attrs if explicit else None, ad_value)
            except NoSuchProcess:
                continue
        yield p


def _process_iter_cache_clear():
    """psutil's ``process_iter.cache_clear()``: memsight keeps no Process between calls
    (each call opens every process afresh), so there is nothing to forget."""


process_iter.cache_clear = _process_iter_cache_clear


del _i, _n, _v

# The named tuples and the helper modules stay importable (``from memsight import pmem``) but
# out of ``dir()`` and ``__all__``, as psutil keeps them in a private module.
_PRIVATE = {n for n, v in globals().items()
            if isinstance(v, type) and issubclass(v, tuple) and hasattr(v, "_fields")}
_PRIVATE |= {"contextlib", "enum", "os", "socket", "stat", "namedtuple"}


def __dir__():
    return sorted(n for n in globals() if n not in _PRIVATE)
