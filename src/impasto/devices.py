"""Which device paints: the CPU, an NVIDIA GPU (CUDA) or an Apple GPU (MPS), by one name.

``auto`` takes CUDA, then MPS, then the CPU, so a user with a GPU gets it without asking and a
CPU install behaves exactly as before. A device that is asked for and not there is refused in
one line that says why (a CPU-only torch, no GPU visible, no such index) before any work.

The names are checked without torch (``check_name``: the command line imports this for its
``--help``); everything that asks torch imports it inside the function.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    import torch

NAMES = "auto, cpu, cuda, cuda:N or mps"
_NAME = re.compile(r"(auto|cpu|mps|cuda)(?::(\d{1,4}))?")
GB = 1e9


class DeviceMissing(ConfigError):
    """A device was asked for that this machine or this build of torch does not have."""


def check_name(name: object) -> str:
    """``name`` if it is a device's name (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``),
    else ConfigError; says nothing of whether the device is there (``resolve`` does)."""
    text = name.strip().lower() if isinstance(name, str) else None
    found = _NAME.fullmatch(text) if text else None
    if found is None or (found.group(2) is not None and found.group(1) != "cuda"):
        raise ConfigError(f"device must be {NAMES}, got {name!r}")
    return text  # type: ignore[return-value]


def resolve(name: str) -> torch.device:
    """The torch device ``name`` stands for, or ``DeviceMissing`` saying why it is not there."""
    import torch

    name = check_name(name)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_built():
            raise DeviceMissing(
                f"device mps is not available: this torch ({torch.__version__}) was built "
                "without MPS (Apple GPUs); on a Mac, install torch from PyPI (README: On a GPU)"
            )
        if not _mps_available():
            raise DeviceMissing(
                "device mps is not available: MPS needs an Apple Silicon Mac with macOS 12.3 "
                "or newer; use --device cpu"
            )
        return torch.device("mps")
    if torch.version.cuda is None:
        raise DeviceMissing(
            f"device {name} is not available: this torch ({torch.__version__}) was built "
            "without CUDA; install a CUDA build of torch (README: On a GPU) or use --device cpu"
        )
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise DeviceMissing(
            f"device {name} is not available: torch {torch.__version__} (CUDA "
            f"{torch.version.cuda}) sees no NVIDIA GPU (driver, CUDA_VISIBLE_DEVICES?); use "
            "--device cpu"
        )
    index = int(name.partition(":")[2] or torch.cuda.current_device())
    if index >= count:
        have = ", ".join(f"cuda:{i}" for i in range(count))
        raise DeviceMissing(
            f"device {name} is not available: this machine has {count} CUDA "
            f"GPU{'s' if count > 1 else ''} ({have})"
        )
    return torch.device("cuda", index)


def _mps_built() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_built())


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@dataclass(frozen=True)
class About:
    """What a plan line and the speed store say of a device: its name and its memory."""

    device: str  # "cpu", "cuda:0", "mps"
    name: str  # the model: "NVIDIA H100 80GB HBM3", "Intel(R) Xeon(R) Processor"
    memory: float | None  # bytes the device has in all (None: the machine's RAM, the CPU's)

    def describe(self) -> str:
        """``cuda:0 (NVIDIA H100 80GB HBM3, 79.1 GB)``, ``cpu (AMD EPYC 7B13)``."""
        memory = f", {self.memory / GB:.1f} GB" if self.memory else ""
        return f"{self.device} ({self.name}{memory})"


@functools.cache
def about(device: torch.device) -> About:
    """The name and memory of ``device`` (read once per process)."""
    import torch

    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return About(str(device), props.name, float(props.total_memory))
    if device.type == "mps":
        total = getattr(torch.mps, "recommended_max_memory", None)
        return About("mps", "Apple GPU", float(total()) if total else None)
    return About("cpu", cpu_model(), None)


def cpu_model() -> str:
    """The CPU's model name (Linux), or the platform's word for it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware"):
                    return value.strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def free_memory(device: torch.device) -> float | None:
    """Bytes free on a GPU now; None for the CPU (the budget reads the machine's RAM)."""
    import torch

    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return float(free)
    if device.type == "mps":
        total = getattr(torch.mps, "recommended_max_memory", None)
        used = getattr(torch.mps, "driver_allocated_memory", None)
        if total is None or used is None:
            return None
        return float(max(0, total() - used()))
    return None


def native_bf16(device: torch.device) -> bool | None:
    """Whether a GPU computes bfloat16 natively (NVIDIA Ampere and newer); None for the CPU,
    whose answer is its instruction set's (``network/precision.py``). MPS: no, until measured."""
    import torch

    if device.type == "cuda":
        major, _ = torch.cuda.get_device_capability(device)
        return major >= 8
    if device.type == "mps":
        return False
    return None


def exact(device: torch.device) -> tuple[torch.device, torch.dtype]:
    """Where and in what float64 work on tensors of ``device`` is done: there, in float64;
    Apple's MPS has no float64, so its colour statistics (small) go to the CPU and its
    centred style sums stay float32 (``exact_dtype``)."""
    import torch

    return (torch.device("cpu") if device.type == "mps" else device), torch.float64


def exact_dtype(device: torch.device) -> torch.dtype:
    """float64 for sums that must stay exact on the device itself; float32 on MPS."""
    import torch

    return torch.float32 if device.type == "mps" else torch.float64


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is a device running out of memory (CUDA's own error, or MPS's)."""
    import torch

    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    if isinstance(error, oom):
        return True
    return isinstance(error, RuntimeError) and "MPS backend out of memory" in str(error)
