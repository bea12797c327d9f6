"""Type stubs for memsight's psutil-compatible API (sizes in bytes, times in seconds)."""

import enum
import socket
from typing import Any, ContextManager, Dict, Iterable, Iterator, List, NamedTuple, Optional
from typing import Tuple, Union

from . import _native

POSIX: bool
WINDOWS: bool
LINUX: bool
MACOS: bool
OSX: bool
FREEBSD: bool
OPENBSD: bool
NETBSD: bool
BSD: bool
SUNOS: bool
AIX: bool
AF_LINK: int
PROCFS_PATH: str
__version__: str
version_info: Tuple[int, ...]

STATUS_RUNNING: str
STATUS_SLEEPING: str
STATUS_DISK_SLEEP: str
STATUS_STOPPED: str
STATUS_TRACING_STOP: str
STATUS_ZOMBIE: str
STATUS_DEAD: str
STATUS_WAKE_KILL: str
STATUS_WAKING: str
STATUS_IDLE: str
STATUS_LOCKED: str
STATUS_WAITING: str
STATUS_PARKED: str

CONN_ESTABLISHED: str
CONN_SYN_SENT: str
CONN_SYN_RECV: str
CONN_FIN_WAIT1: str
CONN_FIN_WAIT2: str
CONN_TIME_WAIT: str
CONN_CLOSE: str
CONN_CLOSE_WAIT: str
CONN_LAST_ACK: str
CONN_LISTEN: str
CONN_CLOSING: str
CONN_NONE: str

RLIM_INFINITY: int
RLIMIT_AS: int
RLIMIT_CORE: int
RLIMIT_CPU: int
RLIMIT_DATA: int
RLIMIT_FSIZE: int
RLIMIT_LOCKS: int
RLIMIT_MEMLOCK: int
RLIMIT_MSGQUEUE: int
RLIMIT_NICE: int
RLIMIT_NOFILE: int
RLIMIT_NPROC: int
RLIMIT_RSS: int
RLIMIT_RTPRIO: int
RLIMIT_RTTIME: int
RLIMIT_SIGPENDING: int
RLIMIT_STACK: int


class IOPriority(enum.IntEnum):
    IOPRIO_CLASS_NONE = 0
    IOPRIO_CLASS_RT = 1
    IOPRIO_CLASS_BE = 2
    IOPRIO_CLASS_IDLE = 3


IOPRIO_CLASS_NONE: IOPriority
IOPRIO_CLASS_RT: IOPriority
IOPRIO_CLASS_BE: IOPriority
IOPRIO_CLASS_IDLE: IOPriority


class Error(Exception):
    msg: str
    def __init__(self, msg: str = ...) -> None: ...


class NoSuchProcess(Error):
    pid: int
    name: Optional[str]
    def __init__(self, pid: int, name: Optional[str] = ..., msg: Optional[str] = ...) -> None: ...


class ZombieProcess(NoSuchProcess):
    ppid: Optional[int]
    def __init__(self, pid: int, name: Optional[str] = ..., ppid: Optional[int] = ...,
                 msg: Optional[str] = ...) -> None: ...


class AccessDenied(Error):
    pid: Optional[int]
    name: Optional[str]
    def __init__(self, pid: Optional[int] = ..., name: Optional[str] = ...,
                 msg: Optional[str] = ...) -> None: ...


class svmem(NamedTuple):
    total: int
    available: int
    percent: float
    used: int
    free: int
    active: int
    inactive: int
    buffers: int
    cached: int
    shared: int
    slab: int


class sswap(NamedTuple):
    total: int
    used: int
    free: int
    percent: float
    sin: int
    sout: int


class pheap(NamedTuple):
    heap_used: int
    mmap_used: int


class sdiskio(NamedTuple):
    read_count: int
    write_count: int
    read_bytes: int
    write_bytes: int
    read_time: int
    write_time: int
    read_merged_count: int
    write_merged_count: int
    busy_time: int


class snicaddr(NamedTuple):
    family: Union[socket.AddressFamily, int]
    address: str
    netmask: Optional[str]
    broadcast: Optional[str]
    ptp: Optional[str]


class pmem(NamedTuple):
    rss: int
    vms: int
    shared: int
    text: int
    lib: int
    data: int
    dirty: int


class pmem_ex(NamedTuple):
    rss: int
    vms: int
    shared: int
    text: int
    lib: int
    data: int
    dirty: int
    peak_rss: int
    peak_vms: int
    rss_anon: int
    rss_file: int
    rss_shmem: int
    swap: int
    hugetlb: int


class pfootprint(NamedTuple):
    uss: int
    pss: int
    swap: int


class pfullmem(NamedTuple):
    rss: int
    vms: int
    shared: int
    text: int
    lib: int
    data: int
    dirty: int
    uss: int
    pss: int
    swap: int


class pmmap_grouped(NamedTuple):
    path: str
    rss: int
    size: int
    pss: int
    shared_clean: int
    shared_dirty: int
    private_clean: int
    private_dirty: int
    referenced: int
    anonymous: int
    swap: int


class pmmap_ext(NamedTuple):
    addr: str
    perms: str
    path: str
    rss: int
    size: int
    pss: int
    shared_clean: int
    shared_dirty: int
    private_clean: int
    private_dirty: int
    referenced: int
    anonymous: int
    swap: int


class pcputimes(NamedTuple):
    user: float
    system: float
    children_user: float
    children_system: float
    iowait: float


class pio(NamedTuple):
    read_count: int
    write_count: int
    read_bytes: int
    write_bytes: int
    read_chars: int
    write_chars: int


class pctxsw(NamedTuple):
    voluntary: int
    involuntary: int


class puids(NamedTuple):
    real: int
    effective: int
    saved: int


class pgids(NamedTuple):
    real: int
    effective: int
    saved: int


class pionice(NamedTuple):
    ioclass: Union[IOPriority, int]
    value: int


class pthread(NamedTuple):
    id: int
    user_time: float
    system_time: float


class popenfile(NamedTuple):
    path: str
    fd: int
    position: int
    mode: str
    flags: int


class ppagefaults(NamedTuple):
    minor: int
    major: int


class addr(NamedTuple):
    ip: str
    port: int


class pconn(NamedTuple):
    fd: int
    family: Union[socket.AddressFamily, int]
    type: Union[socket.SocketKind, int]
    laddr: Union[addr, Tuple[()], str]
    raddr: Union[addr, Tuple[()], str]
    status: str


class spressure(NamedTuple):
    avg10: float
    avg60: float
    avg300: float
    total: float


class smempressure(NamedTuple):
    some: spressure
    full: spressure


class scgroupmem(NamedTuple):
    version: int
    path: str
    directory: str
    limit: Optional[int]
    usage: int
    working_set: int
    peak: Optional[int]
    swap_usage: Optional[int]
    swap_limit: Optional[int]
    oom: Optional[int]
    oom_kill: Optional[int]
    pressure: Optional[smempressure]


class pscan(NamedTuple):
    pid: int
    username: str
    name: str
    cmdline: List[str]
    uss: int
    pss: int
    swap: int
    rss: int
    vms: int


class smemscan(NamedTuple):
    processes: List[pscan]
    access_denied: List[int]
    errors: List[Tuple[int, str]]


def virtual_memory() -> svmem: ...
def swap_memory() -> sswap: ...
def heap_info() -> pheap: ...
def heap_trim() -> None: ...
def pids() -> List[int]: ...
def pid_exists(pid: int) -> bool: ...
def boot_time() -> float: ...
def disk_io_counters(perdisk: bool = ..., nowrap: bool = ...
                     ) -> Union[Optional[sdiskio], Dict[str, sdiskio]]: ...
def net_if_addrs() -> Dict[str, List[snicaddr]]: ...
def cgroup_memory() -> Optional[scgroupmem]: ...
def memory_scan() -> smemscan: ...
def process_iter(attrs: Optional[Iterable[str]] = ..., ad_value: Any = ...
                 ) -> Iterator["Process"]: ...


class Process(_native.Process):
    info: Dict[str, Any]
    def __init__(self, pid: Optional[int] = ...) -> None: ...
    @property
    def pid(self) -> int: ...
    def oneshot(self) -> ContextManager[None]: ...
    def as_dict(self, attrs: Optional[Iterable[str]] = ..., ad_value: Any = ...
                ) -> Dict[str, Any]: ...
    def is_running(self) -> bool: ...
    def parent(self) -> Optional["Process"]: ...
    def parents(self) -> List["Process"]: ...
    def children(self, recursive: bool = ...) -> List["Process"]: ...
    def name(self) -> str: ...
    def exe(self) -> str: ...
    def cmdline(self) -> List[str]: ...
    def cwd(self) -> str: ...
    def create_time(self) -> float: ...
    def ppid(self) -> int: ...
    def status(self) -> str: ...
    def username(self) -> str: ...
    def uids(self) -> puids: ...
    def gids(self) -> pgids: ...
    def terminal(self) -> Optional[str]: ...
    def nice(self) -> int: ...
    def ionice(self, ioclass: None = ..., value: None = ...) -> pionice: ...
    def cpu_affinity(self) -> List[int]: ...
    def cpu_num(self) -> int: ...
    def cpu_times(self) -> pcputimes: ...
    def num_threads(self) -> int: ...
    def num_fds(self) -> int: ...
    def num_ctx_switches(self) -> pctxsw: ...
    def io_counters(self) -> pio: ...
    def page_faults(self) -> ppagefaults: ...
    def threads(self) -> List[pthread]: ...
    def open_files(self) -> List[popenfile]: ...
    def net_connections(self, kind: str = ...) -> List[pconn]: ...
    def environ(self) -> Dict[str, str]: ...
    def rlimit(self, resource: int, limits: None = ...) -> Tuple[int, int]: ...
    def memory_info(self) -> pmem: ...
    def memory_info_ex(self) -> pmem_ex: ...
    def memory_footprint(self) -> pfootprint: ...
    def memory_full_info(self) -> pfullmem: ...
    def memory_maps(self, grouped: bool = ...) -> Union[List[pmmap_grouped], List[pmmap_ext]]: ...
    def memory_percent(self, memtype: str = ...) -> float: ...
