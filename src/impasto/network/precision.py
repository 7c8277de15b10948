"""Which precision the network runs in: bf16 where the device computes it natively, else fp32.

bfloat16 convolutions are about 1.6x faster than fp32 on CPUs with AVX-512 BF16 or AMX
(benchmarks/RESULTS.md) and several times slower on CPUs without them (AVX2 only), where they
are emulated. ``auto`` asks what the CPU reports, so the default is the fast one everywhere.
On a GPU, ``auto`` is bf16 on NVIDIA Ampere and newer (tensor cores) and fp32 elsewhere (older
cards emulate it; Apple's MPS is not measured). Never fp16: Gram matrices overflow its range.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from .. import devices

if TYPE_CHECKING:
    import torch

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU's feature flags (Linux ``/proc/cpuinfo``); empty where they cannot be read."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return flags


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX)."""
    return any(flag in cpu_flags() for flag in NATIVE_BF16_FLAGS)


def resolve(
    precision: str, flags: set[str] | None = None, device: torch.device | None = None
) -> str:
    """``fp32`` or ``bf16`` for a requested precision (``auto``, ``fp32`` or ``bf16``) on
    ``device`` (default: the CPU, whose ``flags`` may be given)."""
    if precision != "auto":
        return precision
    if device is not None and (gpu := devices.native_bf16(device)) is not None:
        return "bf16" if gpu else "fp32"
    native = native_bf16() if flags is None else any(f in flags for f in NATIVE_BF16_FLAGS)
    return "bf16" if native else "fp32"
