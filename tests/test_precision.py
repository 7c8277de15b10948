"""--precision auto: bf16 exactly where the CPU computes it natively."""

from __future__ import annotations

import pytest

from helpers import tiny_network
from impasto.config import StyleConfig
from impasto.cost.objective import Objective
from impasto.errors import ConfigError
from impasto.network import precision

XEON = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile\n\nprocessor\t: 1\n"
EPYC = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"


def test_flags_are_read_from_cpuinfo():
    assert {"avx512_bf16", "avx2"} <= precision.cpu_flags(XEON)
    assert "avx512_bf16" not in precision.cpu_flags(EPYC)
    assert precision.cpu_flags("") == set()


@pytest.mark.parametrize(("cpuinfo", "expected"), [(XEON, "bf16"), (EPYC, "fp32")])
def test_auto_picks_bf16_only_with_native_instructions(cpuinfo, expected):
    assert precision.resolve("auto", precision.cpu_flags(cpuinfo)) == expected


def test_an_explicit_precision_is_kept():
    for asked in ("fp32", "bf16"):
        assert precision.resolve(asked, set()) == asked


def test_auto_is_the_default_and_resolves_to_a_valid_precision_here():
    assert StyleConfig().precision == "auto"
    here = precision.resolve("auto")
    assert here in ("fp32", "bf16")
    assert (here == "bf16") == precision.native_bf16()
    net = tiny_network("vgg16-hed", ("relu1_1", "relu4_2"))
    assert Objective(net, StyleConfig()).bf16 == (here == "bf16")


def test_unknown_precision_is_refused():
    with pytest.raises(ConfigError, match="precision must be one of auto, fp32, bf16"):
        StyleConfig(precision="fp16")
