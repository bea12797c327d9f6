"""Type stubs for memsight.leak (psleak 0.1.6's API on memsight's leak engine)."""

import os
import unittest
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, List, NamedTuple, Optional, Tuple, Type, Union

__all__ = [
    "Error", "MemoryLeakError", "UnclosedResourceError", "UnclosedFdError",
    "UnclosedHandleError", "UnclosedHeapCreateError", "UnclosedNativeThreadError",
    "UnclosedPythonThreadError", "UncollectableGarbageError", "UnclosedChildProcessError",
    "Checkers", "LeakTest", "GCDebugger", "MemoryLeakTestCase",
    "pfd", "popenfile", "pconn", "addr", "pthread", "pchild",
]

_Tolerance = Union[int, Dict[str, int]]

class Report(str):
    verdict: Optional[str]
    calls: int
    elapsed: float
    metrics: List[Dict[str, Any]]
    sites: List[Dict[str, Any]]
    notes: List[str]
    def to_dict(self) -> Dict[str, Any]: ...

class Error(AssertionError):
    report: Optional[Report]

class UnclosedResourceError(Error):
    resource_name: ClassVar[str]
    verb: ClassVar[str]
    count: int
    fun_name: str
    extras: Optional[List[Any]]
    def __init__(self, count: int, fun_name: str, extras: Optional[List[Any]] = ...,
                 report: Optional[str] = ...) -> None: ...

class UnclosedFdError(UnclosedResourceError): ...
class UnclosedHandleError(UnclosedResourceError): ...
class UnclosedHeapCreateError(UnclosedResourceError): ...
class UnclosedNativeThreadError(UnclosedResourceError): ...
class UnclosedPythonThreadError(UnclosedResourceError): ...
class UncollectableGarbageError(UnclosedResourceError): ...
class UnclosedChildProcessError(UnclosedResourceError): ...

class MemoryLeakError(Error):
    def __init__(self, msg: str, report: Optional[str] = ...) -> None: ...

@dataclass(frozen=True)
class Checkers:
    memory: bool = ...
    fds: bool = ...
    handles: bool = ...
    c_threads: bool = ...
    py_threads: bool = ...
    gcgarbage: bool = ...
    children: bool = ...
    @classmethod
    def only(cls, *names: str) -> "Checkers": ...
    @classmethod
    def exclude(cls, *names: str) -> "Checkers": ...

class LeakTest:
    fun: Callable[..., Any]
    args: Tuple[Any, ...]
    execute_kwargs: Dict[str, Any]
    def __init__(self, fun: Callable[..., Any], *args: Any, **execute_kwargs: Any) -> None: ...

class GCDebugger:
    TRANSIENT_TYPES: ClassVar[Tuple[type, ...]]
    SCALAR_TYPES: ClassVar[Tuple[type, ...]]
    before: List[Any]
    after: List[Any]
    def __enter__(self) -> "GCDebugger": ...
    def __exit__(self, *exc: Any) -> None: ...
    def is_transient(self, obj: Any, _seen: Optional[set] = ...) -> bool: ...
    def leaked_objects(self) -> List[Any]: ...
    def check(self, fun: Callable[..., Any]) -> None: ...

class pfd(NamedTuple):
    fd: int
    path: str

class popenfile(NamedTuple):
    path: str
    fd: int
    position: int
    mode: str
    flags: int

class addr(NamedTuple):
    ip: str
    port: int

class pconn(NamedTuple):
    fd: int
    family: Any
    type: Any
    laddr: Any
    raddr: Any
    status: str

class pthread(NamedTuple):
    id: int
    user_time: float
    system_time: float

class pchild(NamedTuple):
    pid: int
    name: str
    status: str

def qualname(obj: Any) -> str: ...
def warm_caches() -> None: ...
def format_run_line(idx: int, deltas: List[Tuple[str, int]], calls: int,
                    byte_metrics: Tuple[str, ...] = ...,
                    verdict_metric: Optional[str] = ...) -> str: ...

class MemoryLeakTestCase(unittest.TestCase):
    warmup_times: ClassVar[int]
    times: ClassVar[int]
    retries: ClassVar[int]
    tolerance: ClassVar[_Tolerance]
    trim_callback: ClassVar[Optional[Callable[[], Any]]]
    checkers: ClassVar[Checkers]
    verbosity: ClassVar[int]
    plot_dir: ClassVar[Optional[Union[str, "os.PathLike[str]"]]]
    sites: ClassVar[bool]
    def __init_subclass__(cls, **kwargs: Any) -> None: ...
    @classmethod
    def auto_generate(cls) -> Dict[str, LeakTest]: ...
    def call(self, fun: Callable[[], Any]) -> Any: ...
    def execute(self, fun: Callable[..., Any], *args: Any, warmup_times: Optional[int] = ...,
                times: Optional[int] = ..., retries: Optional[int] = ...,
                tolerance: Optional[_Tolerance] = ...,
                trim_callback: Optional[Callable[[], Any]] = ...,
                checkers: Optional[Checkers] = ...) -> None: ...
    def execute_w_exc(self, exc: Union[Type[BaseException], Tuple[Type[BaseException], ...]],
                      fun: Callable[..., Any], *args: Any, **kwargs: Any) -> None: ...
