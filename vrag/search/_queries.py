"""Query vectors for search by image or by example clip, and context expansion of hits by neighbours."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from vrag.errors import ConfigError
from vrag.types import Hit

if TYPE_CHECKING:
    from vrag.encoders import VideoEncoder

ClipQuery: TypeAlias = "str | os.PathLike[str] | tuple[str | os.PathLike[str], float, float]"
"""A video file (all of it) or ``(file, start_s, end_s)``."""


def image_vectors(
    encoders: Mapping[str, VideoEncoder], image: str | os.PathLike[str]
) -> dict[str, np.ndarray]:
    """Channel → query vector for an image: the picture held still for each encoder's clip length."""
    from vrag.media import read_image

    picture = read_image(image)
    out = {}
    for ch, enc in _visual(encoders, "an image query").items():
        still = _resized(picture, enc.spec.decode_size(picture.shape[1], picture.shape[0]))
        out[ch] = enc.encode_video(np.repeat(still[None, None], enc.spec.frames, axis=1))[0]
    return out


def _resized(picture: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """The picture at the size the encoder decodes video to (before repeating it into a clip)."""
    if size is None or (picture.shape[1], picture.shape[0]) == tuple(size):
        return picture
    import av

    frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
    return np.ascontiguousarray(frame.reformat(width=size[0], height=size[1]).to_ndarray(format="rgb24"))


def clip_vectors(encoders: Mapping[str, VideoEncoder], clip: ClipQuery) -> dict[str, np.ndarray]:
    """Channel → query vector for an example clip, decoded the way each encoder samples clips."""
    from vrag.media import open_video

    path, start, end = (clip, None, None) if isinstance(clip, str | os.PathLike) else clip
    with open_video(path) as video:
        start = 0.0 if start is None else float(start)
        end = video.duration if end is None else min(float(end), video.duration)
        if not 0.0 <= start < end:
            raise ConfigError(f"{Path(path)}: clip range {start:g}–{end:g} s is empty or outside the video")
        out = {}
        for ch, enc in _visual(encoders, "a clip query").items():
            size = enc.spec.decode_size(video.width, video.height)
            out[ch] = enc.encode_video(
                video.frames_at(enc.spec.clip_times(start, end), size=size).data[None]
            )[0]
        return out


def _visual(encoders: Mapping[str, VideoEncoder], what: str) -> Mapping[str, VideoEncoder]:
    if not encoders:
        raise ConfigError(
            f"{what} needs a visual channel, and this index has none (built without visual encoders, or "
            "their weights were unavailable: see `vrag info`)"
        )
    return encoders


def expand_hits(
    hits: Sequence[Hit], neighbours: int, segments_of: Callable[[str], Iterable[tuple[float, float, str]]]
) -> list[Hit]:
    """Widen each hit by ``neighbours`` segments on each side of it in its video (text joined in time order).

    Args:
        hits: the hits to widen.
        neighbours: segments to add before and after.
        segments_of: video id → that video's segments as ``(start, end, text)`` in time order.
    """
    if neighbours < 0:
        raise ConfigError(f"expand must be 0 or more segments, got {neighbours}")
    if neighbours == 0:
        return list(hits)
    cache: dict[str, list[tuple[float, float, str]]] = {}
    out = []
    for hit in hits:
        segs = cache.setdefault(hit.video_id, list(segments_of(hit.video_id)))
        inside = [i for i, (s, e, _) in enumerate(segs) if s < hit.end and e > hit.start]
        if not inside:
            out.append(hit)
            continue
        lo, hi = max(inside[0] - neighbours, 0), min(inside[-1] + neighbours, len(segs) - 1)
        run = segs[lo : hi + 1]
        text = "\n".join(dict.fromkeys(t for _, _, t in run if t))
        out.append(replace(hit, start=min(run[0][0], hit.start), end=max(run[-1][1], hit.end), text=text))
    return out
