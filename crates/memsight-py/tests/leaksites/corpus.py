"""The leak-site corpus: leaksites.c (a C extension) and helperlib.c (a shared library it
links), built with -g into a directory of the caller's, and where each leak must be named.

Each leak's line is found by its ``LEAK-SITE <case>`` marker in the C source, never hard-coded;
``site(case)`` returns ``(function, file, line)``. Used by tests/test_leak_sites.py and
scripts/bench-leak-sites.py.
"""

import os
import re
import shutil
import subprocess
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = ("leaksites.c", "helperlib.c")

# case -> (function of the extension module to call, function the site must name, source file)
LEAKS = {
    "malloc_helper": ("malloc_helper", "leak_helper", "leaksites.c"),
    "calloc": ("calloc_leak", "calloc_leak", "leaksites.c"),
    "realloc_null": ("realloc_null_leak", "realloc_null_leak", "leaksites.c"),
    "strdup": ("strdup_leak", "strdup_leak", "leaksites.c"),
    "mmap": ("mmap_leak", "mmap_leak", "leaksites.c"),
    "pymem_malloc": ("pymem_leak", "pymem_leak", "leaksites.c"),
    "list_no_decref": ("list_no_decref", "list_no_decref", "leaksites.c"),
    "bytes_no_decref": ("bytes_no_decref", "bytes_no_decref", "leaksites.c"),
    "lib_malloc": ("lib_malloc", "helperlib_alloc", "helperlib.c"),
}

# Clean twins of the extension (the Python ones, lru_cache and re.compile, are in the tests).
CLEAN = ("malloc_free", "cache64", "thread_spawn_join")

_MARKER = re.compile(r"LEAK-SITE (\w+)")


def markers():
    """``{case: (file, line)}`` for every LEAK-SITE marker in the sources (1-based lines)."""
    found = {}
    for name in SOURCES:
        with open(os.path.join(HERE, name)) as f:
            for n, text in enumerate(f, 1):
                m = _MARKER.search(text)
                if m:
                    if m.group(1) in found:
                        raise ValueError(f"marker {m.group(1)} twice")
                    found[m.group(1)] = (name, n)
    return found


def site(case):
    """Where ``case`` must be named: ``(function, file base name, line)``."""
    _, function, source = LEAKS[case]
    file, line = markers()[case]
    assert file == source, (case, file, source)
    return function, file, line


def compiler():
    """The C compiler to use, or None."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shutil.which(cc.split()[0]) or shutil.which("cc")


def build(dest):
    """Compiles helperlib.c into ``dest/libleaksites_helper.so`` and leaksites.c into the
    ``leaksites`` extension module in ``dest`` (linked to the library by rpath); returns
    ``dest`` (put it on sys.path). Sources are compiled by absolute path, so the debug info
    names them where they are."""
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (set CC)")
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        raise RuntimeError(f"Python.h not found in {include}: install the interpreter's headers "
                           "(Debian: python3-dev, which scripts/setup.sh installs)")
    dest = os.path.abspath(dest)
    flags = ["-g", "-O0", "-shared", "-fPIC"]
    lib = os.path.join(dest, "libleaksites_helper.so")
    subprocess.run([cc, *flags, os.path.join(HERE, "helperlib.c"), "-o", lib], check=True)
    ext = os.path.join(dest, "leaksites" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run([cc, *flags, "-I", include, os.path.join(HERE, "leaksites.c"), "-o", ext,
                    "-L", dest, "-lleaksites_helper", f"-Wl,-rpath,{dest}", "-lpthread"],
                   check=True)
    return dest


if __name__ == "__main__":
    import sys

    print(build(sys.argv[1] if len(sys.argv) > 1 else HERE))
