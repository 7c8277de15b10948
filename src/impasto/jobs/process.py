"""What a front end's process opts into: torch's threads, the heap policy, a CPU's name.

The library's core changes nothing outside its results; a front end (the command line, the
web page's painter, a batch's worker, a clip) asks for the process-wide settings here before
it paints.
"""

from __future__ import annotations

import torch

from .. import devices
from ..engine import heap


def tune_process(threads: int | None = None, *, keep_heap: bool = True) -> None:
    """What a front end's process opts into before it paints (the library never does it):
    torch's CPU threads (None: torch's own choice), and with ``keep_heap`` freed memory kept
    in the heap for the next evaluation (``engine/heap.py``; glibc only, and
    ``IMPASTO_KEEP_HEAP=0`` leaves it). A server asks for the heap only once it paints."""
    if threads:
        torch.set_num_threads(threads)
    if keep_heap:
        heap.keep_freed_memory()


def release_memory() -> bool:
    """Hand the heap's free memory back to the system (a server with nothing left to paint)."""
    return heap.give_back()


def cpu_model() -> str:
    """The CPU's model name, as the speed store keys it."""
    return devices.cpu_model()
