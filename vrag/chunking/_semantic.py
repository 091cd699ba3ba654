"""Chunkers: turn a video into segments that tile it — semantic (merge/split shots), one per shot, or fixed.

Every boundary is a frame's presentation time: segments are built over frame-index ranges and their times
read from ``frame_times``, so the first segment starts at 0.0, each ends where the next starts, and the
last ends at the video's duration.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vrag._registry import Registry
from vrag.chunking._shots import (
    VideoLike,
    _make_detector,
    edge_histograms,
    open_source,
    shots_from_boundaries,
)
from vrag.chunking._text import TextIndex
from vrag.errors import ConfigError
from vrag.types import Cue, Frames, Segment, Shot

__all__ = [
    "CHUNKERS",
    "Chunker",
    "FixedChunker",
    "SemanticChunker",
    "ShotChunker",
    "assign_cues",
    "chunk_video",
    "color_embedding",
]

log = logging.getLogger(__name__)

Embedder = Callable[[Frames], np.ndarray]


class Chunker(Protocol):
    """Cuts one opened video into segments."""

    def chunk(self, video: VideoLike) -> list[Segment]: ...


CHUNKERS: Registry[Chunker] = Registry("chunker")


def chunk_video(
    path_or_source: str | Path | VideoLike, *, chunker: str | Chunker = "semantic", **options: Any
) -> list[Segment]:
    """Cut a video into segments with their shots, keyframe times and the text spoken or shown inside.

    Args:
        path_or_source: a path or an opened ``VideoSource``.
        chunker: ``"semantic"`` (default), ``"shots"``, ``"fixed"``, or a chunker object.
        **options: the chunker's settings; unknown names raise :class:`~vrag.errors.ConfigError`.

    Example:
        >>> segments = chunk_video("talk.mp4", min_duration=2.0, max_duration=30.0)  # doctest: +SKIP
        >>> segments[0].start, segments[-1].end == segments[-1].end  # doctest: +SKIP
        (0.0, True)
    """
    video = open_source(path_or_source)
    if isinstance(chunker, str):
        return CHUNKERS.create(chunker, **options).chunk(video)
    if options:
        raise ConfigError(f"options {sorted(options)} apply to a chunker name; set them on the object")
    return chunker.chunk(video)


# ---------------------------------------------------------------------------------------------------------
# the default frame embedding


def color_embedding(frames: Frames) -> np.ndarray:
    """A cheap frame feature: colour distribution, edge orientations and a coarse layout; rows L2-normalised.

    Square-rooted 64-bin RGB histogram (cosine of two is the Bhattacharyya coefficient), the edge
    orientation histogram, and a 4x3 mean-removed luma thumbnail. Any callable with the same shape
    contract (``Frames`` → ``[N, D]``), such as a neural image encoder, can replace it.
    """
    data = frames.data
    n, h, w, _ = data.shape
    q = (data >> 6).astype(np.int64)
    codes = ((q[..., 0] * 4 + q[..., 1]) * 4 + q[..., 2]).reshape(n, -1) + (np.arange(n) * 64)[:, None]
    hist = np.bincount(codes.ravel(), minlength=n * 64).reshape(n, 64) / float(h * w)
    luma = data.astype(np.float32).mean(axis=3)
    layout = np.stack([b.mean(axis=(1, 2)) for row in np.array_split(luma, 3, axis=1)
                       for b in np.array_split(row, 4, axis=2)], axis=1) / 255.0  # fmt: skip
    layout -= layout.mean(axis=1, keepdims=True)
    feats = np.concatenate([np.sqrt(hist), 0.5 * np.sqrt(edge_histograms(data)), layout], axis=1)
    return (feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-9)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# timeline: frame-index ranges and their exact times


@dataclass(frozen=True, slots=True)
class _Timeline:
    video_id: str
    times: np.ndarray
    duration: float

    @classmethod
    def of(cls, video: VideoLike) -> _Timeline:
        return cls(
            str(video.video_id), np.asarray(video.frame_times, dtype=np.float64), float(video.duration)
        )

    @property
    def n(self) -> int:
        return len(self.times)

    def at(self, index: int) -> float:
        """Start time of the range beginning at frame ``index`` (0.0 first, duration past the end)."""
        if index <= 0:
            return 0.0
        return self.duration if index >= self.n else float(self.times[index])

    def span(self, a: int, b: int) -> float:
        return self.at(b) - self.at(a)

    def nearest(self, t: float, lo: int, hi: int) -> int:
        """The frame index in ``[lo, hi]`` whose start time is nearest ``t``."""
        i = int(np.searchsorted(self.times, t))
        best = min((j for j in (i - 1, i) if 0 <= j <= self.n), key=lambda j: abs(self.at(j) - t), default=lo)
        return min(max(best, lo), hi)

    def first_at_or_after(self, t: float) -> int:
        """Index of the first frame whose time is >= ``t`` (``n`` when none)."""
        return 0 if t <= 0 else int(np.searchsorted(self.times, t - 1e-9, side="left"))

    def shot(self, a: int, b: int) -> Shot:
        return Shot(self.at(a), self.at(b), a, b)

    def keyframe(self, a: int, b: int) -> float:
        """Time of the middle frame of ``[a, b)``, a real frame time."""
        if self.n == 0:
            return 0.0
        return float(self.times[min(max((a + b - 1) // 2, 0), self.n - 1)])


def assign_cues(segments: Sequence[Segment], cues: Sequence[Cue]) -> list[Segment]:
    """Give each cue to the segment containing its midpoint (``Segment.cues``; ``text`` joins them).

    Segments may overlap (fixed windows with a short stride): a cue then goes to every one containing it.
    """
    out = []
    ordered = sorted(cues, key=lambda c: (c.start, c.end))
    last = len(segments) - 1
    for k, seg in enumerate(segments):
        inside = tuple(
            c for c in ordered if _contains(seg, (c.start + c.end) / 2, first=k == 0, last=k == last)
        )
        text = " ".join(c.text.strip() for c in inside if c.text.strip())
        out.append(Segment(seg.video_id, seg.start, seg.end, seg.shots, seg.keyframes, text, inside))
    return out


def _contains(seg: Segment, t: float, *, first: bool, last: bool) -> bool:
    return (first and t < seg.start) or (last and t >= seg.end) or seg.start <= t < seg.end


def _segments(
    line: _Timeline, groups: Sequence[Sequence[tuple[int, int]]], cues: Sequence[Cue]
) -> list[Segment]:
    segs = [
        Segment(
            line.video_id,
            line.at(g[0][0]),
            line.at(g[-1][1]),
            tuple(line.shot(a, b) for a, b in g),
            tuple(line.keyframe(a, b) for a, b in g),
        )
        for g in groups
    ]
    return assign_cues(segs, cues)


def _load_cues(video: VideoLike, cues: Sequence[Cue] | None, asr: str) -> list[Cue]:
    if cues is not None:
        return list(cues)
    from vrag.media import load_transcript

    transcript = load_transcript(video, asr=asr)  # type: ignore[arg-type]
    if not transcript.cues:
        log.info("%s: no transcript (%s)", getattr(video, "path", video.video_id), transcript.note)
    return list(transcript.cues)


def _sentence_ends(cues: Sequence[Cue]) -> list[float]:
    from vrag.media import sentence_boundaries

    return list(sentence_boundaries(cues))


def _shot_ranges(
    video: VideoLike, shots: Sequence[Shot] | None, detector: Any, options: Any
) -> list[tuple[int, int]]:
    if shots is None:
        det = _make_detector(detector, dict(options or {}))
        found = det.find_boundaries(video.iter_frames(size=det.size, batch=512))
        shots = shots_from_boundaries(found, video.frame_times, video.duration)
    ranges = [(s.start_frame, s.end_frame) for s in shots]
    n = len(video.frame_times)
    if (
        not ranges
        or ranges[0][0] != 0
        or ranges[-1][1] != n
        or any(a[1] != b[0] for a, b in itertools.pairwise(ranges))
    ):
        raise ConfigError(f"shots must tile the video's {n} frames without gaps (start_frame 0 to {n})")
    return ranges


# ---------------------------------------------------------------------------------------------------------
# chunkers


@dataclass(frozen=True, slots=True, kw_only=True)
class ShotChunker:
    """One segment per shot.

    Example:
        >>> segments = chunk_video("talk.mp4", chunker="shots", detector="transnetv2")  # doctest: +SKIP
    """

    detector: Any = "histogram"
    detector_options: Mapping[str, Any] | None = None
    shots: Sequence[Shot] | None = None
    cues: Sequence[Cue] | None = None
    asr: str = "auto"

    def chunk(self, video: VideoLike) -> list[Segment]:
        line = _Timeline.of(video)
        ranges = _shot_ranges(video, self.shots, self.detector, self.detector_options)
        return _segments(line, [[r] for r in ranges], _load_cues(video, self.cues, self.asr))


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedChunker:
    """Fixed windows (the baseline): ``window`` seconds every ``stride`` seconds (default: ``window``).

    Window starts snap to the first frame at or after ``k * stride``; with ``stride == window`` the
    windows tile the video, the last one ending at its duration.

    Example:
        >>> segments = chunk_video("talk.mp4", chunker="fixed", window=10.0)  # doctest: +SKIP
    """

    window: float = 10.0
    stride: float | None = None
    cues: Sequence[Cue] | None = None
    asr: str = "auto"

    def __post_init__(self) -> None:
        if not self.window > 0 or (self.stride is not None and not self.stride > 0):
            raise ConfigError(
                f"fixed chunker: window and stride must be > 0, got {self.window}, {self.stride}"
            )

    def chunk(self, video: VideoLike) -> list[Segment]:
        line = _Timeline.of(video)
        stride = self.stride or self.window
        groups: list[list[tuple[int, int]]] = []
        k = 0
        while k == 0 or k * stride < line.duration:
            a = line.first_at_or_after(k * stride)
            end = k * stride + self.window
            b = line.n if end >= line.duration else line.first_at_or_after(end)
            if b > a or not groups:
                groups.append([(a, b)])
            k += 1
        return _segments(line, groups, _load_cues(video, self.cues, self.asr))


@dataclass(frozen=True, slots=True, kw_only=True)
class SemanticChunker:
    """Merge consecutive shots that look alike and talk about the same thing; split long ones, preferably
    where a sentence ends.

    The shot-level form of "cut where consecutive embeddings stop being similar": shots come from a
    detector; a shot joins the segment before it when the cosine similarity of the two shots' embeddings
    (mean over ``frames_per_shot`` frames) is at least ``threshold``, the segment stays within
    ``max_duration``, and the words do not object: when the segment and the shot both have at least
    ``text_min_words`` distinct content words in their cues, their TF-IDF similarity
    (:class:`~vrag.chunking._text.TextIndex`) must reach ``text_threshold``. Two slides of one template
    look alike, but their narration does not; shots without text merge on looks alone. Shots longer than
    ``max_duration`` are cut first, into near-equal parts, at the sentence end (from ``cues``) nearest
    each target; failing that, where the picture changes most (if below ``threshold``), else evenly. A
    segment shorter than ``min_duration`` joins its more similar neighbour. All cuts are frame times, so
    a boundary that comes from a shot cut is exactly that frame's time; segments tile the video.

    Args:
        threshold: cosine similarity needed to merge two shots (tuned for :func:`color_embedding`;
            retune for another ``embed``).
        text_threshold: TF-IDF cosine similarity of the two sides' content words needed to merge them
            when both have text; 0 turns the text test off. On the demo lectures
            (``examples/make_demo_corpus.py``) consecutive slides on different topics score 0.09-0.19;
            an explanation that goes on across a camera change and reuses its key terms scores higher
            (0.48 for the one in ``tests/test_chunking.py``).
        text_min_words: distinct content words each side needs before its text is compared.
        min_duration, max_duration: seconds; ``max_duration >= 2 * min_duration``.
        detector, detector_options: the shot detector (registry name or object) and its settings.
        shots: precomputed shots that tile the video (skips detection).
        embed: frame embedding ``Frames -> [N, D]``; default :func:`color_embedding`.
        embed_size: ``(width, height)`` frames are decoded at for ``embed`` (None: full size).
        cues: transcript / on-screen text cues; default: ``vrag.media.load_transcript(video, asr=asr)``.

    Example:
        >>> segments = chunk_video("talk.mp4", threshold=0.75, max_duration=30.0)  # doctest: +SKIP
    """

    threshold: float = 0.75
    text_threshold: float = 0.25
    text_min_words: int = 5
    min_duration: float = 2.0
    max_duration: float = 60.0
    detector: Any = "histogram"
    detector_options: Mapping[str, Any] | None = None
    shots: Sequence[Shot] | None = None
    embed: Embedder | None = None
    embed_size: tuple[int, int] | None = (64, 36)
    frames_per_shot: int = 3
    cues: Sequence[Cue] | None = None
    asr: str = "auto"

    def __post_init__(self) -> None:
        if not (
            self.min_duration >= 0 and self.max_duration > 0 and self.max_duration >= 2 * self.min_duration
        ):
            raise ConfigError(
                f"semantic chunker: need 0 <= min_duration and max_duration >= 2 * min_duration > 0, "
                f"got min_duration={self.min_duration}, max_duration={self.max_duration}"
            )
        if not -1.0 <= self.threshold <= 1.0 or self.frames_per_shot < 1:
            raise ConfigError("semantic chunker: need -1 <= threshold <= 1 and frames_per_shot >= 1")
        if not 0.0 <= self.text_threshold <= 1.0 or self.text_min_words < 1:
            raise ConfigError(
                f"semantic chunker: need 0 <= text_threshold <= 1 and text_min_words >= 1, got "
                f"text_threshold={self.text_threshold}, text_min_words={self.text_min_words}"
            )

    def chunk(self, video: VideoLike) -> list[Segment]:
        line = _Timeline.of(video)
        cues = _load_cues(video, self.cues, self.asr)
        if line.n == 0:
            return _segments(line, [[(0, 0)]], cues)
        plan = _Plan(self, video, line, cues)
        ranges = _shot_ranges(video, self.shots, self.detector, self.detector_options)
        pieces = [p for r in ranges for g in plan.split([r]) for p in g]
        groups = plan.enforce_min(plan.merge(pieces))
        return _segments(line, groups, cues)


Group = list[tuple[int, int]]


class _Plan:
    """The merge / split decisions of one :class:`SemanticChunker` run over one video."""

    def __init__(self, cfg: SemanticChunker, video: VideoLike, line: _Timeline, cues: Sequence[Cue]) -> None:
        self.cfg, self.video, self.line = cfg, video, line
        self.sentences = _sentence_ends(cues) if cues else []
        self.text = TextIndex.of(cues)
        self.embed: Embedder = cfg.embed or color_embedding
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    # -- embeddings ----------------------------------------------------------------------------------
    def _frames(self, indices: np.ndarray) -> np.ndarray:
        """Embeddings of the frames at ``indices`` (decoded at ``embed_size``), in chunks of 256."""
        out = []
        for k in range(0, len(indices), 256):
            frames = self.video.frames_at(self.line.times[indices[k : k + 256]], size=self.cfg.embed_size)
            vecs = np.asarray(self.embed(frames), dtype=np.float32)
            if vecs.ndim != 2 or len(vecs) != len(frames):
                raise ConfigError(f"embed must return an [N, D] array for N frames, got shape {vecs.shape}")
            out.append(vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9))
        return np.concatenate(out)

    def vector(self, *ranges: tuple[int, int]) -> np.ndarray:
        """Normalised mean embedding of frame ranges (each embedded once, ``frames_per_shot`` frames)."""
        todo = [r for r in dict.fromkeys(ranges) if r not in self._cache]
        if todo:
            k = self.cfg.frames_per_shot
            picks = [np.unique(a + ((b - a) * (np.arange(k) + 0.5) / k).astype(np.int64)) for a, b in todo]
            vecs = self._frames(np.concatenate(picks))
            for r, part in zip(todo, np.split(vecs, np.cumsum([len(p) for p in picks])[:-1]), strict=True):
                self._cache[r] = part.mean(axis=0)
        mean = np.mean([self._cache[r] for r in ranges], axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-9)

    def sim(self, a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> float:
        return float(self.vector(*a) @ self.vector(*b))

    # -- merging -------------------------------------------------------------------------------------
    def merge(self, pieces: Group) -> list[Group]:
        """The seed's rule at shot level: a piece joins the previous one's group when they look alike."""
        groups: list[Group] = [[pieces[0]]]
        for piece in pieces[1:]:
            group = groups[-1]
            fits = self.line.span(group[0][0], piece[1]) <= self.cfg.max_duration
            if (
                fits
                and self.sim([group[-1]], [piece]) >= self.cfg.threshold
                and self.same_topic(group, [piece])
            ):
                group.append(piece)
            else:
                groups.append([piece])
        return groups

    def same_topic(self, a: Group, b: Group) -> bool:
        """False when both sides have enough words (``text_min_words``) and they share too few of them
        (TF-IDF similarity below ``text_threshold``); True otherwise."""
        words = [self.text.words(self.line.at(g[0][0]), self.line.at(g[-1][1])) for g in (a, b)]
        if min(len(w) for w in words) < self.cfg.text_min_words:
            return True
        return self.text.similarity(*words) >= self.cfg.text_threshold

    def enforce_min(self, groups: list[Group]) -> list[Group]:
        """Fold each group shorter than ``min_duration`` into its more similar neighbour (re-splitting a
        result longer than ``max_duration``)."""
        for _ in range(4 * len(groups) + 8):
            spans = [self.line.span(g[0][0], g[-1][1]) for g in groups]
            short = [i for i, s in enumerate(spans) if s < self.cfg.min_duration]
            if not short or len(groups) == 1:
                break
            i = min(short, key=lambda j: spans[j])
            j = self._partner(groups, i)
            lo = min(i, j)
            groups[lo : lo + 2] = self.split(groups[lo] + groups[lo + 1])
        return groups

    def _partner(self, groups: list[Group], i: int) -> int:
        options = [j for j in (i - 1, i + 1) if 0 <= j < len(groups)]
        fits = [j for j in options if self.line.span(*_bounds(groups[i], groups[j])) <= self.cfg.max_duration]
        return max(fits or options, key=lambda j: self.sim(groups[i], groups[j]))

    # -- splitting -----------------------------------------------------------------------------------
    def split(self, group: Group) -> list[Group]:
        """Cut ``group`` into parts no longer than ``max_duration`` (each at least ``min_duration``)."""
        out: list[Group] = []
        while self.line.span(group[0][0], group[-1][1]) > self.cfg.max_duration:
            cut = self._cut(group)
            head, group = _split_at(group, cut)
            out.append(head)
        return [*out, group]

    def _cut(self, group: Group) -> int:
        """Where to end the first part of ``group``: a frame index strictly inside it."""
        line, cfg = self.line, self.cfg
        s, b = group[0][0], group[-1][1]
        start, end = line.at(s), line.at(b)
        target = start + (end - start) / math.ceil((end - start) / cfg.max_duration)
        lo_t, hi_t = start + cfg.min_duration, min(start + cfg.max_duration, end - cfg.min_duration)
        lo, hi = max(line.first_at_or_after(lo_t), s + 1), min(line.first_at_or_after(hi_t + 1e-9) - 1, b - 1)
        if lo > hi:  # frames too sparse for both bounds: stay inside the group
            return line.nearest(target, s + 1, b - 1)
        inner = [a for a, _ in group[1:] if lo <= a <= hi]
        if inner:
            return min(inner, key=lambda a: (self._sim_at(group, a), abs(line.at(a) - target)))
        sentences = [t for t in self.sentences if lo_t <= t <= hi_t]
        if sentences:
            return line.nearest(min(sentences, key=lambda t: abs(t - target)), lo, hi)
        return self._visual_cut(lo, hi) or line.nearest(target, lo, hi)

    def _sim_at(self, group: Group, boundary: int) -> float:
        k = next(i for i, (a, _) in enumerate(group) if a == boundary)
        return self.sim([group[k - 1]], [group[k]])

    def _visual_cut(self, lo: int, hi: int) -> int | None:
        """The sampled frame in ``[lo, hi]`` after the lowest similarity, if it is below ``threshold``."""
        idx = np.unique(np.linspace(lo, hi, num=min(hi - lo + 1, 24)).astype(np.int64))
        if len(idx) < 2:
            return None
        vecs = self._frames(idx)
        sims = (vecs[1:] * vecs[:-1]).sum(axis=1)
        k = int(np.argmin(sims))
        return int(idx[k + 1]) if sims[k] < self.cfg.threshold else None


def _bounds(a: Group, b: Group) -> tuple[int, int]:
    return min(a[0][0], b[0][0]), max(a[-1][1], b[-1][1])


def _split_at(group: Group, cut: int) -> tuple[Group, Group]:
    """The pieces of ``group`` before and after frame ``cut`` (a piece containing it is cut in two)."""
    head = [(a, min(b, cut)) for a, b in group if a < cut]
    tail = [(max(a, cut), b) for a, b in group if b > cut]
    return head, tail


def _register() -> None:
    CHUNKERS.register(
        "semantic", SemanticChunker, description="merge similar shots, split long ones at sentences"
    )
    CHUNKERS.register("shots", ShotChunker, description="one segment per detected shot")
    CHUNKERS.register(
        "fixed", FixedChunker, description="fixed windows of `window` s every `stride` s (baseline)"
    )


_register()
