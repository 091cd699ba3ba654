"""Bad input never crashes: each case works right or raises a typed MediaError naming the file and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from tests.synth import index_frame, read_index, write_audio_only, write_image, write_video
from vrag.errors import (
    CorruptVideoError,
    DecodeError,
    MediaError,
    NotAVideoError,
    NoVideoStreamError,
    VideoNotFoundError,
)
from vrag.media import open_video, scan_videos


def noisy_frame(i: int, w: int, h: int) -> np.ndarray:
    """An index frame with noise, so the file is big and damage lands in picture data."""
    noise = np.random.default_rng(i).integers(-25, 25, (h, w, 3))
    return np.clip(index_frame(i, w, h).astype(int) + noise, 0, 255).astype(np.uint8)


def real_video(path: Path) -> Path:
    return write_video(path, n_frames=100, fps=25, size=(160, 120), frame_fn=noisy_frame)


def faststart(src: Path, dst: Path) -> Path:
    """Remux with the index (moov) before the data, as streaming sites serve mp4."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return dst


def truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def garble(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid - 3000 : mid + 3000] = np.random.default_rng(1).integers(0, 256, 6000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def raises(error: type[MediaError], path: Path) -> MediaError:
    with pytest.raises(error) as info:
        open_video(path)
    message = str(info.value)
    assert str(path) in message and info.value.path == path
    assert ";" in message and len(message.split(";")[-1].strip()) > 10  # a fix follows the problem
    return info.value


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").touch()
    assert "empty" in str(raises(NotAVideoError, tmp_path / "empty.mp4"))


def test_text_file_named_mp4(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_text("these are my notes, not a video\n" * 20)
    err = raises(NotAVideoError, tmp_path / "notes.mp4")
    assert not isinstance(err, CorruptVideoError)


def test_truncated_mp4_with_index_at_the_end(tmp_path: Path) -> None:
    path = truncate(real_video(tmp_path / "cut.mp4"))
    assert "truncated or damaged" in str(raises(CorruptVideoError, path))


def test_truncated_faststart_mp4_yields_its_first_part(tmp_path: Path) -> None:
    path = truncate(faststart(real_video(tmp_path / "src.mp4"), tmp_path / "cut.mp4"))
    video = open_video(path)
    assert video.backend == "pyav" and 10 < video.frame_count < 100
    frames = np.concatenate([b.indices for b in video.iter_frames(size=(64, 48))])
    assert len(frames) >= video.frame_count - 5 and frames.tolist() == list(range(len(frames)))
    first = video.frames_at([0.0, 0.2])
    assert [read_index(f) for f in first.data] == [0, 5]
    _every_frame_right_or_decode_error(video)


def test_garbled_mp4_decodes_around_the_damage(tmp_path: Path) -> None:
    path = garble(real_video(tmp_path / "garbled.mp4"))
    for backend in ("pyav", "decord"):
        video = open_video(path, backend=backend)
        got = np.concatenate([b.indices for b in video.iter_frames()])
        assert 50 <= len(got) < 100 and got[0] == 0  # the damaged part is left out, the rest decodes
        assert video.backend == "pyav"  # decord failed on the damage and handed over
        missing = np.setdiff1d(np.arange(100), got)
        with pytest.raises(DecodeError) as info:
            video.frames_at([video.frame_times[missing[0]]])
        assert str(path) in str(info.value) and "damaged" in str(info.value)
        assert [read_index(f) for f in video.frames_at([0.0, 0.2]).data] == [0, 5]


def _every_frame_right_or_decode_error(video) -> None:
    for i, t in enumerate(video.frame_times):
        try:
            frame = video.frames_at([t])
        except DecodeError as err:
            assert err.path == video.path
            continue
        assert frame.indices.tolist() == [i]


def test_audio_only_file(tmp_path: Path) -> None:
    err = raises(NoVideoStreamError, write_audio_only(tmp_path / "song.m4a", 0.5))
    assert isinstance(err, NotAVideoError) and "no video stream" in str(err)


def test_still_image(tmp_path: Path) -> None:
    assert "still image" in str(raises(NotAVideoError, write_image(tmp_path / "photo.png")))


def test_one_frame_video(tmp_path: Path) -> None:
    video = open_video(write_video(tmp_path / "one.mp4", n_frames=1))
    assert video.frame_count == 1 and video.frame_times.tolist() == [0.0]
    frames = video.uniform(4)
    assert frames.indices.tolist() == [0] * 4 and frames.times.tolist() == [0.0] * 4
    assert [read_index(f) for f in frames.data] == [0] * 4
    assert sum(len(b) for b in video.iter_frames()) == 1


def test_tiny_odd_video(tmp_path: Path) -> None:
    video = open_video(write_video(tmp_path / "tiny.mp4", n_frames=10, size=(33, 17)))
    frames = video.frames_at(video.frame_times)
    assert frames.data.shape == (10, 17, 33, 3) and [read_index(f) for f in frames.data] == list(range(10))


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_path_with_spaces_and_non_ascii(tmp_path: Path, backend: str) -> None:
    folder = tmp_path / "mes vidéos été"
    folder.mkdir()
    video = open_video(write_video(folder / "clip ñ 日本.mkv", n_frames=10), backend=backend)
    assert [read_index(f) for f in video.frames_at([0.0, 0.2]).data] == [0, 5]
    assert video.backend == backend


def test_missing_path(tmp_path: Path) -> None:
    err = raises(VideoNotFoundError, tmp_path / "nowhere.mp4")
    assert isinstance(err, FileNotFoundError)


def test_directory_given_as_a_file(tmp_path: Path) -> None:
    assert "scan_videos" in str(raises(VideoNotFoundError, tmp_path))


def test_garbled_index_is_corrupt(tmp_path: Path) -> None:
    path = write_video(tmp_path / "small.mp4", n_frames=50)  # tiny: the middle is the moov index
    garble(path)
    raises(CorruptVideoError, path)


def test_scan_reports_bad_files_and_goes_on(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    good = [write_video(tmp_path / "a.mp4", n_frames=5), write_video(tmp_path / "sub" / "b.webm", n_frames=5)]
    good.append(write_video(tmp_path / "sub" / "deeper" / "c.MKV", n_frames=5))
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    write_audio_only(tmp_path / "sub" / "voice.mp4", 0.3)
    for name in ("notes.txt", "a.srt", "a.vtt", "meta.json"):
        (tmp_path / name).write_text("not a video")
    write_image(tmp_path / "cover.png")
    (tmp_path / ".hidden.mp4").write_text("editor swap file")

    report = scan_videos(tmp_path)
    assert [v.path for v in report.videos] == sorted(good)
    assert [(p.name, type(e)) for p, e in report.failed] == [
        ("broken.mp4", NotAVideoError),
        ("voice.mp4", NoVideoStreamError),
    ]
    assert all(str(p) in str(e) for p, e in report.failed)

    flat = scan_videos([tmp_path], recursive=False)
    assert [v.path.name for v in flat.videos] == ["a.mp4"] and len(flat.failed) == 1


def test_scan_validates_files_named_explicitly(tmp_path: Path) -> None:
    video = write_video(tmp_path / "a.mp4", n_frames=5)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    report = scan_videos([video, notes, tmp_path / "gone.mp4", video])
    assert [v.path for v in report.videos] == [video]  # listed twice, opened once
    assert [(p.name, type(e)) for p, e in report.failed] == [
        ("notes.txt", NotAVideoError),
        ("gone.mp4", VideoNotFoundError),
    ]


def test_bad_files_never_crash_the_process(tmp_path: Path) -> None:
    """decord can segfault on damaged files: run every bad case in a child process, with both backends."""
    cut = truncate(faststart(real_video(tmp_path / "src.mp4"), tmp_path / "cut.mp4"))
    garbled = garble(real_video(tmp_path / "garbled.mp4"))
    script = (
        "import sys\n"
        "from vrag.errors import MediaError\nfrom vrag.media import open_video\n"
        "for path in sys.argv[1:]:\n"
        "    for backend in ('decord', 'pyav'):\n"
        "        try:\n"
        "            v = open_video(path, backend=backend)\n"
        "            n = sum(len(b) for b in v.iter_frames(size=(48, 27)))\n"
        "            v.uniform(8, size=(32, 32)) if n == v.frame_count else None\n"
        "        except MediaError:\n"
        "            pass\n"
        "print('survived')\n"
    )
    args = [str(p) for p in (cut, garbled)]
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "survived" in done.stdout, done.stderr[-2000:]
