"""engine/heap.py: freed memory stays in the process, so an evaluation faults no fresh pages."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Page faults of the last 4 of 8 evaluations shaped like impasto's: two 64-channel
# convolutions at 384x512 (50 MB activations, above any mmap threshold glibc adapts to) and
# their backward. Without the setting glibc unmaps every freed activation and the next
# evaluation faults it in again (about 280 000 pages each); with it the heap settles after a
# few evaluations and then faults (almost) nothing.
CHILD = """
import json, resource, sys, torch
from impasto.engine.heap import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else False
torch.manual_seed(0)
w1, w2 = torch.randn(64, 3, 3, 3), torch.randn(64, 64, 3, 3)
def evaluation():
    x = torch.rand(1, 3, 384, 512, requires_grad=True)
    a = torch.relu(torch.conv2d(x, w1, padding=1))
    b = torch.relu(torch.conv2d(a, w2, padding=1))
    (b.square().mean() + a.square().mean()).backward()
faults = []
def evaluations():
    for _ in range(8):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        evaluation()
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
if sys.argv[2] == "thread":  # as the web page's painter runs: glibc gives it its own arena
    import threading
    painter = threading.Thread(target=evaluations)
    painter.start()
    painter.join()
else:
    evaluations()
print(json.dumps({"kept": kept, "faults": sum(faults[4:])}))
"""
ACTIVATION_PAGES = 64 * 384 * 512 * 4 // os.sysconf("SC_PAGE_SIZE")


def _last_evaluation(mode: str, where: str = "main", **env: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, where],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
@pytest.mark.parametrize("where", ["main", "thread"])
def test_an_evaluation_reuses_the_last_ones_memory_without_faulting_pages(where):
    plain = _last_evaluation("plain", where)
    kept = _last_evaluation("keep", where)
    assert not plain["kept"] and kept["kept"]
    assert plain["faults"] > 4 * ACTIVATION_PAGES  # activations given back, faulted in again
    assert kept["faults"] < plain["faults"] / 10  # the heap kept them


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_impasto_keep_heap_0_leaves_the_allocator_alone():
    off = _last_evaluation("keep", IMPASTO_KEEP_HEAP="0")
    assert not off["kept"]
    assert off["faults"] > 4 * ACTIVATION_PAGES


def test_the_library_never_asks_for_the_setting_a_front_end_does():
    child = (
        "import torch\n"
        "from impasto import jobs\n"
        "from impasto.engine.heap import keep_freed_memory\n"
        "from impasto.engine.optimise import minimise\n"
        "minimise(torch.ones(3, 4, 4), lambda x: (float((x * x).sum()), 2 * x), 2)\n"
        "print(keep_freed_memory.cache_info().currsize)\n"
        "jobs.tune_process(keep_heap=False)\n"
        "print(keep_freed_memory.cache_info().currsize)\n"
        "jobs.tune_process()\n"
        "print(keep_freed_memory.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "0", "1"]


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_give_back_returns_the_kept_memory_to_the_kernel():
    child = (
        "import json, resource, torch\n"
        "from impasto.engine import heap\n"
        "def rss():\n"
        "    with open('/proc/self/statm') as f:\n"
        "        return int(f.read().split()[1]) * resource.getpagesize() // 2**20\n"
        "assert heap.keep_freed_memory()\n"
        "blocks = [torch.ones(2**24) for _ in range(8)]  # 8 x 64 MB\n"
        "del blocks\n"
        "kept = rss()\n"
        "gave = heap.give_back()\n"
        "print(json.dumps({'kept': kept, 'after': rss(), 'gave': gave}))\n"
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
    sizes = json.loads(out.stdout)
    assert sizes["gave"]
    assert sizes["kept"] - sizes["after"] > 400  # MB: the freed blocks had stayed, now gone
