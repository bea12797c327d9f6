"""memsight.leak: psleak's API (0.1.6) on memsight's leak engine.

Replace ``from psleak import MemoryLeakTestCase`` with ``from memsight.leak import
MemoryLeakTestCase``: the class attributes, ``execute()``, ``execute_w_exc()``, ``Checkers``,
``LeakTest``/``auto_generate()`` and the exception classes are psleak's. The verdict is made by
memsight-leak (Rust): a first call, a warm-up, two one-call windows for resources, then batches
of calls; a leak when a figure grew in 7 of the last 8 batches and the slope's 95% interval is
above zero, a pass after 3 batches with no growth (no noise floor on exact figures). Each sample
fills glibc's tcache to a fixed state first, so small chunks it caches do not hide a leak.

What it watches, beside psleak's heap/mmap/rss/vms (psleak's uss: see ``checkers`` below):

- ``py_blocks``: ``sys.getallocatedblocks()``, the interpreter's allocated blocks. A missing
  ``Py_DECREF`` on a small object stays inside pymalloc's arenas, where the native heap cannot
  see it; this count does, so ``PYTHONMALLOC=malloc`` is not needed (psleak skips every test
  without it).
- ``maps``/``maps_anon``: mappings and anonymous mapped bytes (raw ``mmap()`` leaks).
- ``fds``, ``threads`` (OS threads), ``children`` (child processes never waited for),
  ``py_threads`` (``threading.active_count()``) and ``gc_garbage`` (objects only the cyclic gc
  could free, frames, tracebacks, exceptions and scalars excepted, as psleak's GCDebugger): all
  compared after a goleak-style settle, so a ``threading.Thread`` started and joined is never
  blamed. Resources opened by the very first call are reported, not blamed (lazy pools).

Before every sample: the ``trim_callback``, stdio flushed, ``linecache`` cleared and the cyclic
gc run (with every object older than the check frozen by ``gc.freeze()``, so a collection costs
microseconds, not the whole heap).

psleak's knobs, mapped onto the engine:

=================  ==========================================================================
``warmup_times``   warm-up calls after the first call (exactly).
``times``          calls in the first batch; batches double up to 4 x ``times`` while something
                   grows (a filling cache gets room to stop), or stay at ``times`` when a
                   ``tolerance`` is set, so that it keeps meaning "bytes per ``times`` calls".
``retries``        the call budget: as many calls as psleak's ``retries`` runs would make
                   (``times``, then x1.5 each run) up to memsight's 131,072, and at least 16 of
                   the largest batches. The verdict itself needs no retries.
``tolerance``      bytes per run (= per batch) that still count as no growth: an int for every
                   metric, or a dict with psleak's keys ``heap``, ``mmap``, ``uss``, ``rss``,
                   ``vms`` (missing keys: 0) and memsight's ``maps_anon`` (default: the ``vms``
                   tolerance), ``maps`` (``vms`` / 4096) and ``py_blocks`` (the smallest byte
                   tolerance / 16: a block is at least 16 bytes). Fds, threads and gc garbage
                   have none.
``trim_callback``  called before every sample.
``checkers``       ``memory``: heap, mmap, rss, vms, maps, maps_anon, py_blocks (not uss: each
                   reading walks every page table, a third of the CPU of psleak's suite, and a
                   leak's pages show in rss as well; a ``uss`` tolerance is accepted); ``fds``;
                   ``c_threads``: OS threads; ``py_threads``; ``gcgarbage``; ``children``
                   (memsight's own); ``handles``: Windows only, ignored here.
``verbosity``      1: a progress line per batch on stderr; 2: every warm-up piece and window.
``sites``          memsight's own: after a memory leak verdict (Linux), a few more batches of
                   calls with the C allocators and Python's (PEP 445) hooked name the
                   allocation stacks whose live bytes grew with the calls, as
                   ``function (file.c:LINE)`` under the message's first line and in
                   ``report.sites``; ``False`` skips them (no extra calls).
``plot_dir``       memsight's own: a directory where a failed memory check draws its batches
                   (growth per batch, the fitted slope and its interval) as ``NAME.svg``;
                   ``None`` (the default) leaves it to ``MEMSIGHT_LEAK_PLOT_DIR``, if set.
=================  ==========================================================================

Under ``PYTHONMALLOC=malloc`` the interpreter's own objects live in glibc's heap, whose in-use
bytes can creep for thousands of calls without any allocation a Python allocator domain sees
(measured: text-mode ``open(path).read()`` leaves 66-174 more live glibc blocks, 5-13 KB, over its
first ~1,000 calls, counted by an LD_PRELOAD shim, while tracemalloc sees nothing; memsight
reports it as growth where psleak's 16-byte floor hides it). Run under
the default allocator, where ``py_blocks`` is exact, or raise ``warmup_times`` (3,000 makes
that one pass, 3 runs of 3).

A failure message keeps psleak's form (``memory kept increasing ...`` with one ``Run #`` line per
batch; ``detected 1 unclosed file descriptor after calling 'fun' 1 time:`` with the culprits,
found by one more call bracketed by listings) and adds memsight's figures: growth per call with
its 95% interval, total, in how many batches it grew. A ``Run #`` line's ``avg/call`` is the
growth of the metric that made the verdict, in its own unit (``+1 py_blocks``, ``+528 B heap``).
After a memory leak verdict (Linux; ``sites``) the message's second line starts the leaking
allocation sites, most bytes per call first, each as ``+1,024 B/call, 1 block/call
leak_helper (myext.c:41) <- build (myext.c:77) <- test_fun (test_myext.py:12)``: the innermost
frame of the user's code (C or Python) with the allocator or CPython function it called before
it. The exception's ``report`` attribute is memsight's :class:`Report`: its text, and its
figures and sites as JSON-serialisable attributes. Under pytest the harness's own frames are
hidden from the traceback (``__tracebackhide__``).
"""

import collections.abc
import functools
import gc
import linecache
import os
import sys
import threading
import types
import unittest
import warnings
from dataclasses import dataclass, fields

from . import _native
from ._culprits import addr, culprits as _culprits, pchild, pconn, pfd, popenfile, pthread

__all__ = [
    "Error", "MemoryLeakError", "UnclosedResourceError", "UnclosedFdError",
    "UnclosedHandleError", "UnclosedHeapCreateError", "UnclosedNativeThreadError",
    "UnclosedPythonThreadError", "UncollectableGarbageError", "UnclosedChildProcessError",
    "Checkers", "LeakTest", "GCDebugger", "MemoryLeakTestCase",
    # What an unclosed-resource error's `extras` hold.
    "pfd", "popenfile", "pconn", "addr", "pthread", "pchild",
]

# The metrics of psleak's `tolerance` dict, and memsight's own.
_PSLEAK_MEM = ("heap", "mmap", "uss", "rss", "vms")
_MEMSIGHT_MEM = ("maps", "maps_anon", "py_blocks")
# memsight-leak's own call budget: psleak's `retries` never raise it beyond this.
_CALL_BUDGET = 1 << 17
# The smallest block pymalloc hands out (bytes), to turn a byte tolerance into blocks.
_MIN_BLOCK = 16


# --- exceptions (psleak's names and attributes)


class Error(AssertionError):
    """Base class of every memsight.leak failure (psleak.Error)."""

    #: memsight's figures (a :class:`Report`: the text, with ``sites`` and the figures as
    #: attributes), or None.
    report = None

    def __str__(self):
        msg = super().__str__()
        return msg + "\n" + self.report if self.report else msg


class UnclosedResourceError(Error):
    """A resource the function opened is still open after it returned: ``count`` of them after
    one call of ``fun_name``, ``extras`` naming them (as psutil does: popenfile, pconn, pthread,
    Thread objects, the garbage objects)."""

    resource_name = "resource"
    verb = "unclosed"

    def __init__(self, count, fun_name, extras=None, report=None):
        self.count = count
        self.fun_name = fun_name
        self.extras = extras
        self.report = report
        name = self.resource_name + ("s" if count > 1 else "")
        msg = f"detected {count} {self.verb} {name} after calling {fun_name!r} 1 time"
        if extras:
            msg += ":" + "".join(f"\n* {e!r}" for e in extras)
        super().__init__(msg)


class UnclosedFdError(UnclosedResourceError):
    """File descriptors left open (a forgotten close())."""

    resource_name = "file descriptor"


class UnclosedHandleError(UnclosedResourceError):
    """Windows handles left open (psleak's; never raised on Linux)."""

    resource_name = "handle"


class UnclosedHeapCreateError(UnclosedResourceError):
    """HeapCreate() without HeapDestroy() (psleak's; never raised on Linux)."""

    resource_name = "HeapCreate() call"


class UnclosedNativeThreadError(UnclosedResourceError):
    """OS threads still running (pthread_create() without pthread_join())."""

    resource_name = "native C thread"


class UnclosedPythonThreadError(UnclosedResourceError):
    """``threading.Thread`` objects started and not joined."""

    resource_name = "Python thread"


class UncollectableGarbageError(UnclosedResourceError):
    """Objects only the cyclic garbage collector could free (reference cycles)."""

    resource_name = "GC object"
    verb = "uncollectable"


class UnclosedChildProcessError(UnclosedResourceError):
    """Child processes forked and never waited for (memsight's own)."""

    resource_name = "child process"
    verb = "unwaited"


class MemoryLeakError(Error):
    """Memory kept growing: malloc() without free(), mmap() without munmap(), a missing
    Py_DECREF."""

    def __init__(self, msg, report=None):
        self.report = report
        super().__init__(msg)


_UNCLOSED = {
    "fds": UnclosedFdError,
    "threads": UnclosedNativeThreadError,
    "py_threads": UnclosedPythonThreadError,
    "gc_garbage": UncollectableGarbageError,
    "children": UnclosedChildProcessError,
}


# --- small helpers (psleak's)


def qualname(obj):
    """A readable name for a function, method or class."""
    return getattr(obj, "__qualname__", getattr(obj, "__name__", str(obj)))


def warm_caches():
    """Fills CPython's one-character bytes/str and small-int caches (as CPython's refleak.py
    does), so their first use is not mistaken for growth."""
    s = bytes(range(256))
    for i in range(256):
        s[i:i + 1]
    [chr(i) for i in range(256)]
    list(range(-5, 257))


def _check_type(name, obj, types_):
    if not isinstance(obj, types_):
        exp = " or ".join(t.__name__ for t in types_) if isinstance(types_, tuple) \
            else types_.__name__
        raise TypeError(f"{name!r} must be instance of {exp} (got {obj!r})")


_warnings_emitted = False


def _emit_warnings():
    """Warns once when other Python threads run: process-wide figures include their work."""
    global _warnings_emitted
    if _warnings_emitted:
        return
    if threading.active_count() > 1:
        warnings.warn("active Python threads exist before test; memory/thread counts may be "
                      f"unreliable: {threading.enumerate()}", RuntimeWarning, stacklevel=3)
    _warnings_emitted = True


# --- the garbage check


class GCDebugger:
    """Finds objects that only the cyclic garbage collector can free (psleak's GCDebugger): a
    context manager that turns on ``gc.DEBUG_SAVEALL`` and keeps what a collection finds in
    ``after``. Frames, tracebacks, exceptions, the main thread, scalars and containers of only
    those are "transient" (a caught exception's cycle), not leaks."""

    TRANSIENT_TYPES = (types.FrameType, types.TracebackType,
                       type(threading.current_thread()), BaseException)
    SCALAR_TYPES = (int, float, bool, str, bytes, bytearray, complex, type(None))

    def __enter__(self):
        self._old_debug = gc.get_debug()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        self.before = list(gc.garbage)
        self.after = []
        gc.garbage.clear()
        return self

    def __exit__(self, *exc):
        gc.collect()
        self.after = list(gc.garbage)
        gc.garbage.clear()
        gc.set_debug(self._old_debug)

    def is_transient(self, obj, _seen=None):
        """Whether ``obj`` is expected garbage (see the class doc)."""
        seen = set() if _seen is None else _seen
        if id(obj) in seen:
            return True
        seen.add(id(obj))
        if isinstance(obj, self.TRANSIENT_TYPES + self.SCALAR_TYPES):
            return True
        if isinstance(obj, (list, tuple, set, frozenset)):
            return all(self.is_transient(o, seen) for o in obj)
        if isinstance(obj, dict):
            return all(self.is_transient(k, seen) and self.is_transient(v, seen)
                       for k, v in obj.items())
        return False

    def leaked_objects(self):
        """The objects found after the block that are neither old nor transient."""
        return [o for o in self.after
                if not any(o is b for b in self.before) and not self.is_transient(o)]

    def check(self, fun):
        """Raises UncollectableGarbageError if the block left garbage."""
        leaked = self.leaked_objects()
        if leaked:
            raise UncollectableGarbageError(len(leaked), qualname(fun), extras=leaked)


class _Collector:
    """Runs the cyclic gc before every sample; with ``count_garbage`` (the ``gcgarbage``
    checker) ``DEBUG_SAVEALL`` stays on during the check, so every object a collection (also an
    automatic one, mid-batch) finds is kept, counted unless transient, then freed by a second
    collection with it off. ``garbage`` is the running count: the ``gc_garbage`` probe."""

    def __init__(self, count_garbage):
        self.count_garbage = count_garbage
        self.garbage = 0
        self._transient = GCDebugger().is_transient

    def __enter__(self):
        self._debug = gc.get_debug()
        self._saved = list(gc.garbage)
        gc.garbage.clear()
        self._user_frozen = gc.get_freeze_count() > 0
        # Everything older than the check is out of the collector's sight (no full collection
        # first: that costs ~50 ms under pytest); a collection then costs what the function's
        # own objects cost, microseconds.
        gc.freeze()
        if self.count_garbage:
            gc.set_debug(self._debug | gc.DEBUG_SAVEALL)
        return self

    def __exit__(self, *exc):
        gc.set_debug(self._debug)
        gc.unfreeze()
        if self._user_frozen:
            # The caller had frozen objects itself (a pre-fork server, say): keep them frozen
            # (with the ones frozen here; unfreeze cannot tell them apart).
            gc.freeze()
        gc.garbage[:0] = self._saved

    def collect(self):
        gc.collect()
        if self.count_garbage and gc.garbage:
            self.garbage += sum(1 for o in gc.garbage if not self._transient(o))
            gc.garbage.clear()
            gc.set_debug(self._debug)
            gc.collect()
            gc.set_debug(self._debug | gc.DEBUG_SAVEALL)


# --- configuration


@dataclass(frozen=True)
class Checkers:
    """Which checks run (psleak's Checkers, plus ``children``). All on by default."""

    memory: bool = True
    fds: bool = True
    handles: bool = True
    c_threads: bool = True
    py_threads: bool = True
    gcgarbage: bool = True
    children: bool = True

    @classmethod
    def _names(cls, names):
        every = {f.name for f in fields(cls)}
        bad = set(names) - every
        if bad:
            raise ValueError(f"invalid checker names: {', '.join(sorted(bad))}")
        return every

    @classmethod
    def only(cls, *names):
        """Only these checks."""
        return cls(**{f: f in names for f in cls._names(names)})

    @classmethod
    def exclude(cls, *names):
        """Every check except these."""
        return cls(**{f: f not in names for f in cls._names(names)})


class LeakTest:
    """One entry of ``MemoryLeakTestCase.auto_generate()``: the function, its arguments and
    execute()'s keyword arguments."""

    __slots__ = ("args", "execute_kwargs", "fun")

    def __init__(self, fun, *args, **execute_kwargs):
        _check_type("fun", fun, collections.abc.Callable)
        self.fun = fun
        self.args = args
        self.execute_kwargs = dict(execute_kwargs)

    def _make_callable(self):
        return functools.partial(self.fun, *self.args) if self.args else self.fun


def _psleak_calls(times, retries):
    """Calls psleak makes over ``retries`` runs when growth persists (x1.5 per run)."""
    total = 0
    for _ in range(retries):
        total += times
        times = int(times * 1.5)
    return total


def _engine_options(warmup_times, times, retries, tolerance, checkers):
    """psleak's knobs as memsight-leak's options (the mapping in the module doc)."""
    if isinstance(tolerance, dict):
        tol = {k: tolerance.get(k, 0) for k in _PSLEAK_MEM}
    else:
        tol = dict.fromkeys(_PSLEAK_MEM, tolerance)
    extra = {"maps_anon": tol["vms"], "maps": tol["vms"] // 4096,
             "py_blocks": min(tol.values()) // _MIN_BLOCK}
    if isinstance(tolerance, dict):
        extra.update({k: v for k, v in tolerance.items() if k in _MEMSIGHT_MEM})
    tol.update(extra)
    max_batch = times if any(tol.values()) else 4 * times
    metrics = []
    if checkers.memory:
        metrics += ["heap", "mmap", "rss", "vms", "maps", "maps_anon"]
    if checkers.fds:
        metrics.append("fds")
    if checkers.c_threads:
        metrics.append("threads")
    if checkers.children:
        metrics.append("children")
    return {
        "warmup": warmup_times,
        "batch": times,
        "max_batch": max_batch,
        "call_budget": 1 + warmup_times + 2 + max(min(_psleak_calls(times, retries),
                                                       _CALL_BUDGET), 16 * max_batch),
        "checkers": metrics,
        "tolerance": [(k, v) for k, v in tol.items() if v and k != "py_blocks"],
        "py_blocks_tolerance": tol["py_blocks"],
    }


# --- the report


# Which leaking metric a run line's avg/call shows, first found first: exact figures before
# page-granular ones (rss, uss), so a missing Py_DECREF reads as blocks, not as RSS pages.
_VERDICT_ORDER = ("heap", "mmap", "maps_anon", "py_blocks", "vms", "maps", "uss", "rss")


def _per_call(delta, calls):
    """``delta / calls`` with at most two decimals and no trailing zeros (``+1``, ``+3.25``)."""
    text = f"{delta / calls:+.2f}".rstrip("0").rstrip(".")
    return "+0" if text in ("+", "-", "-0") else text


def format_run_line(idx, deltas, calls, byte_metrics=_PSLEAK_MEM + ("maps_anon",),
                    verdict_metric=None):
    """psleak's run line for one batch (``deltas``: ``(metric, change)`` pairs): the metrics that
    grew, then growth per call of ``verdict_metric`` (the metric that made the verdict) in its own
    unit, ``B`` for the ``byte_metrics`` (``avg/call=+1 py_blocks``, ``avg/call=+1040 B heap``);
    without one, of the largest byte metric that grew, in bytes (psleak's form)."""
    grew = [(k, v) for k, v in deltas if v > 0]
    parts = " | ".join(f"{k}={'+' + str(v):<6}" for k, v in grew)
    if verdict_metric is not None:
        delta = dict(deltas).get(verdict_metric, 0)
        unit = " B" if verdict_metric in byte_metrics else ""
        avg = f"{_per_call(delta, calls) if calls else '+0'}{unit} {verdict_metric}"
    else:
        byte_growth = [v for k, v in grew if k in byte_metrics]
        avg = "+" + str(max(byte_growth) // calls if byte_growth and calls else 0)
    return f"Run #{idx:>2}: {parts:<50} (calls={calls:>4}, avg/call={avg})"


def _verdict_metric(metrics):
    """The leaking metric a failed check's run lines show (``_VERDICT_ORDER``), or None."""
    leaking = [m[0] for m in metrics if m[7]]
    for name in _VERDICT_ORDER:
        if name in leaking:
            return name
    return leaking[0] if leaking else None


class Report(str):
    """memsight's report of a check: the text printed after psleak's message (a ``str``), with
    what it says as attributes, each JSON-serialisable (``to_dict()``):

    - ``verdict``: ``"clean"``, ``"bounded"`` or ``"leak"``; ``calls``; ``elapsed`` (s);
    - ``metrics``: one dict per metric that moved (``name``, ``per_call``, ``ci``, ``total``,
      ``grew``, ``batches``, ``leaking``, ``unit``: ``"B"`` or ``""``);
    - ``sites``: the leaking allocation sites, most bytes per call first, found by a few more
      batches of calls after a leak verdict with the allocators hooked (Linux): each a dict with
      ``bytes_per_call``, ``bytes_per_call_ci``, ``blocks_per_call``, ``grew``, ``batches``,
      ``calls``, ``live_bytes``, ``live_blocks``, ``domain`` (``malloc``, ``mmap``, ``py_raw``,
      ``py_mem``, ``py_obj``), ``allocator``, ``frames`` (innermost first: ``function``, ``file``
      (full path), ``line``, ``object``, ``offset``, ``kind``: ``user``, ``system``,
      ``runtime``, ``harness``) and ``site`` (the index in ``frames`` of the innermost frame of
      the user's code, the place of the leak; None when no frame is the user's);
    - ``notes``: what the report notes (what was not measured and why).
    """

    verdict = None
    calls = 0
    elapsed = 0.0
    metrics = ()
    sites = ()
    notes = ()

    def to_dict(self):
        """The attributes above as a dict (``json.dumps`` takes it), with ``text``."""
        return {"verdict": self.verdict, "calls": self.calls, "elapsed": self.elapsed,
                "metrics": list(self.metrics), "sites": list(self.sites),
                "notes": list(self.notes), "text": str(self)}


def _site_section(res):
    """The "leaking sites" lines of a failed check (none when no site was found)."""
    lines = res.get("site_lines") or []
    if not lines:
        return []
    return (["  leaking sites (live bytes that grew with every batch; caches that stopped "
             "growing are left out):"] + [f"    {line}" for line in lines])


def _figures(res):
    """memsight's per-call figures: one line per metric that moved, as a :class:`Report`."""
    lines = [f"memsight: {res['verdict'].upper()} after {res.get('calls', 0)} calls "
             f"({res.get('warmup_calls', 0)} warm-up + {len(res.get('batches', []))} batches) "
             f"in {res.get('elapsed', 0.0) * 1e3:.1f} ms"]
    metrics = []
    for name, per_call, lo, hi, total, grew, batches, leaking, is_bytes in res.get("metrics", []):
        if total == 0 and grew == 0 and not leaking:
            continue
        unit = " B" if is_bytes else ""
        lines.append(f"  {'* ' if leaking else '  '}{name:<10} {per_call:+.3f}{unit}/call "
                     f"(95% CI {lo:+.3f}..{hi:+.3f}), total {total:+}{unit}, "
                     f"grew in {grew}/{batches} batches")
        metrics.append({"name": name, "per_call": per_call, "ci": [lo, hi], "total": total,
                        "grew": grew, "batches": batches, "leaking": bool(leaking),
                        "unit": unit.strip()})
    lines.extend(f"  note: {n}" for n in res.get("notes", []))
    report = Report("\n".join(lines))
    report.verdict = res.get("verdict")
    report.calls = res.get("calls", 0)
    report.elapsed = res.get("elapsed", 0.0)
    report.metrics = metrics
    report.sites = list(res.get("sites") or [])
    report.notes = list(res.get("notes", []))
    return report


# --- the test case


class MemoryLeakTestCase(unittest.TestCase):
    """A unittest.TestCase with psleak's ``execute()``; see the module doc for how each class
    attribute maps onto memsight's engine."""

    # Warm-up calls before measuring (after one first call).
    warmup_times = 10
    # Calls in the first batch.
    times = 200
    # Sets the call budget (psleak: runs before giving up).
    retries = 10
    # Bytes of growth per batch (int, or dict by metric) that still count as none.
    tolerance = 0
    # Called before every sample, to free caches.
    trim_callback = None
    # Which checks run.
    checkers = Checkers()
    # 0: silent; 1: a progress line per batch on stderr; 2: more.
    verbosity = 0
    # Where a failed memory check is drawn as SVG (None: $MEMSIGHT_LEAK_PLOT_DIR, if set).
    plot_dir = None
    # After a memory leak verdict, name the allocation sites (a few more batches of calls with
    # the allocators hooked; Linux). False: the verdict alone, no extra calls.
    sites = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        warm_caches()

    @classmethod
    def auto_generate(cls):
        """Returns ``{name: LeakTest}``; each becomes a ``test_leak_<name>`` method. Override."""
        return {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        entries = cls.auto_generate()
        if not isinstance(entries, dict):
            raise TypeError(f"{cls.__name__}.auto_generate must return a dict")
        for name, entry in entries.items():
            if not isinstance(entry, LeakTest):
                raise TypeError(f"{cls.__name__}.auto_generate()[{name!r}] must be a LeakTest")
            test_name = f"test_leak_{name}"
            if test_name in cls.__dict__:
                raise RuntimeError(f"{cls.__name__} already defines {test_name}")
            setattr(cls, test_name, _generated(test_name, name, entry._make_callable(),
                                               dict(entry.execute_kwargs)))

    def call(self, fun):
        """Calls ``fun`` once (a hook subclasses may override)."""
        __tracebackhide__ = True  # pytest shows the caller's line, not the harness
        return fun()

    def _validate(self, warmup_times, times, retries, tolerance, trim_callback):
        __tracebackhide__ = True  # pytest shows the caller's line, not the harness
        _check_type("warmup_times", warmup_times, int)
        _check_type("times", times, int)
        _check_type("retries", retries, int)
        _check_type("tolerance", tolerance, (int, dict))
        if trim_callback is not None:
            _check_type("trim_callback", trim_callback, collections.abc.Callable)
        if warmup_times < 0:
            raise ValueError(f"warmup_times must be >= 0 (got {warmup_times})")
        if times < 2:
            raise ValueError(f"times must be >= 2 (got {times})")
        if retries < 1:
            raise ValueError(f"retries must be >= 1 (got {retries})")
        if isinstance(tolerance, int):
            if tolerance < 0:
                raise ValueError(f"tolerance must be >= 0 (got {tolerance!r})")
        else:
            for k, v in tolerance.items():
                if k not in _PSLEAK_MEM + _MEMSIGHT_MEM:
                    raise ValueError(f"invalid tolerance key {k!r}")
                _check_type(f"tolerance[{k!r}]", v, int)
                if v < 0:
                    raise ValueError(f"{k!r} tolerance must be >= 0 (got {v})")

    def execute(self, fun, *args, warmup_times=None, times=None, retries=None, tolerance=None,
                trim_callback=None, checkers=None):
        """Calls ``fun(*args)`` repeatedly and raises a memsight.leak.Error (an AssertionError)
        if memory keeps growing or a resource stays open. Keyword arguments override the class
        attributes of the same name."""
        __tracebackhide__ = True  # pytest shows the caller's line, not the harness
        pick = lambda v, default: default if v is None else v  # noqa: E731
        warmup_times = pick(warmup_times, self.warmup_times)
        times = pick(times, self.times)
        retries = pick(retries, self.retries)
        tolerance = pick(tolerance, self.tolerance)
        trim_callback = pick(trim_callback, self.trim_callback)
        checkers = pick(checkers, self.checkers)
        self._validate(warmup_times, times, retries, tolerance, trim_callback)
        _emit_warnings()
        if args:
            fun = functools.partial(fun, *args)
        opts = _engine_options(warmup_times, times, retries, tolerance, checkers)
        call = functools.partial(self.call, fun)
        if not (opts["checkers"] or checkers.py_threads or checkers.gcgarbage):
            call()
            return
        with _Collector(checkers.gcgarbage) as collector:
            res = _run(call, qualname(fun), opts, checkers, trim_callback, collector,
                       self.verbosity, self.plot_dir, bool(self.sites))
            if res["error"] == "unclosed":
                extras = _culprits(res["metric"], call, GCDebugger)
                count = len(extras) or res["count"]
                cls = _UNCLOSED.get(res["metric"], UnclosedResourceError)
                raise cls(count, qualname(fun), extras or res["items"], report=_figures(res))
        if res["error"] == "memory":
            in_bytes = tuple(m[0] for m in res["metrics"] if m[8])
            shown = _verdict_metric(res["metrics"])
            runs = [format_run_line(i, d, n, in_bytes, shown)
                    for i, (n, d) in enumerate(res["batches"], 1)]
            msg = "\n".join([f"memory kept increasing in {qualname(fun)!r} after {len(runs)} "
                             f"runs ({res['calls']} calls)", *_site_section(res), *runs])
            raise MemoryLeakError(msg, report=_figures(res))
        if res["error"] == "setup":
            raise RuntimeError(res["text"])
        if res["error"] is not None:
            raise Error(res["text"])

    def execute_w_exc(self, exc, fun, *args, **kwargs):
        """Like execute(), for a function that must raise ``exc`` on every call (its error path
        is what is checked); fails if a call does not raise it."""
        __tracebackhide__ = True  # pytest shows the caller's line, not the harness
        if args:
            fun = functools.partial(fun, *args)

        def call():
            __tracebackhide__ = True  # pytest shows the caller's line, not the harness
            try:
                self.call(fun)
            except exc:
                return
            self.fail(f"{qualname(fun)!r} did not raise {exc}")

        call.__qualname__ = qualname(fun)
        self.execute(call, **kwargs)


def _generated(test_name, name, fun, execute_kwargs):
    def test(self):
        __tracebackhide__ = True  # pytest shows the caller's line, not the harness
        self.execute(fun, **execute_kwargs)

    test.__name__ = test.__qualname__ = test_name
    test.__doc__ = f"Auto-generated leak test for {name}"
    return test


def _run(call, name, opts, checkers, trim_callback, collector, verbosity, plot_dir, sites=True):
    """The engine's check with the Python probes: the trim (callback, stdio, linecache, gc) runs
    before every sample, as the first probe's preparation."""
    __tracebackhide__ = True  # pytest shows the caller's line, not the harness

    def prepare():
        if trim_callback is not None:
            trim_callback()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        linecache.clearcache()
        collector.collect()

    probes = []
    if checkers.memory:
        probes.append(["py_blocks", "count", sys.getallocatedblocks, None,
                       opts["py_blocks_tolerance"]])
    if checkers.py_threads:
        probes.append(["py_threads", "resource", threading.active_count, None, 0])
    if checkers.gcgarbage:
        probes.append(["gc_garbage", "resource", lambda: collector.garbage, None, 0])
    if probes:
        probes[0][3] = prepare
    return _native.leak_check(
        call, name, warmup=opts["warmup"], batch=opts["batch"], max_batch=opts["max_batch"],
        call_budget=opts["call_budget"], checkers=opts["checkers"],
        tolerance=opts["tolerance"], probes=[tuple(p) for p in probes],
        verbosity=min(int(verbosity), 255),
        plot_dir=None if plot_dir is None else os.fspath(plot_dir), sites=sites)
