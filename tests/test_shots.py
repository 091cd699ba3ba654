"""Shot detection: exact cut times from PTS, fades, no false cuts on motion, TransNetV2 wrapper parity."""

from __future__ import annotations

import itertools
import random

import av
import numpy as np
import pytest

from tests.scenes import Scene, SceneVideo, write_scenes
from tests.synth import write_video
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


# ---------------------------------------------------------------------------------------------------------
# slides: cuts that only the pixels show, compression noise, fades between look-alikes


def slide(title: str, bullets: tuple[str, ...], size: tuple[int, int] = (320, 180)) -> np.ndarray:
    """A white lecture slide with a blue title bar: every slide of this template has the same colours."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = size
    image = Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, height // 5), fill=(30, 60, 120))
    draw.text((10, 6), title, font=ImageFont.load_default(size=height // 9), fill=(255, 255, 255))
    for row, bullet in enumerate(bullets):
        font = ImageFont.load_default(size=height // 12)
        draw.text((16, height // 4 + row * height // 6), f"- {bullet}", font=font, fill=(20, 20, 20))
    return np.asarray(image)


SLIDES = (
    ("Neurons and layers", ("Weighted sum", "Stack layers for depth")),
    ("Backpropagation", ("Chain rule", "Errors flow backwards")),
    ("Activation functions", ("ReLU, sigmoid, tanh", "ReLU trains fastest")),
)


def test_cut_between_slides_of_one_template_is_found_at_the_exact_frame(tmp_path) -> None:
    # same background and title bar, only the words change: colour histograms barely move
    pictures = [slide(*s) for s in SLIDES]
    path = write_video(
        tmp_path / "slides.mp4", 90, size=(320, 180), frame_fn=lambda i, w, h: pictures[i // 30]
    )
    video = open_video(path)

    shots = detect_shots(video)

    assert [s.start_frame for s in shots[1:]] == [30, 60]
    assert [s.start for s in shots[1:]] == [video.frame_times[30], video.frame_times[60]]


def test_compression_noise_on_a_static_slide_is_not_a_cut(tmp_path) -> None:
    # a grainy slide at a low bit rate with a keyframe every 12 frames: each keyframe redraws the grain,
    # a small jump on every pixel at once, which is not a new shot
    rng = np.random.default_rng(0)
    base = slide(*SLIDES[0]).astype(np.float32)
    path = tmp_path / "grain.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "35", "g": "12"})
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for i in range(100):
            noisy = np.clip(base + rng.normal(0, 4.0, base.shape), 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(noisy, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())

    assert len(detect_shots(path)) == 1


@pytest.mark.parametrize(
    ("scenes", "transitions"),
    [
        # look-alikes (same colours): the fade-out and the fade-in must not become two boundaries
        ([Scene(40, 1, 1), Scene(40, 1, 6), Scene(40, 1, 9)], [("fade", 10), ("fade", 15)]),
        ([Scene(40, 0), Scene(40, 2, speed=2.0), Scene(40, 5)], [("dissolve", 14), ("dissolve", 25)]),
        ([Scene(40, 3), Scene(40, 7)], [("fade", 24)]),
    ],
    ids=["fades-between-look-alikes", "dissolves", "fade-dark-to-bright"],
)
def test_gradual_boundary_sits_at_the_centre_of_the_transition(
    tmp_path, scenes: list[Scene], transitions: list[tuple[str, int]]
) -> None:
    video = write_scenes(tmp_path / "gradual.mp4", scenes, transitions)

    found = [s.start_frame for s in detect_shots(video.path)[1:]]

    centres = [(t.start_frame + t.end_frame) / 2 for t in video.transitions]
    assert len(found) == len(centres)
    assert all(abs(f - c) <= 1 for f, c in zip(found, centres, strict=True)), (found, centres)


def test_fade_through_black_between_slides_is_one_boundary_at_its_darkest_point(tmp_path) -> None:
    # 30 frames of slide A (the last 5 fading out), then slide B (the first 5 fading in): the slides look
    # alike, so each half of the fade looks like a transition of its own; the shot starts at frame 30
    pictures = [slide(*s).astype(np.float32) for s in SLIDES[:2]]

    def frame(i: int, width: int, height: int) -> np.ndarray:
        gain = min(30 - i if i < 30 else i - 29, 6) / 6  # ... 5/6 ... 1/6 | 1/6 ... 5/6 ...
        return (pictures[i >= 30] * gain).astype(np.uint8)

    path = write_video(tmp_path / "fade.mp4", 60, fps=10, size=(320, 180), frame_fn=frame)
    video = open_video(path)

    shots = detect_shots(video)

    assert [s.start_frame for s in shots[1:]] == [30]
    assert shots[1].start == video.frame_times[30] == pytest.approx(3.0)
