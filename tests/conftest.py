"""Shared fixtures: the project's test images and a tiny random network instead of real weights."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch

SHARED_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"


@pytest.fixture
def shared_images() -> Path:
    """/work/shared/images (content/, style/, odd/); the test is skipped without it."""
    if not SHARED_IMAGES.is_dir():
        pytest.skip(f"shared test images not found at {SHARED_IMAGES}")
    return SHARED_IMAGES


def picture(h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth random picture in 0..1 (noise upsampled), more like a photo than pure noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, max(2, h // 6), max(2, w // 6), generator=g)
    smooth = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear")
    return (0.8 * smooth + 0.2 * torch.rand(1, 3, h, w, generator=g))[0].clamp(0, 1)


@functools.cache
def _tiny_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """VGG layer names with at most 8 channels: the same code paths, a fraction of the work."""
    from impasto import weights

    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in weights.conv_shapes(arch).items():
        small = tuple(d if d == 3 or i > 1 else min(d, 8) for i, d in enumerate(shape))
        state[key] = torch.randn(small, generator=generator) * 0.2
    return state


@pytest.fixture
def tiny_network(monkeypatch, tmp_path):
    """Every network is a random narrow VGG; the weights cache is an empty temporary folder.

    One torch thread: the tiny convolutions gain nothing from more, and lose a lot when other
    processes share the CPU. Returns the list of load_features calls (their keyword arguments).
    """
    from impasto import features, stylize, weights

    calls: list[dict] = []

    def load_features(network, layers, pooling="avg", weights_path=None, on_progress=None):
        calls.append({"network": network, "weights_path": weights_path})
        if weights_path is not None:  # a --weights file is still read and validated for real
            weights.load_weights(network, weights_path)
        spec = weights.NETWORKS[network]
        return features.VGGFeatures(
            _tiny_state_dict(spec.arch), spec.arch, spec.convention, layers, pooling
        )

    monkeypatch.setattr(features, "load_features", load_features)
    monkeypatch.setattr(stylize, "load_features", load_features)
    monkeypatch.setenv("IMPASTO_HOME", str(tmp_path / "impasto-home"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield calls
    torch.set_num_threads(threads)
