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
_DIMMED = 0.75  # a fade's frames: below this share of their shot's brightness
_STEADY = 0.1  # a dissolve's steady sides: thumbnails scatter less than this share of the change


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


def luma_of(data: np.ndarray) -> np.ndarray:
    """``[N, H, W]`` float32 luma (BT.601 weights, 0-255) of uint8 RGB frames."""
    return data.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def pixel_changes(luma: np.ndarray, noise: float) -> np.ndarray:
    """Per consecutive pair of frames: the mean of ``|Δluma| - noise`` over pixels (negatives count 0).

    Compression noise and grain move a pixel by a few grey levels and score (nearly) zero, however often
    they flicker; a cut between two static slides that differ only in their text moves the pixels of the
    text by tens of grey levels and scores clearly above zero.
    """
    diff = np.abs(luma[1:] - luma[:-1]).reshape(len(luma) - 1, -1)
    return np.maximum(diff - noise, 0.0).mean(axis=1).astype(np.float32)


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


@dataclass(frozen=True, slots=True)
class _Signals:
    """What one pass over the frames yields; arrays are per frame (change scores: frame c-1 → c)."""

    hist: np.ndarray  # [N, 64 + 8] colour + edge histograms
    score: np.ndarray  # histogram / thumbnail / edge change, in [0, 1]
    pixel: np.ndarray  # pixel change beyond the noise allowance (grey levels, see pixel_changes)
    brightness: np.ndarray  # mean luma, 0-255
    layout: np.ndarray  # [N, 36] 3x4 block-mean RGB thumbnail in [0, 1]
    indices: np.ndarray  # Frames.indices


@dataclass(frozen=True, slots=True, kw_only=True)
class HistogramDetector:
    """Content detector: colour histograms, a tiny thumbnail and a pixel difference per frame, adaptive
    thresholds. No torch.

    Hard cuts: the change between consecutive frames must clear ``min_score`` and be ``ratio`` times the
    local median change (so fast motion, which changes every frame, does not cut). A second, pixel-level
    change catches cuts the histograms cannot see, such as two slides of one template that differ only in
    their text: the mean luma change beyond ``pixel_noise`` grey levels per pixel must reach
    ``pixel_floor`` and stand out from its neighbourhood by the same ``ratio``; compression noise on a
    static picture stays under the noise allowance, smooth motion raises the local median.
    Gradual transitions (dissolves, fades): at several window lengths, the colour histogram ``w``
    frames before a point is compared with the one ``w`` frames after; a transition changes it a lot
    while the content on each side stays steady (``gradual_ratio``), which camera motion does not do.
    A dissolve's boundary goes to the centre of its blend. A fade through black (its darkest frame below
    ``dark_ratio`` times the brightness of the shots around it) gives one boundary, at the centre of its
    dark stretch, even when the two shots look alike and each half of the fade reads as a transition.

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
    pixel_noise: float = 8.0
    pixel_floor: float = 1.0
    gradual: bool = True
    gradual_threshold: float = 0.3
    gradual_ratio: float = 2.5
    scales: tuple[int, ...] = (4, 8, 16, 24)
    dark_ratio: float = 0.4

    def __post_init__(self) -> None:
        if not (0 < self.min_score < 1) or self.ratio < 1 or self.window < 1 or self.min_shot_frames < 1:
            raise ConfigError(
                "histogram detector: need 0 < min_score < 1, ratio >= 1, window >= 1, min_shot_frames >= 1"
            )
        if self.pixel_noise < 0 or self.pixel_floor <= 0 or not (0 < self.dark_ratio < 1):
            raise ConfigError(
                "histogram detector: need pixel_noise >= 0, pixel_floor > 0, 0 < dark_ratio < 1"
            )
        if not (0 < self.gradual_threshold < 1) or any(s < 2 for s in self.scales):
            raise ConfigError("histogram detector: need 0 < gradual_threshold < 1 and scales >= 2 frames")

    def find_boundaries(self, batches: Iterable[Frames]) -> list[int]:
        sig = self._scan(batches)
        cuts = self._centre_fades(self.hard_cuts(sig.score, sig.pixel), sig.brightness)
        if self.gradual:
            cuts = sorted(cuts + self.gradual_cuts(sig, cuts))
        return [int(sig.indices[c]) for c in cuts]

    def _scan(self, batches: Iterable[Frames]) -> _Signals:
        """Histograms, change scores, brightness and frame indices of every frame, batch by batch."""
        parts: list[tuple[np.ndarray, ...]] = []
        prev: tuple[np.ndarray, ...] | None = None
        for frames in batches:
            if len(frames) == 0:
                continue
            feats = (*frame_features(frames.data), luma_of(frames.data))
            hist, thumb, edges, luma = (
                np.concatenate([p, f]) for p, f in zip(prev or [f[:1] for f in feats], feats, strict=True)
            )
            d_hist = _tv(hist[1:], hist[:-1])
            d_thumb = np.abs(thumb[1:] - thumb[:-1]).mean(axis=1)
            d_edge = _tv(edges[1:], edges[:-1])
            score = (d_hist + d_thumb + d_edge) / 3
            hists = np.concatenate([feats[0], feats[2]], axis=1)
            layout = feats[1].reshape(len(frames), 3, 3, 4, 4, 3).mean(axis=(2, 4)).reshape(len(frames), -1)
            parts.append((hists, score, pixel_changes(luma, self.pixel_noise), feats[3].mean(axis=(1, 2)),
                          layout, frames.indices))  # fmt: skip
            prev = tuple(f[-1:] for f in feats)
        if not parts:
            empty = np.zeros(0, np.float32)
            hist, layout = np.zeros((0, _BINS**3 + 8), np.float32), np.zeros((0, 36), np.float32)
            return _Signals(hist, empty, empty, empty, layout, np.zeros(0, np.int64))
        return _Signals(*(np.concatenate(column) for column in zip(*parts, strict=True)))

    def hard_cuts(self, score: np.ndarray, pixel: np.ndarray | None = None) -> list[int]:
        """Positions ``c`` (first frame of the new shot) whose change stands out from its neighbourhood.

        Args:
            score: histogram / thumbnail / edge change per frame.
            pixel: pixel change per frame (:func:`pixel_changes`); None leaves the pixel test out.
        """
        if len(score) < 2:
            return []
        ok = self._stands_out(score, self.min_score, 0.01)
        strength = score / self.min_score
        if pixel is not None:
            ok |= self._stands_out(pixel, self.pixel_floor, self.pixel_floor)
            strength = np.maximum(strength, pixel / self.pixel_floor)
        ok[0] = False
        return _non_max(strength, np.flatnonzero(ok), self.min_shot_frames)

    def _stands_out(self, change: np.ndarray, floor: float, margin: float) -> np.ndarray:
        """Where ``change`` reaches ``floor``, ``ratio`` times the local median plus ``margin``, and twice
        its nearest neighbours (a cut is one frame, motion and fades change several in a row)."""
        w = self.window
        level = np.median(np.delete(_windows_of(change, w), w, axis=1), axis=1)  # the frame itself left out
        near = np.delete(_windows_of(change, 2), 2, axis=1).max(axis=1)
        return (change >= floor) & (change >= self.ratio * level + margin) & (change >= 2.0 * near)

    def gradual_cuts(self, sig: _Signals, cuts: list[int]) -> list[int]:
        """Dissolves and fades: windows where the picture changes while each side stays steady.

        Candidates from every scale compete: the strongest claims its window first. A candidate next to a
        fade through black moves to the centre of the dark stretch (so the fade-out and fade-in halves
        of one fade give one boundary), any other to the middle of its blend (:func:`_blend_centre`).
        """
        taken = np.zeros(len(sig.hist) + 1, dtype=bool)
        for c in cuts:
            taken[max(c - self.min_shot_frames, 0) : c + self.min_shot_frames + 1] = True
        found: set[int] = set()
        for _, c, w in sorted(self._gradual_candidates(sig.hist), reverse=True):
            if taken[max(c - w, 0) : c + w].any():
                continue
            taken[max(c - w, 0) : c + w] = True
            dark = self._dark_centre(sig.brightness, c, w)
            found.add(_blend_centre(sig, c, w) if dark is None else dark)
        near_cut = {f for f in found if any(abs(f - c) < self.min_shot_frames for c in cuts)}
        return sorted(found - near_cut)

    def _gradual_candidates(self, hist: np.ndarray) -> list[tuple[float, int, int]]:
        """``(strength, position, scale)`` of the local maxima of every scale's contrast."""
        candidates = []
        for w in self.scales:
            strength = self._contrast(hist, w)
            candidates += [
                (float(strength[c]), c, w) for c in _non_max(strength, np.flatnonzero(strength > 0), w)
            ]
        return candidates

    def _centre_fades(self, cuts: list[int], brightness: np.ndarray) -> list[int]:
        """Hard cuts that fire inside a fade through black (dark frames jump between histogram bins)
        move to the fade's centre; a cut into or out of black stays."""
        out = set()
        for c in cuts:
            fade = self._fade_near(brightness, c, self.min_shot_frames)
            out.add(fade[2] if fade and fade[0] < c <= fade[1] else c)
        return sorted(out)

    def _dark_centre(self, brightness: np.ndarray, c: int, w: int) -> int | None:
        """The boundary of a fade through black whose dark frames reach to within ``w`` of ``c``."""
        fade = self._fade_near(brightness, c, w)
        return fade[2] if fade and fade[0] - w <= c <= fade[1] + w else None

    def _fade_near(self, brightness: np.ndarray, c: int, w: int) -> tuple[int, int, int] | None:
        """``(first, last, boundary)``: the dimmed frames of a fade through black near ``c`` and the first
        frame after its centre of darkness; None when there is no such fade.

        The darkest frame within ``2w`` of ``c`` (followed downhill to a local minimum) must be darker
        than ``dark_ratio`` times the brightness on each side (the brightest frame within ``max(scales)``
        frames). Each side's frames are measured against their own side's brightness, so a fade between
        a dim and a bright shot is centred too; the fade is the run of frames around the darkest one
        below ``_DIMMED`` of their side's brightness.
        """
        lo, reach = max(c - 2 * w, 0), max(self.scales)
        m = _downhill(brightness, lo + int(np.argmin(brightness[lo : c + 2 * w + 1])))
        first = max(m - reach, 0)
        before, after = brightness[first : m + 1].max(), brightness[m : m + reach + 1].max()
        if not brightness[m] < self.dark_ratio * min(before, after):  # (all-black frames never pass)
            return None
        rel = np.concatenate([brightness[first : m + 1] / before, brightness[m + 1 : m + reach + 1] / after])
        a, b = _run_around(rel < _DIMMED, m - first)
        darkness = 1.0 - rel[a : b + 1]
        centre = float((np.arange(a, b + 1) * darkness).sum() / darkness.sum())
        return first + a, first + b, first + int(np.floor(centre)) + 1

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


def _blend_centre(sig: _Signals, c: int, w: int) -> int:
    """The first frame past the middle of a blend (dissolve) found at position ``c``, scale ``w``.

    The steady pictures before (frames ``c-2w .. c-w``) and after (``c+w-1 .. c+2w-1``) are averaged
    (3x4 thumbnails); each frame is placed on the line from one to the other, and the boundary comes
    after the frames still nearer the old picture (counted, so motion noise cannot move it far). When
    the steady frames themselves scatter along that line (motion as large as the change: look-alike
    shots), the centre of mass of the histogram change is used instead.
    """
    lo, hi = max(c - 2 * w, 0), min(c + 2 * w, len(sig.layout))
    old_end, new_start = max(c - w + 1, lo + 1), min(c + w - 1, hi - 1)
    old, new = sig.layout[lo:old_end].mean(axis=0), sig.layout[new_start:hi].mean(axis=0)
    step = new - old
    share = (sig.layout[lo:hi] - old) @ step / max(float(step @ step), 1e-9)
    if max(share[: old_end - lo].std(), share[new_start - lo :].std()) < _STEADY:
        return lo + int((share < 0.5).sum())
    return _centre_of_change(sig.hist, c - w, c + w)


def _centre_of_change(hist: np.ndarray, lo: int, hi: int) -> int:
    """The frame in ``(lo, hi)`` at the centre of mass of the frame-to-frame change above its median."""
    lo, hi = max(lo, 0), min(hi, len(hist))
    change = _dist(hist[lo + 1 : hi], hist[lo : hi - 1])
    excess = np.maximum(change - np.median(change), 0.0) if len(change) else change
    if excess.sum() <= 0:
        return (lo + hi) // 2
    return round(float((np.arange(lo + 1, hi) * excess).sum() / excess.sum()))


def _downhill(x: np.ndarray, i: int) -> int:
    """The local minimum of ``x`` reached by stepping from ``i`` to a smaller neighbour while there is one."""
    while True:
        if i > 0 and x[i - 1] < x[i]:
            i -= 1
        elif i < len(x) - 1 and x[i + 1] < x[i]:
            i += 1
        else:
            return i


def _run_around(mask: np.ndarray, i: int) -> tuple[int, int]:
    """First and last index of the run of True values in ``mask`` that contains ``i``."""
    a, b = i, i
    while a > 0 and mask[a - 1]:
        a -= 1
    while b < len(mask) - 1 and mask[b + 1]:
        b += 1
    return a, b


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
