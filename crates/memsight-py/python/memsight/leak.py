"""memsight.leak: psleak's MemoryLeakTestCase on memsight-leak's engine (a first cut: execute()).

The verdict is memsight-leak's (batches, sign test and slope interval, fd/thread settle, memory
budget), with the interpreter's allocated blocks and Python threads as extra probes, so it works
under the default pymalloc allocator.
"""

import unittest

from . import _native

__all__ = ["Error", "MemoryLeakError", "UnclosedResourceError", "UnclosedFdError",
           "UnclosedNativeThreadError", "UnclosedPythonThreadError", "MemoryLeakTestCase"]


class Error(AssertionError):
    """Base class of memsight.leak's failures (psleak.Error)."""


class MemoryLeakError(Error):
    """Memory kept growing."""


class UnclosedResourceError(Error):
    """A resource stayed open."""


class UnclosedFdError(UnclosedResourceError):
    """File descriptors stayed open."""


class UnclosedNativeThreadError(UnclosedResourceError):
    """OS threads stayed alive."""


class UnclosedPythonThreadError(UnclosedResourceError):
    """Python threads stayed alive."""


_KINDS = {
    "memory": MemoryLeakError,
    "fds": UnclosedFdError,
    "threads": UnclosedNativeThreadError,
    "py_threads": UnclosedPythonThreadError,
    "children": UnclosedResourceError,
}


class MemoryLeakTestCase(unittest.TestCase):
    """A unittest.TestCase with psleak's execute()."""

    def execute(self, fun, *args, **kwargs):
        """Calls fun(*args, **kwargs) repeatedly; raises a memsight.leak.Error on a leak."""
        name = getattr(fun, "__qualname__", repr(fun))
        kind, report = _native.leak_check(lambda: fun(*args, **kwargs), name)
        if kind != "ok":
            raise _KINDS.get(kind, Error)(report)
