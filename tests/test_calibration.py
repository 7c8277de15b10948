"""The machine's speed: stored per CPU, threads, precision and network, probed once, refined by
every run, and used by the estimate."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from helpers import EXAMPLES
from impasto import devices, jobs
from impasto.config import StyleConfig
from impasto.engine import budget, calibration


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPASTO_HOME", str(tmp_path))
    return tmp_path


def test_nothing_stored_means_the_fallback_per_thread(home):
    config = StyleConfig()
    assert calibration.stored(config) is None
    fallback = calibration.FALLBACK.seconds / torch.get_num_threads()
    assert calibration.speed(config).seconds == pytest.approx(fallback)
    assert not budget.estimate_run((384, 512), [(384, 512)], config).learnt


def test_a_speed_is_a_power_law_then_linear_beyond_what_was_measured():
    ref = calibration.REFERENCE_PIXELS
    speed = calibration.Speed(seconds=0.2, exponent=0.8, largest=4 * ref)
    assert speed.evaluation(ref) == pytest.approx(0.2)
    assert speed.evaluation(4 * ref) == pytest.approx(0.2 * 4**0.8)
    assert speed.evaluation(ref / 4) == pytest.approx(0.2 / 4**0.8)
    # Beyond the largest size measured, twice the pixels cost twice the time.
    assert speed.evaluation(8 * ref) == pytest.approx(2 * speed.evaluation(4 * ref))


def test_fit_recovers_a_power_law_and_clamps_its_exponent():
    ref = calibration.REFERENCE_PIXELS
    points = [(p * ref, 0.3 * p**0.75) for p in (0.5, 1, 2, 4)]
    speed = calibration.fit(points)
    assert speed.seconds == pytest.approx(0.3)
    assert speed.exponent == pytest.approx(0.75)
    assert speed.largest == 4 * ref
    # Time growing faster than the pixels (a neighbour woke up) is held to linear.
    assert calibration.fit([(ref, 0.1), (4 * ref, 1.0)]).exponent == calibration.MAX_EXPONENT
    # One size: the exponent given is kept, the level goes through the point.
    one = calibration.fit([(4 * ref, 0.8)], exponent=0.5)
    assert one.exponent == 0.5 and one.seconds == pytest.approx(0.4)


def test_record_blends_the_level_geometrically_and_the_estimate_uses_it(home):
    config = StyleConfig()
    first = calibration.Speed(0.4, 0.9, 65536.0)
    assert calibration.record(config, first) == first
    blended = calibration.record(config, calibration.Speed(0.1, 0.7, 262144.0))
    assert blended.seconds == pytest.approx(0.1**0.7 * 0.4**0.3)  # faster: 0.7 of the way
    assert blended.exponent == pytest.approx(0.7 * 0.7 + 0.3 * 0.9)
    assert blended.largest == 262144.0
    est = budget.estimate_run((384, 512), [(384, 512)], config)
    assert est.learnt and est.speed == blended
    assert "on this machine" in est.describe()
    # Twice the seconds at every size doubles every part of the estimate.
    twice = dataclasses.replace(blended, seconds=2 * blended.seconds)
    slow = budget.estimate_run((384, 512), [(384, 512)], config, twice)
    assert slow.seconds == pytest.approx(2 * est.seconds)


def test_a_slow_run_teaches_less_than_a_fast_one_so_contention_is_soon_forgotten(home):
    config = StyleConfig()
    idle = calibration.Speed(0.1, 0.85, 262144.0)
    calibration.record(config, idle)
    contended = calibration.record(config, dataclasses.replace(idle, seconds=0.6))
    assert contended.seconds == pytest.approx(0.6**0.25 * 0.1**0.75)  # a quarter of the way
    for _ in range(5):  # a day beside other processes: the store believes 6x slower
        calibration.record(config, dataclasses.replace(idle, seconds=0.6))
    assert calibration.stored(config).seconds > 0.4
    for _ in range(2):  # two runs on the machine alone
        back = calibration.record(config, idle)
    assert back.seconds < 1.2 * idle.seconds


def test_each_scale_costs_what_the_speed_says_at_its_size(home):
    speed = calibration.Speed(0.2, 0.8, 1e6)
    est = budget.estimate_run((384, 512), [(384, 512)], StyleConfig(), speed)
    for plan in est.scales:
        assert plan.seconds_per_evaluation == pytest.approx(
            speed.evaluation(plan.height * plan.width)
        )


def test_a_run_teaches_the_fit_of_its_big_enough_scales(home):
    config = StyleConfig()
    ref = calibration.REFERENCE_PIXELS
    scales = [
        (64 * 48, 30, 3.0),  # a thumbnail scale: too small to tell
        (ref / 2, 40, 40 * 0.1 * 0.5**0.8),
        (ref, 30, 30 * 0.1),
        (4 * ref, 20, 20 * 0.1 * 4**0.8),
        (8 * ref, 2, 100.0),  # too few evaluations to tell
    ]
    learnt = calibration.learn_from_run(config, scales)
    assert learnt is not None and calibration.stored(config) == learnt
    assert learnt.seconds == pytest.approx(0.1)
    assert learnt.exponent == pytest.approx(0.8)
    assert learnt.largest == 4 * ref
    # A run of thumbnails only teaches nothing.
    assert calibration.learn_from_run(config, [(64 * 48, 50, 5.0)]) is None
    assert calibration.stored(config) == learnt


def test_keys_keep_threads_precision_and_narrow_networks_apart(home):
    config = StyleConfig()
    calibration.record(config, calibration.Speed(0.5), width=8)  # a tiny test network
    assert calibration.stored(config) is None
    calibration.record(StyleConfig(precision="bf16"), calibration.Speed(0.3))
    assert calibration.stored(StyleConfig(precision="fp32")) is None
    keys = list(json.loads((home / calibration.FILE_NAME).read_text()))
    assert len(keys) == 2 and all(devices.cpu_model() in k for k in keys)
    assert calibration.key(config, threads=1) != calibration.key(config, threads=2)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[1, 2]",
        '{"a": "fast", "b": -1}',
        '{"x": 2e-6}',  # an older store's bare rate per pixel
        '{"x": {"seconds": 0.2, "exponent": -1, "largest": 5}}',
    ],
)
def test_a_damaged_store_is_ignored_and_replaced(home, content):
    (home / calibration.FILE_NAME).write_text(content)
    config = StyleConfig()
    assert calibration.stored(config) is None
    calibration.record(config, calibration.Speed(0.2))
    assert calibration.stored(config) == calibration.Speed(0.2)


def test_an_unwritable_store_does_not_stop_anything(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("IMPASTO_HOME", str(blocker / "home"))
    assert calibration.record(StyleConfig(), calibration.Speed(0.2)) == calibration.Speed(0.2)


def test_probe_measures_a_positive_rate(tiny_network):
    from impasto.network.vgg import load_network

    config = StyleConfig()
    net = load_network(config)
    speed = calibration.probe(net, config, sizes=((24, 32), (48, 64)))
    assert 0 < speed.seconds < 10.0
    assert calibration.MIN_EXPONENT <= speed.exponent <= calibration.MAX_EXPONENT
    assert speed.largest == 48 * 64


@pytest.mark.parametrize("smooth_steps", [0.0, 8.0])
def test_probe_times_real_optimiser_steps_and_takes_their_median(
    tiny_network, monkeypatch, smooth_steps
):
    """Each size gets a warm-up step and ``steps`` timed ones through the run's own optimiser
    (the spectral basis included); one slow step does not move the fit."""
    from impasto.cost.objective import Objective
    from impasto.network.vgg import load_network

    clock = [0.0]
    seconds = {24 * 32: [5.0, 1.0, 9.0, 1.0], 48 * 64: [5.0, 3.0, 3.0, 30.0]}
    evaluated: list[tuple[int, int]] = []
    real = Objective.value_and_grad

    def timed(self, picture, targets, tiles=None):
        pixels = picture.shape[-2] * picture.shape[-1]
        clock[0] += seconds[pixels][sum(1 for p in evaluated if p == picture.shape[-2:])]
        evaluated.append(picture.shape[-2:])
        return real(self, picture, targets, tiles)

    monkeypatch.setattr(Objective, "value_and_grad", timed)
    monkeypatch.setattr(calibration.time, "perf_counter", lambda: clock[0])
    config = StyleConfig(smooth_steps=smooth_steps)
    net = load_network(config)
    speed = calibration.probe(net, config, sizes=((24, 32), (48, 64)), steps=3)
    assert evaluated == [(24, 32)] * 4 + [(48, 64)] * 4
    # medians 1 s and 3 s for 4x the pixels: the power law through both
    assert speed.exponent == pytest.approx(math.log(3) / math.log(4))
    assert speed.evaluation(24 * 32) == pytest.approx(1.0)
    assert speed.evaluation(48 * 64) == pytest.approx(3.0)


def test_first_job_probes_then_a_run_refines(tiny_network, monkeypatch):
    spec = jobs.JobSpec(
        EXAMPLES / "tubingen.jpg",
        (EXAMPLES / "starry_night.jpg",),
        StyleConfig(size=48, min_size=0, iterations=6),
    )
    job = jobs.prepare(spec)
    assert not job.estimate.learnt
    net = jobs.load_network(job.config)
    width = calibration.network_width(net)
    assert width < 64  # the tiny network, stored apart from the real one
    job = jobs.calibrate(job, net)
    probed = calibration.stored(job.config, width)
    assert probed is not None and job.estimate.speed == probed
    assert jobs.calibrate(job, net) is job  # known now: no second probe
    jobs.run(job, net)  # a thumbnail: too small to tell the machine's speed
    assert calibration.stored(job.config, width) == probed
    monkeypatch.setattr(calibration, "MIN_LEARNING_PIXELS", 1)  # as if it were a big run
    jobs.run(job, net)
    refined = calibration.stored(job.config, width)
    assert refined is not None and refined != probed
