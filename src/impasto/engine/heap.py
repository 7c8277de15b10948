"""Keep freed memory in the process, so each evaluation does not fault in fresh pages.

One evaluation at 512 px allocates and frees tens of activations of 10 to 50 MB. glibc gives
blocks above its mmap threshold (at most 32 MB) back to the kernel on every ``free`` and maps
them again on the next ``malloc``, and the kernel zeroes every page at its first touch: on a
2-core AMD EPYC (2026-12-04) one float32 evaluation faulted in some 470 MB of fresh pages, and
the default run took 1.12x (float32) and 1.07x (bfloat16) the time it takes when freed memory
stays in the heap (``benchmarks/RESULTS.md``). ``keep_freed_memory`` asks glibc to serve
every block from its heap and to keep what is freed there; after a few evaluations the heap
has settled and an evaluation faults no pages. Peak memory stayed the same (a 1024 px run:
3.40 GB either way); the process holds its peak size from then on, instead of giving it back
between evaluations.

The setting is the whole process's, so the library never makes it: a front end opts in
(``jobs.tune_process``) before it paints. A process that stays up between runs (the web page's
server) calls ``give_back`` once it has nothing left to paint, so that an idle server does not
hold the memory of its biggest painting.

glibc only (``mallopt``, ``malloc_trim``); elsewhere, or with ``IMPASTO_KEEP_HEAP=0``, nothing
changes.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform

M_TRIM_THRESHOLD = -1  # <malloc.h>: free memory at the heap's top kept up to this many bytes
M_MMAP_MAX = -4  # <malloc.h>: how many blocks may be mmap-ed at once (0: none, all from heap)
KEEP_BYTES = 2**31 - 1  # the largest value mallopt takes (an int): 2 GB kept at the top


def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc and the setting is wanted, else None."""
    if os.environ.get("IMPASTO_KEEP_HEAP", "1") == "0":
        return None
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


@functools.cache
def keep_freed_memory() -> bool:
    """Serve big blocks from glibc's heap and keep freed memory in it (once per process).

    Returns whether the setting took effect: False on other C libraries, when
    ``IMPASTO_KEEP_HEAP=0``, or when glibc refused.
    """
    libc = _glibc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 on error
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))


def give_back() -> bool:
    """Hand the heap's free memory back to the kernel (every arena); whether any was."""
    libc = _glibc()
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return False
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return bool(trim(0))
