"""Builds leakext.c into DEST with the running interpreter's headers (a C compiler needed)."""

import os
import shutil
import subprocess
import sys
import sysconfig

HERE = os.path.dirname(os.path.abspath(__file__))

# The leaks psleak misses, each with its clean twin (the same allocations, released).
PAIRS = [
    ("malloc_1_every_10", "malloc_1_every_10_freed"),
    ("malloc_1024_every_64", "malloc_1024_every_64_freed"),
    ("tuple_no_decref", "tuple_decref"),
    ("tuple_no_decref_every_10", "tuple_decref_every_10"),
]


def compiler():
    """The C compiler to use, or None."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()[0]
    return shutil.which(cc) or shutil.which("cc")


def build(dest):
    """Compiles the extension into `dest` and returns `dest` (put it on sys.path)."""
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (set CC)")
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        raise RuntimeError(f"Python.h not found in {include}: install the interpreter's headers "
                           "(Debian: python3-dev, which scripts/setup.sh installs)")
    out = os.path.join(dest, "leakext" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-I", include,
                    os.path.join(HERE, "leakext.c"), "-o", out], check=True)
    return dest


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else HERE))
