"""Captioned clips on disk: the ``DATA_DIR`` layout ``vrag train`` reads, and writers for it.

Layout (either form):

* ``DATA_DIR/captions.jsonl``: one JSON object per line, ``{"video": "a.mp4", "caption": "a dog runs"}``,
  optionally with ``"start"`` / ``"end"`` in seconds (default: the whole video). ``video`` is relative to
  ``DATA_DIR`` (or absolute). Several lines may name the same video with different spans.
* otherwise every video file under ``DATA_DIR`` with a same-name ``.txt`` beside it (``a.mp4`` + ``a.txt``)
  is one pair: the whole video and the text file's content as its caption.

Example:
    >>> import tempfile
    >>> from vrag.eval._shapes import scenes
    >>> folder = write_shapes_set(tempfile.mkdtemp(), scenes(0, 3))
    >>> [p.caption for p in read_pairs(folder)][:1]
    ['an orange circle moving right to left on a black background']
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vrag.errors import ConfigError

if TYPE_CHECKING:
    from vrag.encoders import EncoderSpec
    from vrag.eval._shapes import ShapeScene

__all__ = ["CAPTIONS_FILE", "CaptionedClip", "decode_clips", "read_pairs", "write_pairs", "write_shapes_set"]

CAPTIONS_FILE = "captions.jsonl"
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v")


@dataclass(frozen=True, slots=True)
class CaptionedClip:
    """One training pair: a video span and the text that describes it.

    Attributes:
        video: the video file.
        caption: what the span shows.
        start: span start in seconds (``None``: the video's start).
        end: span end in seconds (``None``: the video's end).
    """

    video: Path
    caption: str
    start: float | None = None
    end: float | None = None


def read_pairs(data_dir: str | os.PathLike[str]) -> list[CaptionedClip]:
    """The (video, caption) pairs of ``data_dir`` (see the module docstring for the layout).

    Raises:
        ConfigError: no such folder, a malformed ``captions.jsonl`` line, a missing video, or no pairs at all.
    """
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise ConfigError(f"{root}: no such folder; pass the folder that holds the captioned videos")
    listing = root / CAPTIONS_FILE
    pairs = _read_jsonl(root, listing) if listing.is_file() else _read_sidecars(root)
    if not pairs:
        raise ConfigError(
            f'{root}: no (video, caption) pairs; add {CAPTIONS_FILE} (one {{"video": ..., "caption": ...}} '
            "per line) or a same-name .txt caption beside each video"
        )
    return pairs


def _read_jsonl(root: Path, listing: Path) -> list[CaptionedClip]:
    pairs = []
    for number, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            video, text = root / str(row["video"]), str(row["caption"]).strip()
            start, end = _opt_float(row.get("start")), _opt_float(row.get("end"))
        except (ValueError, KeyError, TypeError) as err:
            raise ConfigError(
                f'{listing}: line {number} is not {{"video": PATH, "caption": TEXT}} JSON ({err}); fix it'
            ) from err
        if not video.is_file():
            raise ConfigError(f"{listing}: line {number} names {video}, which does not exist; fix the path")
        if not text:
            raise ConfigError(f"{listing}: line {number} has an empty caption; write one or drop the line")
        pairs.append(CaptionedClip(video, text, start, end))
    return pairs


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _read_sidecars(root: Path) -> list[CaptionedClip]:
    pairs = []
    for video in sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES):
        text_file = video.with_suffix(".txt")
        if text_file.is_file() and (text := text_file.read_text(encoding="utf-8").strip()):
            pairs.append(CaptionedClip(video, text))
    return pairs


def write_pairs(
    data_dir: str | os.PathLike[str],
    clips: Iterable[tuple[np.ndarray, str]],
    *,
    fps: float = 30.0,
    prefix: str = "clip",
) -> Path:
    """Write clips as H.264 mp4 files plus ``captions.jsonl``: a ``DATA_DIR`` for ``vrag train``.

    Args:
        data_dir: created if missing; an existing ``captions.jsonl`` is replaced.
        clips: ``(frames, caption)`` pairs, frames uint8 ``[T, H, W, 3]`` with even ``H`` and ``W``.
        fps: frame rate of the written videos.
        prefix: file names are ``{prefix}_{i:05d}.mp4``.

    Returns:
        ``data_dir``.
    """
    import av

    root = Path(data_dir).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (frames, text) in enumerate(clips):
        name = f"{prefix}_{i:05d}.mp4"
        with av.open(str(root / name), "w") as out:
            stream = out.add_stream("libx264", rate=round(fps))
            stream.height, stream.width = int(frames.shape[1]), int(frames.shape[2])
            stream.pix_fmt = "yuv420p"
            stream.codec_context.options = {"crf": "12"}  # near-lossless: colours survive the encode
            for frame in frames:
                out.mux(
                    stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24"))
                )
            out.mux(stream.encode())
        rows.append(json.dumps({"video": name, "caption": text}))
    (root / CAPTIONS_FILE).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def write_shapes_set(
    data_dir: str | os.PathLike[str],
    scenes: Sequence[ShapeScene],
    *,
    frames: int = 16,
    size: int = 64,
    fps: float = 30.0,
    seed: int = 0,
) -> Path:
    """The procedural captioned set (moving shapes: colour, shape, direction) as a ``DATA_DIR``.

    Scene ``i`` is rendered with ``seed + i`` (so equal scenes differ a little in size and placement) and
    captioned with :func:`vrag.eval._shapes.caption`. At 16 frames and 30 fps a clip lasts 0.53 s: one
    VideoMAE window (16 frames at 30 fps, 4 of them sampled at 7.5 fps).
    """
    from vrag.eval._shapes import caption, render

    items = ((render(s, frames=frames, size=size, seed=seed + i), caption(s)) for i, s in enumerate(scenes))
    return write_pairs(data_dir, items, fps=fps, prefix="shape")


def decode_clips(pairs: Sequence[CaptionedClip], spec: EncoderSpec) -> list[np.ndarray]:
    """Decode each pair's span the way the index does: ``spec.clip_times(start, end)`` at the decode size."""
    from vrag.media import open_video

    clips = []
    for pair in pairs:
        with open_video(pair.video) as video:
            start = pair.start or 0.0
            end = pair.end if pair.end is not None else video.duration
            size = spec.decode_size(video.width, video.height)
            clips.append(video.frames_at(spec.clip_times(start, end), size=size).data)
    return clips
