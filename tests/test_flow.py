"""Optical flow, warping and the reliability check (ops/flow.py) on pictures with known motion."""

from __future__ import annotations

import pytest
import torch

from helpers import picture
from impasto.ops import flow

cv2 = pytest.importorskip("cv2")


def shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``image`` moved by (dy, dx) pixels: out[y, x] = image[y - dy, x - dx] (edges wrap)."""
    return torch.roll(image, shifts=(dy, dx), dims=(-2, -1))


def test_warp_along_an_integer_flow_is_exact():
    image = picture(40, 50, seed=1)
    field = torch.zeros(2, 40, 50)
    field[0], field[1] = 3.0, -2.0  # every pixel p samples p + (x + 3, y - 2)
    out = flow.warp(image, field)
    torch.testing.assert_close(out[:, 2:, :47], image[:, :-2, 3:], rtol=0, atol=1e-6)
    # outside the frame the edge is repeated
    torch.testing.assert_close(out[:, 2:, 47:], image[:, :-2, 49:50].expand(3, 38, 3))


def test_warp_interpolates_half_pixels_linearly():
    ramp = torch.arange(10.0).expand(1, 6, 10).clone()
    field = torch.zeros(2, 6, 10)
    field[0] = 0.5
    out = flow.warp(ramp, field)
    torch.testing.assert_close(out[0, :, :9], ramp[0, :, :9] + 0.5)


def test_zero_flow_is_the_identity():
    image = picture(17, 23, seed=2)
    torch.testing.assert_close(flow.warp(image, torch.zeros(2, 17, 23)), image)


def test_dis_flow_finds_a_known_shift_and_warping_undoes_it():
    a = picture(96, 128, seed=3)
    b = shifted(a, 2, 5)  # b[y, x] = a[y - 2, x - 5]: a's pixel p is at p + (5, 2) in b
    forward = flow.optical_flow(a, b)
    backward = flow.optical_flow(b, a)
    core = (slice(None), slice(16, -16), slice(16, -16))
    assert forward.shape == (2, 96, 128)
    assert float((forward[0][core[1:]] - 5).abs().median()) < 0.25
    assert float((forward[1][core[1:]] - 2).abs().median()) < 0.25
    assert float((backward[0][core[1:]] + 5).abs().median()) < 0.25
    carried = flow.warp(a, backward)  # a carried onto b's pixels
    assert float((carried - b)[core].abs().mean()) < 0.02
    assert float((a - b)[core].abs().mean()) > 0.05  # the motion mattered


def test_consistent_flows_are_reliable_except_where_they_leave_the_frame():
    back = torch.zeros(2, 30, 40)
    back[0] = -4.0  # frame t's pixel p came from p - (4, 0) in t-1
    fwd = -back
    weights = flow.reliability(back, fwd)
    assert weights.shape == (30, 40)
    assert bool((weights[:, 4:] == 1).all())
    assert bool((weights[:, :4] == 0).all())  # they came from outside frame t-1


def test_pixels_failing_the_round_trip_get_zero():
    back = torch.zeros(2, 30, 40)
    fwd = torch.zeros(2, 30, 40)
    fwd[0, 10:20, 10:20] = 3.0  # forward says these moved, backward says nothing did
    weights = flow.reliability(back, fwd)
    assert bool((weights[10:20, 10:20] == 0).all())
    assert float(weights.sum()) == 30 * 40 - 100
    # just inside the tolerance: |w~ + w|^2 = 0.49 <= 0.5
    fwd[0, 10:20, 10:20] = 0.7
    assert bool((flow.reliability(back, fwd) == 1).all())


def test_motion_boundaries_get_zero():
    back = torch.zeros(2, 30, 40)
    back[0, :, 20:] = -3.0  # the right half moved, the left did not: a boundary at x = 20
    fwd = torch.zeros(2, 30, 40)
    fwd[0, :, 17:] = 3.0  # consistent everywhere away from the edge of the moving part
    weights = flow.reliability(back, fwd)
    assert bool((weights[:, 19:21] == 0).all())  # the steep step in the flow
    assert bool((weights[:, :15] == 1).all()) and bool((weights[:, 24:] == 1).all())


def test_resized_flow_scales_its_vectors():
    field = torch.zeros(2, 21, 41)
    field[0], field[1] = 2.0, 1.0
    small = flow.resize_flow(field, 11, 21)
    torch.testing.assert_close(small[0], torch.full((11, 21), 1.0))
    torch.testing.assert_close(small[1], torch.full((11, 21), 0.5))
