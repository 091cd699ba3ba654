"""Temporal order — the seed's central claim, kept as a test.

A spatiotemporal encoder's embedding of a clip and of its time-reversed copy differ; the frame-average
baseline's are identical (it cannot tell a door opening from a door closing).
"""

from __future__ import annotations

import numpy as np
import pytest

from vrag.encoders import create_encoder

SPATIOTEMPORAL = ["videomae-test", "xclip-test", "videoprism-test"]
FRAME_AVERAGE = ["frames-test", "siglip-frames-test"]
NOISE_FLOOR = 1e-6  # float32 summation-order noise of a mean over frames


def moving_square(frames: int, size: int = 48) -> np.ndarray:
    """A bright square sliding left→right over a dark background: ``[1, frames, size, size, 3]`` uint8."""
    clip = np.full((frames, size, size, 3), 20, np.uint8)
    side = size // 4
    for t in range(frames):
        left = (size - side) * t // max(frames - 1, 1)
        clip[t, size // 3 : size // 3 + side, left : left + side] = (230, 200, 40)
    return clip[None]


@pytest.mark.parametrize("name", SPATIOTEMPORAL)
def test_spatiotemporal_encoders_see_time_reversal(name: str) -> None:
    enc = create_encoder(name, device="cpu", dtype="float32")
    clip = moving_square(enc.spec.frames)
    forward, backward = enc.encode_video(np.concatenate([clip, clip[:, ::-1]]))
    # tiny random models carry a weak temporal signal, but far above float noise (the baseline's 1e-6 below)
    assert np.abs(forward - backward).max() > NOISE_FLOOR * 50


@pytest.mark.parametrize("name", FRAME_AVERAGE)
def test_frame_average_is_blind_to_time_reversal(name: str) -> None:
    enc = create_encoder(name, device="cpu", dtype="float32")
    clip = moving_square(enc.spec.frames)
    forward, backward = enc.encode_video(np.concatenate([clip, clip[:, ::-1]]))
    np.testing.assert_allclose(forward, backward, atol=NOISE_FLOOR)
