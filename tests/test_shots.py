"""Shot detection: exact cut times from PTS, fades, no false cuts on motion, TransNetV2 wrapper parity."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from tests.scenes import Scene, SceneVideo, write_scenes
from vrag.chunking import SHOT_DETECTORS, HistogramDetector, TransNetV2Detector, detect_shots
from vrag.chunking._transnet import boundaries_from_predictions, load_transnetv2
from vrag.errors import ConfigError, UnknownNameError, VideoNotFoundError
from vrag.media import open_video
from vrag.types import Frames

DETECTORS = ["histogram", "transnetv2"]


@pytest.fixture(scope="module")
def cuts_video(tmp_path_factory: pytest.TempPathFactory) -> SceneVideo:
    # scene 2 has scene 1's colours in another layout: a cut a colour histogram alone would miss
    scenes = [Scene(37, 0), Scene(41, 1, 1), Scene(33, 1, 6, speed=2.0), Scene(45, 3), Scene(30, 4)]
    return write_scenes(tmp_path_factory.mktemp("cuts") / "cuts.mp4", scenes)


@pytest.fixture(scope="module")
def fades_video(tmp_path_factory: pytest.TempPathFactory) -> SceneVideo:
    scenes = [Scene(40, 0), Scene(40, 2), Scene(40, 5), Scene(40, 6)]
    transitions = [("dissolve", 12), ("fade", 16), ("cut", 0)]
    return write_scenes(tmp_path_factory.mktemp("fades") / "fades.mp4", scenes, transitions)


@pytest.mark.parametrize("detector", DETECTORS)
def test_hard_cuts_start_at_the_first_frame_of_the_new_shot(cuts_video: SceneVideo, detector: str) -> None:
    # TransNetV2 is unsure on synthetic gratings (cut probabilities 0.3-0.5): test its placement lower
    options = {"threshold": 0.25} if detector == "transnetv2" else {}

    shots = detect_shots(cuts_video.path, detector=detector, **options)

    found = [s.start_frame for s in shots[1:]]
    if detector == "transnetv2":  # it may miss the same-colour cut; what it finds must be exact
        assert set(found) <= set(cuts_video.cut_frames) and len(found) >= 3
        return
    assert found == cuts_video.cut_frames
    assert [s.start for s in shots[1:]] == cuts_video.cut_times  # exact: the new shot's first frame PTS


def test_shots_tile_the_video_from_zero_to_duration(cuts_video: SceneVideo) -> None:
    video = open_video(cuts_video.path)
    shots = detect_shots(video)

    assert shots[0].start == 0.0 and shots[0].start_frame == 0
    assert shots[-1].end == video.duration and shots[-1].end_frame == video.frame_count
    for a, b in itertools.pairwise(shots):
        assert a.end == b.start and a.end_frame == b.start_frame
        assert b.start == video.frame_times[b.start_frame]


def test_cut_times_come_from_pts_on_variable_frame_rate(tmp_path) -> None:
    # irregular frame spacing: a time computed as index / fps would be wrong
    pts = np.cumsum([0] + [40 if i % 3 else 90 for i in range(1, 90)]).tolist()
    video = write_scenes(tmp_path / "vfr.mp4", [Scene(30, 0), Scene(30, 2), Scene(30, 4)], pts_ms=pts)

    shots = detect_shots(video.path)

    assert [s.start for s in shots[1:]] == pytest.approx([pts[30] / 1000, pts[60] / 1000], abs=1e-6)


@pytest.mark.parametrize("detector", DETECTORS)
def test_dissolves_and_fades_give_one_boundary_inside_each(fades_video: SceneVideo, detector: str) -> None:
    shots = detect_shots(fades_video.path, detector=detector)

    found = [s.start_frame for s in shots[1:]]
    assert len(found) == len(fades_video.transitions)
    for transition, frame in zip(fades_video.transitions, found, strict=True):
        assert transition.hit(frame), (transition, frame)


@pytest.mark.parametrize("detector", DETECTORS)
def test_smooth_fast_motion_is_one_shot(tmp_path, detector: str) -> None:
    video = write_scenes(tmp_path / "pan.mp4", [Scene(150, 2, 7, speed=3.0)])

    assert len(detect_shots(video.path, detector=detector)) == 1


def test_streaming_in_small_batches_finds_the_same_boundaries(fades_video: SceneVideo) -> None:
    video = open_video(fades_video.path)
    det = HistogramDetector()

    whole = det.find_boundaries(video.iter_frames(size=det.size, batch=10_000))
    small = det.find_boundaries(video.iter_frames(size=det.size, batch=7))

    assert small == whole and len(whole) == 3


def test_transnetv2_batched_windows_match_the_package(fades_video: SceneVideo) -> None:
    import torch

    data = np.concatenate([f.data for f in open_video(fades_video.path).iter_frames(size=(48, 27))])[:130]
    batches = [Frames(data[i : i + 33], np.arange(i, i + 33) / 25, np.arange(i, min(i + 33, 130)))
               for i in range(0, 130, 33)]  # fmt: skip
    ref_single, ref_many = load_transnetv2("cpu").predict_frames(torch.from_numpy(data), quiet=True)

    single, many, indices = TransNetV2Detector(device="cpu", batch_windows=2).predict(batches)

    assert indices.tolist() == list(range(130))
    np.testing.assert_allclose(single, ref_single.numpy(), atol=1e-5)
    np.testing.assert_allclose(many, ref_many.numpy(), atol=1e-5)


def test_loading_transnetv2_leaves_global_torch_state_alone() -> None:
    import torch

    load_transnetv2.cache_clear()
    torch.manual_seed(1234)
    random.seed(7)
    expected = (torch.rand(3), random.random())
    torch.manual_seed(1234)
    random.seed(7)

    load_transnetv2("cpu")

    assert torch.equal(torch.rand(3), expected[0]) and random.random() == expected[1]
    assert not torch.are_deterministic_algorithms_enabled()


def test_transnetv2_predictions_to_boundaries() -> None:
    single = np.zeros(60)
    many = np.zeros(60)
    single[19] = 0.9  # hard cut: the network fires on the last frame of the old shot
    many[18:22] = 0.8  # many-hot around the cut: the same boundary, not another
    many[35:45] = 0.7  # a soft fade that the single-frame output missed

    assert boundaries_from_predictions(single, None) == [20]
    assert boundaries_from_predictions(single, many) == [20, 40]
    assert boundaries_from_predictions(single, many, min_gradual_frames=11) == [20]


def test_unknown_detector_suggests_the_close_name(cuts_video: SceneVideo) -> None:
    with pytest.raises(UnknownNameError, match="histogram") as err:
        detect_shots(cuts_video.path, detector="histgram")
    assert err.value.suggestions == ["histogram"]
    assert SHOT_DETECTORS.names() == ["histogram", "transnetv2"]


def test_bad_detector_options_raise_config_error(cuts_video: SceneVideo) -> None:
    with pytest.raises(ConfigError, match="treshold"):
        detect_shots(cuts_video.path, detector="transnetv2", treshold=0.3)
    with pytest.raises(ConfigError, match="ratio"):
        detect_shots(cuts_video.path, ratio=0.5)
    with pytest.raises(ConfigError, match="threshold"):
        TransNetV2Detector(threshold=1.5)


def test_missing_file_names_the_file(tmp_path) -> None:
    with pytest.raises(VideoNotFoundError, match=r"nope\.mp4"):
        detect_shots(tmp_path / "nope.mp4")
