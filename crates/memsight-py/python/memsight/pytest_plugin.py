"""memsight.leak for pytest (no unittest needed); registered through the ``pytest11`` entry point,
so installing memsight is enough.

The ``leaks`` fixture is MemoryLeakTestCase.execute / execute_w_exc::

    def test_parse_does_not_leak(leaks):
        leaks(mymod.parse, b"data")                   # raises MemoryLeakError, UnclosedFdError...
        leaks.raises(ValueError, mymod.parse, b"")   # every call must raise ValueError
        leaks(mymod.parse, b"data", times=500, tolerance={"rss": 4096})

The ``leaks`` marker runs the test body itself repeatedly (its fixtures are made once), with
execute()'s keyword arguments::

    @pytest.mark.leaks(warmup_times=20)
    def test_roundtrip(tmp_path):
        mymod.load(mymod.dump({"a": 1}))

On the fixture the marker's arguments are the defaults of every call.
"""

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "leaks(**execute_kwargs): call the test body repeatedly under memsight.leak and fail "
        "on memory growth or unclosed resources (execute()'s arguments: times, warmup_times, "
        "retries, tolerance, checkers, trim_callback)")


class Leaks:
    """What the ``leaks`` fixture returns: call it like MemoryLeakTestCase.execute."""

    def __init__(self, defaults):
        from memsight.leak import MemoryLeakTestCase

        class _Case(MemoryLeakTestCase):
            def runTest(self):
                pass

        self._case = _Case()
        self._defaults = defaults

    def __call__(self, fun, *args, **kwargs):
        """Calls ``fun(*args)`` repeatedly; raises a memsight.leak.Error on a leak."""
        __tracebackhide__ = True  # pytest shows the caller's line, not the harness
        self._case.execute(fun, *args, **{**self._defaults, **kwargs})

    def raises(self, exc, fun, *args, **kwargs):
        """Like calling the fixture, for a function that must raise ``exc`` on every call."""
        __tracebackhide__ = True  # pytest shows the caller's line, not the harness
        self._case.execute_w_exc(exc, fun, *args, **{**self._defaults, **kwargs})


def _marker_kwargs(node):
    marker = node.get_closest_marker("leaks")
    if marker is None:
        return None
    if marker.args:
        raise TypeError("@pytest.mark.leaks takes keyword arguments only (execute()'s)")
    return dict(marker.kwargs)


@pytest.fixture
def leaks(request):
    """memsight.leak's execute() for a plain pytest test: ``leaks(fun, *args, **opts)``."""
    return Leaks(_marker_kwargs(request.node) or {})


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    __tracebackhide__ = True  # pytest shows the caller's line, not the harness
    kwargs = _marker_kwargs(pyfuncitem)
    if kwargs is None or "leaks" in pyfuncitem.fixturenames:
        return None
    funcargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    body = pyfuncitem.obj

    def run():
        __tracebackhide__ = True  # pytest shows the caller's line, not the harness
        body(**funcargs)

    run.__qualname__ = pyfuncitem.name
    Leaks({})(run, **kwargs)
    return True
