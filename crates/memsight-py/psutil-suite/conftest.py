"""pytest glue for psutil 7.2.2's own tests run against memsight (scripts/test-psutil.sh).

- Deselects every test listed in set-aside.txt (each entry says why: psutil internals, mocks of
  psutil's modules, APIs memsight does not claim, other platforms). The count is reported as
  "deselected".
- psutil's helpers loop over every Process method (``process_namespace.all``) in some tests of
  claimed getters (a zombie's or a gone process's getters): the methods memsight does not claim
  (the setters, ``cpu_percent``) are taken out of those loops, not the tests. Every getter
  memsight has stays in.
"""

import fnmatch
import os

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))


def _set_aside():
    patterns = []
    with open(os.environ.get("PSUTIL_SET_ASIDE", os.path.join(_HERE, "set-aside.txt"))) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                patterns.append(line)
    return patterns


def pytest_configure(config):
    import memsight
    import tests

    claimed = set(dir(memsight.Process))
    ns = tests.process_namespace
    ns.utils = [u for u in ns.utils if u[0] in claimed]
    ns.setters = []
    ns.all = ns.utils + ns.getters + ns.setters + ns.killers


def pytest_collection_modifyitems(config, items):
    patterns = _set_aside()
    keep, drop = [], []
    for item in items:
        nodeid = item.nodeid
        if any(fnmatch.fnmatchcase(nodeid, p) or nodeid.startswith(p + "::")
               or nodeid == p for p in patterns):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
