"""The names test_linux.py imports from psutil's Linux backend at module level. memsight has no
such module: the tests that use these internals are set aside (set-aside.txt); these stand-ins
only let the module import."""

import os

from ._common import open_binary  # noqa: F401

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def calculate_avail_vmem(mems):
    raise NotImplementedError("psutil internal: not in memsight")


class RootFsDeviceFinder:
    def __init__(self):
        raise NotImplementedError("psutil internal: not in memsight")
