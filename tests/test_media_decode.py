"""vrag.media decoding: right frame at the right (PTS) time, for every container, backend and oddity."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.synth import index_frame, read_index, set_mp4_rotation, write_video
from vrag.errors import ConfigError
from vrag.media import ScanReport, VideoSource, open_video
from vrag.media._probe import video_id

CONTAINERS = [".mp4", ".mkv", ".webm", ".mov", ".avi"]
BACKENDS = ["decord", "pyav"]
VFR_MS = [0, 40, 80, 200, 230, 260, 700, 733, 766, 1500, 1540, 2500]


def indices_of(frames_data: np.ndarray, rotation: int = 0) -> list[int]:
    """Read each frame's painted index (undoing a clockwise display rotation first)."""
    return [read_index(np.rot90(f, rotation // 90)) for f in frames_data]


def check_frames(video: VideoSource, frames, expected_idx, expected_ms) -> None:
    assert frames.indices.tolist() == list(expected_idx)
    assert indices_of(frames.data, video.rotation) == list(expected_idx)
    np.testing.assert_allclose(frames.times, np.asarray(expected_ms) / 1000, atol=1e-3)
    assert frames.data.dtype == np.uint8 and frames.times.dtype == np.float64


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("suffix", CONTAINERS)
def test_every_frame_at_its_time(tmp_path: Path, suffix: str, backend: str) -> None:
    path = write_video(tmp_path / f"v{suffix}", n_frames=40, fps=25, size=(64, 48))
    video = open_video(path, backend=backend)
    assert (video.width, video.height, video.frame_count, video.rotation) == (64, 48, 40, 0)
    assert video.duration == pytest.approx(1.6, abs=1e-3)
    assert video.fps == pytest.approx(25.0) and not video.is_vfr
    assert video.codec == {".webm": "vp9", ".avi": "mpeg4"}.get(suffix, "h264")
    expected_ms = [i * 40 for i in range(40)]
    check_frames(video, video.frames_at(video.frame_times), range(40), expected_ms)
    assert video.backend == backend


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm"])
def test_variable_frame_rate_uses_pts(tmp_path: Path, suffix: str, backend: str) -> None:
    path = write_video(tmp_path / f"vfr{suffix}", n_frames=len(VFR_MS), pts_ms=VFR_MS)
    video = open_video(path, backend=backend)
    assert video.is_vfr
    np.testing.assert_allclose(video.frame_times, np.asarray(VFR_MS) / 1000, atol=1e-3)
    # the frame on screen at t is the last frame whose time <= t
    asked = [0.0, 0.1, 0.199, 0.2, 0.69, 1.0, 2.0, 2.4, 99.0]
    expected = [int(np.searchsorted(VFR_MS, t * 1000, side="right")) - 1 for t in asked]
    frames = video.frames_at(asked)
    check_frames(video, frames, expected, [VFR_MS[i] for i in expected])


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm", ".mov"])
def test_nonzero_start_time_is_subtracted(tmp_path: Path, suffix: str) -> None:
    path = write_video(tmp_path / f"late{suffix}", n_frames=30, fps=25, start_ms=1500)
    video = open_video(path)
    assert video.start_time == pytest.approx(1.5, abs=1e-3)
    assert video.frame_times[0] == pytest.approx(0.0, abs=1e-3)
    assert video.duration == pytest.approx(1.2, abs=1e-3)
    check_frames(video, video.frames_at([0.0, 0.5, 1.0]), [0, 12, 25], [0, 480, 1000])


@pytest.mark.parametrize("degrees", [90, 180, 270])
@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_rotation_is_applied_clockwise(tmp_path: Path, suffix: str, degrees: int) -> None:
    path = set_mp4_rotation(write_video(tmp_path / f"r{suffix}", n_frames=20, size=(64, 48)), degrees)
    video = open_video(path)
    assert video.rotation == degrees and video.backend == "pyav"
    assert (video.width, video.height) == ((48, 64) if degrees in (90, 270) else (64, 48))
    frames = video.frames_at([0.0, 0.4, 0.76])
    assert frames.data.shape == (3, video.height, video.width, 3)
    check_frames(video, frames, [0, 10, 19], [0, 400, 760])
    # pixel-exact orientation: a player turns the stored picture clockwise by `degrees`
    expected = np.rot90(index_frame(10, 64, 48), -(degrees // 90)).astype(int)
    assert np.abs(frames.data[1].astype(int) - expected).mean() < 12
    resized = video.frames_at([0.4], size=(30, 40))
    assert resized.data.shape == (1, 40, 30, 3) and indices_of(resized.data, degrees) == [10]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_odd_dimensions(tmp_path: Path, suffix: str, backend: str) -> None:
    video = open_video(write_video(tmp_path / f"odd{suffix}", n_frames=20, size=(33, 17)), backend=backend)
    assert (video.width, video.height) == (33, 17)
    frames = video.frames_at(video.frame_times)
    assert frames.data.shape == (20, 17, 33, 3)
    check_frames(video, frames, range(20), [i * 40 for i in range(20)])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("size", [(32, 24), (33, 17), (48, 27), (24, 24), (224, 224), (100, 30)])
def test_resize_keeps_the_right_frame(tmp_path: Path, size: tuple[int, int], backend: str) -> None:
    # decord fails on (48, 27) and (24, 24): the source must fall back to PyAV, not fail
    video = open_video(write_video(tmp_path / "v.mp4", n_frames=30, size=(96, 64)), backend=backend)
    frames = video.frames_at([0.0, 0.6, 1.16], size=size)
    assert frames.data.shape == (3, size[1], size[0], 3)
    check_frames(video, frames, [0, 15, 29], [0, 600, 1160])


@pytest.mark.parametrize("suffix", CONTAINERS)
def test_decord_matches_pyav_on_random_access(tmp_path: Path, suffix: str) -> None:
    path = write_video(tmp_path / f"long{suffix}", n_frames=120, fps=30, size=(80, 48))
    fast, reference = open_video(path, backend="decord"), open_video(path, backend="pyav")
    assert fast.backend == "decord"
    rng = np.random.default_rng(0)
    times = fast.frame_times[rng.permutation(120)[:40]]
    a, b = fast.frames_at(times), reference.frames_at(times)
    assert fast.backend == "decord", "decord should not have needed the PyAV fallback"
    assert a.indices.tolist() == b.indices.tolist() == indices_of(a.data) == indices_of(b.data)
    assert np.abs(a.data.astype(int) - b.data.astype(int)).mean() < 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_uniform_picks_centres_of_equal_parts(tmp_path: Path, backend: str) -> None:
    video = open_video(write_video(tmp_path / "v.mp4", n_frames=50, fps=25), backend=backend)
    frames = video.uniform(4)  # parts of 0.5 s; centres 0.25, 0.75, 1.25, 1.75 s
    check_frames(video, frames, [6, 18, 31, 43], [240, 720, 1240, 1720])
    window = video.uniform(2, 1.0, 1.4, size=(16, 16))
    check_frames(video, window, [27, 32], [1080, 1280])
    with pytest.raises(ConfigError):
        video.uniform(0)
    with pytest.raises(ConfigError):
        video.uniform(3, 1.0, 1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_frames_at_keeps_order_and_clamps(tmp_path: Path, backend: str) -> None:
    video = open_video(write_video(tmp_path / "v.mp4", n_frames=50, fps=25), backend=backend)
    frames = video.frames_at([1.0, -3.0, 0.5, 1.0, 50.0, 0.039])
    check_frames(video, frames, [25, 0, 12, 25, 49, 0], [1000, 0, 480, 1000, 1960, 0])
    assert len(video.frames_at([])) == 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_iter_frames_every_frame_in_bounded_batches(tmp_path: Path, suffix: str, backend: str) -> None:
    video = open_video(write_video(tmp_path / f"v{suffix}", n_frames=60, fps=25), backend=backend)
    batches = list(video.iter_frames(batch=16, size=(32, 24)))
    assert [len(b) for b in batches] == [16, 16, 16, 12]
    indices = np.concatenate([b.indices for b in batches])
    assert indices.tolist() == list(range(60))
    assert np.concatenate([indices_of(b.data) for b in batches]).tolist() == list(range(60))
    np.testing.assert_allclose(np.concatenate([b.times for b in batches]), np.arange(60) * 0.04, atol=1e-3)
    part = np.concatenate([b.indices for b in video.iter_frames(start=0.5, end=1.0)])
    assert part.tolist() == list(range(12, 25))  # on screen during [0.5, 1.0): 0.48 s ... 0.96 s


@pytest.mark.parametrize("backend", BACKENDS)
def test_iter_frames_at_a_target_rate(tmp_path: Path, backend: str) -> None:
    video = open_video(write_video(tmp_path / "v.mp4", n_frames=60, fps=25), backend=backend)
    sampled = list(video.iter_frames(fps=5, batch=4))
    indices = np.concatenate([b.indices for b in sampled])
    assert indices.tolist() == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]
    assert np.concatenate([indices_of(b.data) for b in sampled]).tolist() == indices.tolist()
    dense = np.concatenate([b.indices for b in video.iter_frames(fps=100)])
    assert dense.tolist() == list(range(60))  # above the native rate: every frame once


def test_iter_frames_vfr_rate_sampling(tmp_path: Path) -> None:
    video = open_video(write_video(tmp_path / "vfr.mkv", n_frames=len(VFR_MS), pts_ms=VFR_MS))
    frames = list(video.iter_frames(fps=2))  # targets 0, 0.5, 1.0, ..., 2.5 s
    indices = np.concatenate([b.indices for b in frames]).tolist()
    assert indices == [0, 5, 8, 9, 10, 11]
    np.testing.assert_allclose(np.concatenate([b.times for b in frames]), [0, 0.26, 0.766, 1.5, 1.54, 2.5])


def test_audio_is_16k_mono_float(tmp_path: Path) -> None:
    video = open_video(write_video(tmp_path / "a.mp4", n_frames=25, audio_s=1.5))
    assert [s.kind for s in video.audio_streams] == ["audio"] and video.audio_streams[0].codec == "aac"
    samples = video.audio()
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) == pytest.approx(1.5 * 16000, rel=0.01)
    window = samples[2000:18000]
    peak_hz = np.argmax(np.abs(np.fft.rfft(window))) * 16000 / len(window)
    assert peak_hz == pytest.approx(440, abs=2)  # the synthesized tone
    assert len(video.audio(sample_rate=8000)) == pytest.approx(1.5 * 8000, rel=0.01)
    silent = open_video(write_video(tmp_path / "silent.mp4", n_frames=5))
    assert silent.audio_streams == () and silent.audio().shape == (0,)


def test_subtitle_streams_are_listed(tmp_path: Path) -> None:
    path = write_video(tmp_path / "s.mkv", n_frames=10, subtitles=[(0.0, 0.3, "hi")], subtitle_language="fra")
    video = open_video(path)
    assert [(s.kind, s.codec, s.language) for s in video.subtitle_streams] == [("subtitle", "subrip", "fra")]


def test_video_id_is_a_content_hash(tmp_path: Path) -> None:
    path = write_video(tmp_path / "a.mp4", n_frames=20)
    first = open_video(path).video_id
    assert first == open_video(path).video_id and len(first) == 32
    copy = shutil.copy(path, tmp_path / "copy of a.mp4")
    assert open_video(copy).video_id == first  # same bytes, other name: same video
    write_video(path, n_frames=20, frame_fn=lambda i, w, h: index_frame(i + 1, w, h))
    assert open_video(path).video_id != first


def test_video_id_reads_only_sampled_blocks(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(8 * 1024 * 1024))
    before = video_id(big)
    with big.open("r+b") as fh:  # a change inside the middle block changes the id
        fh.seek(4 * 1024 * 1024)
        fh.write(b"x")
    assert video_id(big) != before
    with big.open("ab") as fh:  # so does a change of size
        fh.write(b"y")
    assert video_id(big) != before


def test_source_pickles_and_closes(tmp_path: Path) -> None:
    video = open_video(write_video(tmp_path / "v.mp4", n_frames=20))
    video.frames_at([0.2])
    clone = pickle.loads(pickle.dumps(video))
    assert indices_of(clone.frames_at([0.4]).data) == [10]
    with video:
        assert indices_of(video.frames_at([0.6]).data) == [15]
    assert indices_of(video.frames_at([0.0]).data) == [0]  # reopens after close
    assert "20 frames" in repr(video)


def test_bad_arguments_raise_config_errors(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", n_frames=5)
    with pytest.raises(ConfigError, match="backend"):
        open_video(path, backend="ffmpeg")
    video = open_video(path)
    for size in [(0, 10), (10.5, 3), "big"]:
        with pytest.raises(ConfigError):
            video.frames_at([0.0], size=size)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        next(video.iter_frames(batch=0))
    with pytest.raises(ConfigError):
        next(video.iter_frames(fps=-1))


def test_videosource_docstring_example_runs() -> None:
    import doctest

    import vrag.media._source as module

    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(module.VideoSource, "VideoSource", globs={}):
        runner.run(test)
    assert runner.summarize(verbose=False).attempted >= 5
    assert runner.summarize(verbose=False).failed == 0


def test_public_api() -> None:
    import vrag.media

    assert {"open_video", "scan_videos", "VideoSource", "ScanReport"} <= set(vrag.media.__all__)
    assert ScanReport.__dataclass_params__.frozen  # type: ignore[attr-defined]
