"""The coarse-to-fine plan: sizes by factors of about sqrt(2), iterations growing going coarser."""

from __future__ import annotations

import math

import pytest

from impasto.config import StyleConfig
from impasto.engine import schedule
from impasto.engine.schedule import Scale
from impasto.errors import ConfigError

REALISTIC = [(512, 128), (512, 150), (1000, 100), (128, 64), (300, 64), (768, 256), (2048, 128)]


@pytest.mark.parametrize(("size", "min_size"), REALISTIC)
def test_plan_sizes_grow_by_sqrt2_to_size(size, min_size):
    scales = schedule.plan(size, min_size, 30)
    sizes = [s.size for s in scales]
    assert len(sizes) >= 2
    assert sizes[-1] == size
    assert all(b > a for a, b in zip(sizes, sizes[1:])), sizes
    for a, b in zip(sizes, sizes[1:]):
        # sqrt(2) up to the rounding of each size to whole pixels
        assert abs(b / a - math.sqrt(2)) <= 1.5 / a, (a, b)
    # The first scale is the power of sqrt(2) below size nearest to min_size.
    assert min_size / 2**0.25 - 1 <= sizes[0] <= min_size * 2**0.25 + 1, sizes


def test_plan_512_from_128():
    assert [s.size for s in schedule.plan(512, 128, 30)] == [128, 181, 256, 362, 512]


@pytest.mark.parametrize("growth", [1.0, 1.5, 2.0])
@pytest.mark.parametrize(("size", "min_size", "iterations"), [(512, 128, 30), (300, 64, 7)])
def test_plan_iterations_grow_going_coarser(size, min_size, iterations, growth):
    scales = schedule.plan(size, min_size, iterations, growth)
    iters = [s.iterations for s in scales]
    assert iters[-1] == iterations
    for coarse, fine in zip(iters, iters[1:]):
        # each count is rounded on its own: |round(x g) - g round(x)| <= (1 + g) / 2
        assert abs(coarse - growth * fine) <= (1 + growth) / 2, iters
    if growth == 1.0:
        assert set(iters) == {iterations}
    else:
        assert iters == sorted(iters, reverse=True) and iters[0] > iters[-1]


def test_plan_iterations_default_growth_is_one_point_two():
    assert [s.iterations for s in schedule.plan(512, 128, 20)] == [41, 35, 29, 24, 20]


def test_plan_costs_about_iterations_over_one_minus_half_growth():
    """The module's promise: about iterations / (1 - growth/2) final-size iterations of work."""
    size, iterations, growth = 1024, 40, 1.5
    scales = schedule.plan(size, 16, iterations, growth)
    work = sum(s.iterations * (s.size / size) ** 2 for s in scales)
    bound = iterations / (1 - growth / 2)
    assert 0.8 * bound < work < 1.02 * bound  # the cap on coarse scales only lowers it


def test_coarse_scales_get_at_most_growth_to_the_fourth():
    scales = schedule.plan(4096, 128, 30, growth=1.5)
    assert [s.iterations for s in scales] == [152] * 7 + [101, 68, 45, 30]
    # The default 512 px plan is below the cap, so unchanged by it.
    assert [s.iterations for s in schedule.plan(512, 181, 40)] == [69, 58, 48, 40]


@pytest.mark.parametrize("min_size", [0, 512, 513, 10_000])
def test_single_scale(min_size):
    assert schedule.plan(512, min_size, 17) == [Scale(512, 17)]


def test_min_size_just_below_size_still_gives_two_scales():
    """Documented: only min_size 0 or >= size gives a single scale."""
    scales = schedule.plan(512, 500, 10)
    assert len(scales) == 2 and scales[-1] == Scale(512, 10)
    assert scales[0].size < 512


@pytest.mark.parametrize(("size", "iterations"), [(0, 10), (-5, 10), (512, 0), (512, -1)])
def test_plan_rejects_non_positive(size, iterations):
    with pytest.raises(ConfigError, match="must be positive"):
        schedule.plan(size, 128, iterations)


def test_plan_never_below_one_pixel_or_one_iteration():
    scales = schedule.plan(8, 1, 1, growth=0.5)
    assert all(s.size >= 1 and s.iterations >= 1 for s in scales)
    assert scales[-1] == Scale(8, 1)


# -------------------------------------------------------------------------- parse


def test_parse_valid():
    assert schedule.parse("128:150,256:80,512:30") == [
        Scale(128, 150),
        Scale(256, 80),
        Scale(512, 30),
    ]
    assert schedule.parse("300:5") == [Scale(300, 5)]
    assert schedule.parse(" 64:10 , 96:4") == [Scale(64, 10), Scale(96, 4)]
    assert schedule.parse("64:0,128:10") == [Scale(64, 0), Scale(128, 10)]  # 0: just resize
    assert schedule.parse("128:3,128:4") == [Scale(128, 3), Scale(128, 4)]  # same size allowed


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("128", "'128'"),
        ("128:x", "'128:x'"),
        ("abc", "'abc'"),
        ("128:10,", "''"),
        ("", "''"),
        ("128:10:5", "'128:10:5'"),
        ("128:10,256", "'256'"),
        ("128:1.5", "'128:1.5'"),
        ("0:10", "'0:10'"),
        ("-128:10", "'-128:10'"),
        ("128:-1", "'128:-1'"),
        ("64:5,128;10", "'128;10'"),
    ],
)
def test_parse_invalid_names_the_bad_entry(text, bad):
    with pytest.raises(ConfigError, match="bad schedule entry") as info:
        schedule.parse(text)
    assert bad in str(info.value)
    assert "\n" not in str(info.value)


def test_parse_rejects_shrinking_sizes():
    with pytest.raises(ConfigError, match="small to large") as info:
        schedule.parse("256:10,128:20")
    assert "'256:10,128:20'" in str(info.value)


# ------------------------------------------------------------------------ describe


def test_describe():
    scales = [Scale(128, 150), Scale(256, 80), Scale(512, 30)]
    assert schedule.describe(scales) == "128px x150 -> 256px x80 -> 512px x30"
    assert schedule.describe([Scale(96, 7)]) == "96px x7"


def test_describe_round_trips_through_parse():
    scales = schedule.plan(512, 128, 30)
    text = ",".join(part.replace("px x", ":") for part in schedule.describe(scales).split(" -> "))
    assert schedule.parse(text) == scales


def test_scale_is_frozen():
    s = Scale(10, 2)
    with pytest.raises(AttributeError):
        s.size = 20  # type: ignore[misc]


@pytest.mark.parametrize("preset, factor", [("fast", 0.5), ("balanced", 1), ("best", 3)])
def test_a_preset_multiplies_every_scales_iterations(preset, factor):
    base = schedule.plan_for(StyleConfig(size=512, iterations=40))
    scaled = schedule.plan_for(StyleConfig(size=512, iterations=40, preset=preset))
    assert [s.size for s in scaled] == [s.size for s in base]
    assert [s.iterations for s in scaled] == [
        schedule.plan(512, 181, round(40 * factor))[k].iterations for k in range(len(base))
    ]
    assert scaled[-1].iterations == round(40 * factor)


def test_an_explicit_schedule_ignores_the_preset():
    config = StyleConfig(schedule="64:5,128:3", preset="best")
    assert [(s.size, s.iterations) for s in schedule.plan_for(config)] == [(64, 5), (128, 3)]
    with pytest.raises(ConfigError, match="preset"):
        StyleConfig(preset="slow")
