"""Shot boundary detection: a fast numpy detector, the TransNetV2 wrapper, and turning boundaries into shots.

A *boundary* is the index of the first frame of a new shot. Shots take their times from the frames'
presentation timestamps, never from an index / fps guess.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vrag._registry import Registry
from vrag.errors import ConfigError
from vrag.types import Frames, Shot

__all__ = [
    "SHOT_DETECTORS",
    "HistogramDetector",
    "ShotDetector",
    "VideoLike",
    "detect_shots",
    "open_source",
    "shots_from_boundaries",
]

log = logging.getLogger(__name__)


class VideoLike(Protocol):
    """What chunking needs from ``vrag.media.VideoSource``."""

    video_id: str
    duration: float
    frame_times: np.ndarray

    def frames_at(self, times: Any, *, size: tuple[int, int] | None = None) -> Frames: ...

    def iter_frames(
        self,
        *,
        fps: float | None = None,
        start: float = 0.0,
        end: float | None = None,
        size: tuple[int, int] | None = None,
        batch: int = 256,
    ) -> Iterator[Frames]: ...


class ShotDetector(Protocol):
    """Finds shot boundaries in a stream of frame batches decoded at ``size``."""

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` the frames must be decoded at."""
        ...

    def find_boundaries(self, batches: Iterable[Frames]) -> list[int]:
        """Frame indices (``Frames.indices``) of the first frame of every shot after the first."""
        ...


SHOT_DETECTORS: Registry[ShotDetector] = Registry("shot detector")


def open_source(path_or_source: str | Path | VideoLike) -> VideoLike:
    """Open a path with :func:`vrag.media.open_video`; pass a ready source through."""
    if isinstance(path_or_source, str | Path):
        from vrag.media import open_video

        return open_video(path_or_source)
    return path_or_source


def detect_shots(
    source: str | Path | VideoLike, *, detector: str | ShotDetector = "histogram", **options: Any
) -> list[Shot]:
    """Cut a video into shots.

    Args:
        source: a path or an opened ``VideoSource``.
        detector: a registered name (``"histogram"``, ``"transnetv2"``) or a detector object.
        **options: the detector's settings (unknown names raise :class:`~vrag.errors.ConfigError`).

    Returns:
        Shots that tile ``[0, duration]``: the first starts at 0.0, each ends where the next starts
        (the first frame time of the new shot), the last ends at the video's duration.

    Example:
        >>> shots = detect_shots("talk.mp4", detector="histogram")  # doctest: +SKIP
        >>> [round(s.start, 2) for s in shots]  # doctest: +SKIP
        [0.0, 4.12, 9.6]
    """
    video = open_source(source)
    det = _make_detector(detector, options)
    boundaries = det.find_boundaries(video.iter_frames(size=det.size, batch=512))
    return shots_from_boundaries(boundaries, video.frame_times, video.duration)


def _make_detector(detector: str | ShotDetector, options: dict[str, Any]) -> ShotDetector:
    if isinstance(detector, str):
        return SHOT_DETECTORS.create(detector, **options)
    if options:
        raise ConfigError(f"options {sorted(options)} apply to a detector name; set them on the object")
    return detector


def shots_from_boundaries(boundaries: Iterable[int], frame_times: np.ndarray, duration: float) -> list[Shot]:
    """Shots between boundary frames; times from ``frame_times``, the last shot ends at ``duration``.

    ``end_frame`` is exclusive (the next shot's ``start_frame``).
    """
    n = len(frame_times)
    if n == 0:
        return [Shot(0.0, float(duration), 0, 0)]
    starts = [0, *sorted({int(b) for b in boundaries if 0 < int(b) < n})]
    ends = [*starts[1:], n]
    shots = []
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        start = 0.0 if i == 0 else float(frame_times[a])
        end = float(duration) if b == n else float(frame_times[b])
        shots.append(Shot(start, max(end, start), a, b))
    return shots


# ---------------------------------------------------------------------------------------------------------
# Histogram / content detector (numpy only)

_BINS = 4  # per RGB channel: 64-bin joint histogram
_GRID = (9, 16)  # rows, cols of the block-mean thumbnail


def frame_features(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: a 64-bin joint RGB histogram, a 16x9 block-mean RGB thumbnail in [0, 1] and an edge
    orientation histogram (see :func:`edge_histograms`)."""
    n, h, w, _ = data.shape
    q = (data >> 6).astype(np.int64)  # 256 / _BINS = 64
    codes = (q[..., 0] * _BINS + q[..., 1]) * _BINS + q[..., 2]
    codes = codes.reshape(n, -1) + (np.arange(n) * _BINS**3)[:, None]
    counts_rgb = np.bincount(codes.ravel(), minlength=n * _BINS**3).reshape(n, _BINS**3)
    hist = counts_rgb.astype(np.float32) / float(h * w)
    ys = np.arange(h) * _GRID[0] // h
    xs = np.arange(w) * _GRID[1] // w
    rows = np.add.reduceat(data.astype(np.float32), np.flatnonzero(np.diff(ys, prepend=-1)), axis=1)
    blocks = np.add.reduceat(rows, np.flatnonzero(np.diff(xs, prepend=-1)), axis=2)
    counts = np.bincount(ys)[:, None] * np.bincount(xs)[None, :]
    thumb = blocks / counts[None, :, :, None] / 255.0
    return hist, thumb.reshape(n, -1).astype(np.float32), edge_histograms(data)


def edge_histograms(data: np.ndarray, bins: int = 8) -> np.ndarray:
    """Per frame: the distribution of luma gradient orientations (weighted by strength), in ``bins`` bins.

    Moving content keeps it; a new camera angle or place changes it, even in the same colours.
    """
    n = data.shape[0]
    luma = data.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    gx = luma[:, :-1, 1:] - luma[:, :-1, :-1]
    gy = luma[:, 1:, :-1] - luma[:, :-1, :-1]
    mag = np.hypot(gx, gy).reshape(n, -1)
    angle = (np.arctan2(gy, gx).reshape(n, -1) % np.pi) * (bins / np.pi)
    codes = np.minimum(angle.astype(np.int64), bins - 1) + (np.arange(n) * bins)[:, None]
    hist = np.bincount(codes.ravel(), weights=mag.ravel(), minlength=n * bins).reshape(n, bins)
    floor = 4.0 * mag.shape[1]  # flat or black frames: (nearly) no edges, not a random orientation
    return (hist / np.maximum(hist.sum(axis=1, keepdims=True), floor)).astype(np.float32)


def _tv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Total-variation distance of histograms (rows), in [0, 1]."""
    return 0.5 * np.abs(a - b).sum(axis=-1)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistogramDetector:
    """Content detector: colour histograms + a tiny thumbnail per frame, adaptive thresholds. No torch.

    Hard cuts: the change between consecutive frames must clear ``min_score`` and be ``ratio`` times the
    local median change (so fast motion, which changes every frame, does not cut). Gradual transitions
    (dissolves, fades): at several window lengths, the colour histogram ``w`` frames before a point is
    compared with the one ``w`` frames after; a transition changes it a lot while the content on each
    side stays steady (``gradual_ratio``), which camera motion does not do.

    Example:
        >>> det = HistogramDetector(ratio=3.0)
        >>> det.size
        (48, 27)
    """

    size: tuple[int, int] = (48, 27)
    min_score: float = 0.08
    ratio: float = 3.0
    window: int = 8
    min_shot_frames: int = 4
    gradual: bool = True
    gradual_threshold: float = 0.3
    gradual_ratio: float = 2.5
    scales: tuple[int, ...] = (4, 8, 16, 24)

    def __post_init__(self) -> None:
        if not (0 < self.min_score < 1) or self.ratio < 1 or self.window < 1 or self.min_shot_frames < 1:
            raise ConfigError(
                "histogram detector: need 0 < min_score < 1, ratio >= 1, window >= 1, min_shot_frames >= 1"
            )
        if not (0 < self.gradual_threshold < 1) or any(s < 2 for s in self.scales):
            raise ConfigError("histogram detector: need 0 < gradual_threshold < 1 and scales >= 2 frames")

    def find_boundaries(self, batches: Iterable[Frames]) -> list[int]:
        hist, score, indices = self._scan(batches)
        cuts = self.hard_cuts(score)
        if self.gradual:
            cuts = sorted(cuts + self.gradual_cuts(hist, cuts))
        return [int(indices[c]) for c in cuts]

    def _scan(self, batches: Iterable[Frames]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Histograms, consecutive-frame change scores (``score[c]``: frame c-1 → c) and frame indices."""
        hists, scores, indices = [], [], []
        prev: tuple[np.ndarray, ...] | None = None
        for frames in batches:
            if len(frames) == 0:
                continue
            feats = frame_features(frames.data)
            hist, thumb, edges = (
                np.concatenate([p, f]) for p, f in zip(prev or [f[:1] for f in feats], feats, strict=True)
            )
            d_hist = _tv(hist[1:], hist[:-1])
            d_pix = np.abs(thumb[1:] - thumb[:-1]).mean(axis=1)
            d_edge = _tv(edges[1:], edges[:-1])
            scores.append((d_hist + d_pix + d_edge) / 3)
            hists.append(np.concatenate([feats[0], feats[2]], axis=1))
            indices.append(frames.indices)
            prev = tuple(f[-1:] for f in feats)
        if not hists:
            return np.zeros((0, _BINS**3), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        return np.concatenate(hists), np.concatenate(scores), np.concatenate(indices)

    def hard_cuts(self, score: np.ndarray) -> list[int]:
        """Positions ``c`` (first frame of the new shot) whose change stands out from its neighbourhood."""
        n, w = len(score), self.window
        if n < 2:
            return []
        neighbours = np.delete(_windows_of(score, w), w, axis=1)  # leave the frame itself out
        level = np.median(neighbours, axis=1)
        near = np.delete(_windows_of(score, 2), 2, axis=1).max(axis=1)
        ok = (score >= self.min_score) & (score >= self.ratio * level + 0.01) & (score >= 2.0 * near)
        ok[0] = False
        return _non_max(score, np.flatnonzero(ok), self.min_shot_frames)

    def gradual_cuts(self, hist: np.ndarray, cuts: list[int]) -> list[int]:
        """Dissolves and fades: centres of windows where the picture changes and each side is steady.

        Candidates from every scale compete: the strongest claims its window first, so a fade through
        black is one boundary, not one per half.
        """
        n = len(hist)
        taken = np.zeros(n + 1, dtype=bool)
        for c in cuts:
            taken[max(c - self.min_shot_frames, 0) : c + self.min_shot_frames + 1] = True
        candidates = []
        for w in self.scales:
            strength = self._contrast(hist, w)
            candidates += [
                (float(strength[c]), c, w) for c in _non_max(strength, np.flatnonzero(strength > 0), w)
            ]
        found: list[int] = []
        for _, c, w in sorted(candidates, reverse=True):
            if not taken[max(c - w, 0) : c + w].any():
                found.append(_centre_of_change(hist, c - w, c + w))
                taken[max(c - w, 0) : c + w] = True
        return found

    def _contrast(self, hist: np.ndarray, w: int) -> np.ndarray:
        """Per position: histogram change across ``2w`` frames, where it beats the change on each side."""
        n = len(hist)
        c = np.arange(n)
        at = lambda i: hist[np.clip(i, 0, n - 1)]  # noqa: E731
        across = _dist(at(c - w), at(c + w - 1))
        before = _dist(at(c - 2 * w), at(c - w))
        after = _dist(at(c + w - 1), at(c + 2 * w - 1))
        side = np.maximum(before, after)
        good = (across >= self.gradual_threshold) & (across >= self.gradual_ratio * side)
        good &= (c - w >= 0) & (c + w - 1 <= n - 1)
        return np.where(good, across - side, 0.0)


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Change between rows of colour (first 64 columns) + edge histograms: the larger of the two."""
    k = _BINS**3
    return np.maximum(_tv(a[:, :k], b[:, :k]), _tv(a[:, k:], b[:, k:]))


def _centre_of_change(hist: np.ndarray, lo: int, hi: int) -> int:
    """The frame in ``(lo, hi)`` at the centre of mass of the frame-to-frame change above its median."""
    lo, hi = max(lo, 0), min(hi, len(hist))
    change = _dist(hist[lo + 1 : hi], hist[lo : hi - 1])
    excess = np.maximum(change - np.median(change), 0.0) if len(change) else change
    if excess.sum() <= 0:
        return (lo + hi) // 2
    return round(float((np.arange(lo + 1, hi) * excess).sum() / excess.sum()))


def _windows_of(x: np.ndarray, radius: int) -> np.ndarray:
    """``[len(x), 2 * radius + 1]``: each value with its neighbours (edges padded by reflection)."""
    padded = np.pad(x, radius, mode="reflect" if len(x) > radius else "edge")
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)


def _non_max(score: np.ndarray, candidates: np.ndarray, radius: int) -> list[int]:
    """Keep the strongest candidates, none within ``radius`` frames of a stronger kept one."""
    blocked = np.zeros(len(score) + 1, dtype=bool)
    kept: list[int] = []
    for c in candidates[np.argsort(-score[candidates], kind="stable")].tolist():
        if not blocked[c]:
            kept.append(c)
            blocked[max(c - radius + 1, 0) : c + radius] = True
    return sorted(kept)


def _register() -> None:
    SHOT_DETECTORS.register(
        "histogram", HistogramDetector, description="colour histogram + thumbnail change, numpy only; fast"
    )
    from vrag.chunking._transnet import TransNetV2Detector

    SHOT_DETECTORS.register(
        "transnetv2", TransNetV2Detector, description="TransNetV2 network (bundled weights); GPU when present"
    )


_register()
