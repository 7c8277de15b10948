"""Touch-ups (``jobs.touch_up``): a finished job painted again at its output size only, from its
picture, with a new strength, colour mode or masks, in a share of the first run's time.
Tiny random networks: what is tested is the plan and what the run starts from.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from helpers import picture
from impasto import jobs
from impasto.config import StyleConfig
from impasto.engine.schedule import Scale
from impasto.errors import ConfigError
from impasto.io import images


@pytest.fixture
def finished(tiny_network, tmp_path):
    """A photo, a painting, and a coarse-to-fine job painted and saved: (spec, job, picture)."""
    content, style = tmp_path / "photo.png", tmp_path / "painting.png"
    images.save_image(content, picture(48, 64, 1))
    images.save_image(style, picture(64, 64, 2))
    config = StyleConfig(size=64, min_size=32, iterations=8, optimizer="adam")
    spec = jobs.JobSpec(content, (style,), config, output=tmp_path / "out.png")
    job = jobs.prepare(spec)
    jobs.save(job, jobs.run(job))
    return spec, job, tmp_path / "out.png"


def test_a_touch_up_paints_one_scale_at_the_output_size_from_the_picture(finished):
    spec, job, out = finished
    assert len(job.plan) > 1  # the first run went coarse to fine
    touched = jobs.touch_up(spec, job.estimate, out, {"strength": 0.5})
    assert touched.init == out and touched.config.strength == 0.5
    assert touched.output == out.with_name("out_touchup.png")
    again = jobs.prepare(touched)
    iterations = jobs.touch_up_iterations(job.estimate)
    assert again.plan == [Scale(64, iterations)]
    assert again.final_hw == job.final_hw == (48, 64)
    # at most a third of the first run's planned time; at the share it was planned for
    assert again.estimate.seconds <= job.estimate.seconds / 3
    final = job.estimate.scales[-1].seconds_per_evaluation
    assert iterations == int(jobs.TOUCH_UP_SHARE * job.estimate.seconds / final)
    np.testing.assert_array_equal(again.init_image.numpy(), images.load_image(out).rgb.numpy())
    # every other setting is the first run's
    keep = dataclasses.replace(touched.config, strength=1.0, schedule=None)
    assert keep == spec.config


def test_a_touch_up_at_strength_0_gives_the_photo_back(finished, tiny_network):
    spec, job, out = finished
    touched = jobs.prepare(jobs.touch_up(spec, job.estimate, out, {"strength": 0}))
    result = jobs.run(touched)
    photo = images.load_image(spec.content).rgb
    np.testing.assert_allclose(result.numpy(), photo.numpy(), atol=1e-6)


def test_a_touch_up_of_a_touch_up_takes_the_same_share_of_the_first_run(finished, tiny_network):
    spec, job, out = finished
    first = jobs.prepare(jobs.touch_up(spec, job.estimate, out, {"strength": 0.5}))
    jobs.save(first, jobs.run(first))
    second = jobs.touch_up(
        spec, job.estimate, first.out, {"preserve_color": "luminance"}, output=out.parent / "2.png"
    )
    assert second.init == first.out and second.config.preserve_color == "luminance"
    assert jobs.prepare(second).plan == first.plan


def test_a_touch_up_may_change_the_masks(finished, tmp_path):
    spec, job, out = finished
    left = np.zeros((48, 64), np.uint8)
    left[:, :32] = 255
    Image.fromarray(left).save(tmp_path / "left.png")
    touched = jobs.touch_up(spec, job.estimate, out, masks=[tmp_path / "left.png"])
    assert touched.masks == (tmp_path / "left.png",)
    assert jobs.prepare(touched).masks is not None
    assert jobs.touch_up(spec, job.estimate, out).masks == spec.masks == ()


@pytest.mark.parametrize("name", jobs.TOUCH_UP_KEEPS)
def test_a_touch_up_keeps_the_size_and_its_own_plan(finished, name):
    spec, job, out = finished
    value = "64:3" if name == "schedule" else ("best" if name == "preset" else 32)
    with pytest.raises(ConfigError, match=f"{name} cannot change"):
        jobs.touch_up(spec, job.estimate, out, {name: value})


def test_a_touch_up_refuses_bad_values_in_the_configs_words(finished):
    spec, job, out = finished
    with pytest.raises(ConfigError, match="strength must be"):
        jobs.touch_up(spec, job.estimate, out, {"strength": -1})
    with pytest.raises(ConfigError, match="touch-up: .*colour"):
        jobs.touch_up(spec, job.estimate, out, {"colour": "none"})
