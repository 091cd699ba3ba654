"""Chunking: segments tile the video, similar shots merge, long shots split at sentences, text lands right."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import vrag
from tests.scenes import Scene, SceneVideo, write_scenes
from vrag.chunking import CHUNKERS, assign_cues, chunk_video, detect_shots
from vrag.chunking._text import TextIndex, content_words
from vrag.errors import ConfigError, UnknownNameError, VideoNotFoundError
from vrag.media import open_video
from vrag.types import Cue, Frames, Segment, Shot


@pytest.fixture(scope="module")
def four_shots(tmp_path_factory: pytest.TempPathFactory) -> SceneVideo:
    """A, A' (same colours, another layout), B, C: 2.4 s each at 25 fps."""
    scenes = [Scene(60, 0, 0), Scene(60, 0, 5), Scene(60, 1), Scene(60, 2)]
    return write_scenes(tmp_path_factory.mktemp("four") / "four.mp4", scenes, size=(64, 36))


@pytest.fixture(scope="module")
def long_shot(tmp_path_factory: pytest.TempPathFactory) -> SceneVideo:
    """One 20 s shot (500 frames at 25 fps)."""
    return write_scenes(tmp_path_factory.mktemp("long") / "long.mp4", [Scene(500, 3)], size=(48, 28))


def assert_tiles(segments: list[Segment], duration: float, frame_times: np.ndarray) -> None:
    assert segments[0].start == 0.0
    assert segments[-1].end == duration
    for a, b in itertools.pairwise(segments):
        assert a.end == b.start
        assert b.start in frame_times  # every boundary is a real frame time
    for seg in segments:
        assert seg.shots and seg.shots[0].start == seg.start and seg.shots[-1].end == seg.end
        assert len(seg.keyframes) == len(seg.shots)
        assert all(k in frame_times and seg.start <= k < seg.end for k in seg.keyframes)


def test_similar_consecutive_shots_merge_and_different_ones_stay_apart(four_shots: SceneVideo) -> None:
    video = open_video(four_shots.path)

    segments = chunk_video(video, cues=(), min_duration=1.0, max_duration=30.0)

    assert [len(s.shots) for s in segments] == [2, 1, 1]  # A+A' | B | C
    assert [s.start for s in segments[1:]] == four_shots.cut_times[1:]
    assert {s.video_id for s in segments} == {video.video_id}
    assert_tiles(segments, video.duration, video.frame_times)


def test_merging_never_exceeds_max_duration(four_shots: SceneVideo) -> None:
    segments = chunk_video(four_shots.path, cues=(), min_duration=1.0, max_duration=4.0)

    assert [len(s.shots) for s in segments] == [1, 1, 1, 1]


def test_custom_embedding_decides_what_merges(four_shots: SceneVideo) -> None:
    seen: list[int] = []

    def same(frames: Frames) -> np.ndarray:
        seen.append(len(frames))
        return np.ones((len(frames), 4))

    segments = chunk_video(four_shots.path, cues=(), embed=same, embed_size=(32, 18), min_duration=1.0)

    assert len(segments) == 1 and len(segments[0].shots) == 4 and seen


def test_embedding_with_a_wrong_shape_is_a_config_error(four_shots: SceneVideo) -> None:
    with pytest.raises(ConfigError, match=r"\[N, D\]"):
        chunk_video(four_shots.path, cues=(), embed=lambda frames: np.ones(3))


def test_long_shot_is_cut_where_sentences_end(long_shot: SceneVideo) -> None:
    cues = [
        Cue(0.5, 3.0, "First part"),
        Cue(3.0, 6.0, "ends here."),
        Cue(6.0, 9.5, "Second sentence is"),
        Cue(9.5, 12.9, "long and ends."),
        Cue(13.0, 19.0, "Third one."),
    ]
    video = open_video(long_shot.path)

    segments = chunk_video(video, cues=cues, min_duration=2.0, max_duration=8.0)

    assert [round(s.start, 2) for s in segments] == [0.0, 6.0, pytest.approx(12.9, abs=0.021)]
    assert [s.text for s in segments] == [
        "First part ends here.",
        "Second sentence is long and ends.",
        "Third one.",
    ]
    assert segments[1].cues == tuple(cues[2:4])
    assert_tiles(segments, video.duration, video.frame_times)


def test_long_shot_without_text_is_cut_evenly_within_bounds(long_shot: SceneVideo) -> None:
    video = open_video(long_shot.path)

    segments = chunk_video(video, cues=(), min_duration=2.0, max_duration=8.0)

    assert len(segments) == 3
    assert all(2.0 <= s.duration <= 8.0 for s in segments)
    assert [s.start for s in segments] == pytest.approx([0.0, 20 / 3, 40 / 3], abs=0.021)
    assert all(len(s.shots) == 1 and s.shots[0].end_frame - s.shots[0].start_frame > 100 for s in segments)


def test_too_short_shot_joins_its_more_similar_neighbour(tmp_path) -> None:
    # B' is a 0.4 s look-alike of B (the shot after it): it must join B, not A
    scenes = [Scene(60, 0), Scene(10, 1, 4), Scene(60, 1)]
    video = write_scenes(tmp_path / "short.mp4", scenes, size=(64, 36))

    segments = chunk_video(video.path, cues=(), threshold=0.99, min_duration=1.0, max_duration=30.0)

    assert [(s.start, len(s.shots)) for s in segments] == [(0.0, 1), (video.cut_times[0], 2)]
    assert all(s.duration >= 1.0 for s in segments)


def test_short_piece_between_two_full_segments_keeps_both_bounds(four_shots: SceneVideo) -> None:
    shots = detect_shots(four_shots.path)
    # pretend the second shot is only 0.4 s long: the merged result would pass max_duration and is re-cut
    starts = [0, 60, 70, 180]
    times = open_video(four_shots.path).frame_times
    fake = [Shot(0.0 if a == 0 else float(times[a]), shots[-1].end if b == 240 else float(times[b]), a, b)
            for a, b in zip(starts, [*starts[1:], 240], strict=True)]  # fmt: skip

    segments = chunk_video(
        four_shots.path, cues=(), shots=fake, threshold=1.0, min_duration=1.0, max_duration=4.4
    )

    assert all(1.0 <= s.duration <= 4.4 + 1e-9 for s in segments)
    assert_tiles(segments, shots[-1].end, times)


def test_shots_chunker_gives_one_segment_per_shot(four_shots: SceneVideo) -> None:
    video = open_video(four_shots.path)
    segments = chunk_video(video, chunker="shots", cues=())

    assert [s.shots[0] for s in segments] == detect_shots(video)
    assert [s.keyframes[0] for s in segments] == [video.frame_times[f] for f in (29, 89, 149, 209)]


def test_fixed_windows_tile_and_end_at_duration(four_shots: SceneVideo) -> None:
    video = open_video(four_shots.path)  # 9.6 s

    segments = chunk_video(video, chunker="fixed", window=4.0, cues=())

    assert [(s.start, s.end) for s in segments] == [(0.0, 4.0), (4.0, 8.0), (8.0, video.duration)]
    assert_tiles(segments, video.duration, video.frame_times)


def test_overlapping_fixed_windows_share_cues(four_shots: SceneVideo) -> None:
    cues = [Cue(2.5, 3.5, "middle")]

    segments = chunk_video(four_shots.path, chunker="fixed", window=4.0, stride=2.0, cues=cues)

    assert [s.start for s in segments] == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert [s.text for s in segments] == ["middle", "middle", "", "", ""]


def test_cues_go_to_the_segment_holding_their_midpoint() -> None:
    shot = Shot(0.0, 1.0, 0, 1)
    segs = [Segment("v", 0.0, 2.0, (shot,), (0.5,)), Segment("v", 2.0, 5.0, (shot,), (3.0,))]
    cues = [
        Cue(1.5, 2.5, "on the boundary"),
        Cue(-1.0, 0.5, "early"),
        Cue(0.5, 1.9, "first"),
        Cue(4.8, 6, "late"),
    ]

    out = assign_cues(segs, cues)

    assert [s.text for s in out] == ["early first", "on the boundary late"]
    assert out[1].cues == (cues[0], cues[3])


def test_transcript_is_read_from_the_video_when_no_cues_are_given(tmp_path) -> None:
    subtitles = [(0.5, 1.5, "Hello there."), (3.0, 4.0, "Second scene.")]
    video = write_scenes(
        tmp_path / "subs.mp4", [Scene(60, 0), Scene(60, 2)], size=(64, 36), subtitles=subtitles
    )

    segments = chunk_video(video.path, chunker="shots", asr="off")

    assert [s.text for s in segments] == ["Hello there.", "Second scene."]


def test_chunk_video_is_reachable_from_the_top_level_package(four_shots: SceneVideo) -> None:
    assert len(vrag.chunk_video(four_shots.path, chunker="fixed", window=5.0, cues=())) == 2


def test_unknown_chunker_and_option_names_raise(four_shots: SceneVideo) -> None:
    with pytest.raises(UnknownNameError) as err:
        chunk_video(four_shots.path, chunker="semantik")
    assert err.value.suggestions == ["semantic"]
    assert CHUNKERS.names() == ["fixed", "semantic", "shots"]
    with pytest.raises(ConfigError, match="max_duraton"):
        chunk_video(four_shots.path, max_duraton=5.0)
    with pytest.raises(ConfigError, match="min_duration"):
        chunk_video(four_shots.path, min_duration=5.0, max_duration=8.0)
    with pytest.raises(ConfigError, match="text_threshold"):
        chunk_video(four_shots.path, text_threshold=1.5)
    with pytest.raises(ConfigError, match="window"):
        chunk_video(four_shots.path, chunker="fixed", window=0)
    with pytest.raises(ConfigError, match="tile"):
        chunk_video(four_shots.path, cues=(), shots=[Shot(0.0, 1.0, 0, 25)])


def test_missing_video_names_the_file(tmp_path) -> None:
    with pytest.raises(VideoNotFoundError, match=r"gone\.mp4"):
        chunk_video(tmp_path / "gone.mp4")


# four_shots: A is 0-2.4 s, A' (a look-alike of A) 2.4-4.8 s
GRADIENT = (
    Cue(0.2, 1.1, "Gradient descent updates the weights a little at every step."),
    Cue(1.2, 2.2, "The gradient tells us which direction increases the loss."),
)
GRADIENT_GOES_ON = (
    Cue(2.6, 3.5, "So each step of gradient descent moves the weights against the gradient."),
    Cue(3.6, 4.6, "Repeat until the loss stops falling."),
)
OVERFITTING = (
    Cue(2.6, 3.5, "Overfitting means memorising the training examples."),
    Cue(3.6, 4.6, "Hold out a validation set to catch it early."),
)


def test_look_alike_shots_with_continuing_speech_merge(four_shots: SceneVideo) -> None:
    cues = GRADIENT + GRADIENT_GOES_ON

    segments = chunk_video(four_shots.path, cues=cues, min_duration=1.0, max_duration=30.0)

    assert [len(s.shots) for s in segments] == [2, 1, 1]
    assert segments[0].cues == cues


def test_look_alike_shots_on_different_topics_stay_apart(four_shots: SceneVideo) -> None:
    video = open_video(four_shots.path)

    segments = chunk_video(video, cues=GRADIENT + OVERFITTING, min_duration=1.0, max_duration=30.0)

    assert [len(s.shots) for s in segments] == [1, 1, 1, 1]
    assert [s.start for s in segments[1:]] == four_shots.cut_times  # exactly the cut frames' times
    assert segments[1].cues == OVERFITTING
    assert_tiles(segments, video.duration, video.frame_times)


def test_text_is_not_compared_when_a_side_has_few_words(four_shots: SceneVideo) -> None:
    cues = (*GRADIENT, Cue(2.6, 3.5, "Right, okay."))

    segments = chunk_video(four_shots.path, cues=cues, min_duration=1.0, max_duration=30.0)

    assert [len(s.shots) for s in segments] == [2, 1, 1]


def test_text_threshold_zero_merges_on_looks_alone(four_shots: SceneVideo) -> None:
    segments = chunk_video(
        four_shots.path, cues=GRADIENT + OVERFITTING, text_threshold=0.0, min_duration=1.0, max_duration=30.0
    )

    assert [len(s.shots) for s in segments] == [2, 1, 1]


def test_content_words_drop_stop_words_and_plural_endings() -> None:
    assert content_words("The layers' weights, and a layer's weight: it's the same!") == [
        "layer",
        "weight",
        "layer",
        "weight",
    ]
    index = TextIndex.of(GRADIENT + OVERFITTING)
    assert index.similarity(index.words(0.0, 2.4), index.words(2.4, 4.8)) == 0.0
    assert index.similarity(index.words(0.0, 2.4), index.words(0.0, 2.4)) == pytest.approx(1.0)
