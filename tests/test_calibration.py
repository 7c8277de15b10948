"""The machine's speed: stored per CPU, threads, precision and network, probed once, refined by
every run, and used by the estimate."""

from __future__ import annotations

import json
import math

import pytest
import torch

from helpers import EXAMPLES
from impasto import jobs
from impasto.config import StyleConfig
from impasto.engine import budget, calibration


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPASTO_HOME", str(tmp_path))
    return tmp_path


def test_nothing_stored_means_the_fallback_per_thread(home):
    config = StyleConfig()
    assert calibration.stored(config) is None
    assert calibration.rate(config) == pytest.approx(calibration.FALLBACK / torch.get_num_threads())
    assert not budget.estimate_run((384, 512), [(384, 512)], config).learnt


def test_record_blends_geometrically_and_the_estimate_uses_it(home):
    config = StyleConfig()
    assert calibration.record(config, 4e-6) == pytest.approx(4e-6)
    assert calibration.record(config, 1e-6) == pytest.approx(math.sqrt(4e-6 * 1e-6))
    est = budget.estimate_run((384, 512), [(384, 512)], config)
    assert est.learnt and est.rate == pytest.approx(2e-6)
    assert "on this machine" in est.describe()
    # Halving the rate halves every part of the estimate.
    slow = budget.estimate_run((384, 512), [(384, 512)], config, rate=4e-6)
    assert slow.seconds == pytest.approx(2 * est.seconds)


def test_keys_keep_threads_precision_and_narrow_networks_apart(home):
    config = StyleConfig()
    calibration.record(config, 5e-6, width=8)  # a tiny test network
    assert calibration.stored(config) is None
    calibration.record(StyleConfig(precision="bf16"), 3e-6)
    assert calibration.stored(StyleConfig(precision="fp32")) is None
    keys = list(json.loads((home / calibration.FILE_NAME).read_text()))
    assert len(keys) == 2 and all(calibration.cpu_model() in k for k in keys)
    assert calibration.key(config, threads=1) != calibration.key(config, threads=2)


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"a": "fast", "b": -1}'])
def test_a_damaged_store_is_ignored_and_replaced(home, content):
    (home / calibration.FILE_NAME).write_text(content)
    config = StyleConfig()
    assert calibration.stored(config) is None
    calibration.record(config, 2e-6)
    assert calibration.stored(config) == pytest.approx(2e-6)


def test_an_unwritable_store_does_not_stop_anything(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("IMPASTO_HOME", str(blocker / "home"))
    assert calibration.record(StyleConfig(), 2e-6) == pytest.approx(2e-6)


def test_probe_measures_a_positive_rate(tiny_network):
    from impasto.network.vgg import load_features

    config = StyleConfig()
    net = load_features(config.network, config.content_layers + config.style_layers)
    assert 0 < calibration.probe(net, config, size=32) < 1.0


def test_first_job_probes_then_a_run_refines(tiny_network, monkeypatch):
    spec = jobs.JobSpec(
        EXAMPLES / "tubingen.jpg",
        (EXAMPLES / "starry_night.jpg",),
        StyleConfig(size=48, min_size=0, iterations=3),
    )
    job = jobs.prepare(spec)
    assert not job.estimate.learnt
    net = jobs.load_network(job)
    width = calibration.network_width(net)
    assert width < 64  # the tiny network, stored apart from the real one
    job = jobs.calibrate(job, net)
    probed = calibration.stored(job.config, width)
    assert probed is not None and job.estimate.rate == pytest.approx(probed)
    assert jobs.calibrate(job, net) is job  # known now: no second probe
    jobs.run(job, net)  # a thumbnail: too small to tell the machine's speed
    assert calibration.stored(job.config, width) == probed
    monkeypatch.setattr(calibration, "MIN_LEARNING_UNITS", 1)  # as if it were a big run
    jobs.run(job, net)
    refined = calibration.stored(job.config, width)
    assert refined is not None and refined != probed
