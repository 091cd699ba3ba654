"""Typed records in and out of the store, and the deterministic point ids."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from vrag.types import Segment

__all__ = [
    "SegmentRecord",
    "StoredHit",
    "StoredSegment",
    "StoredVideo",
    "VideoGroup",
    "VideoHit",
    "VideoRecord",
    "segment_point_id",
    "video_point_id",
]

_NAMESPACE = uuid.UUID("8f0c5c1e-6d55-5b7a-9a43-2f1d6c0e7b21")

VectorLike = Sequence[float] | np.ndarray
"""A dense vector: a 1-D float sequence or array."""


def segment_point_id(video_id: str, start: float, end: float, fingerprint: str) -> str:
    """The deterministic point id of a segment: uuid5 of video id, start/end in ms and pipeline fingerprint.

    Example:
        >>> segment_point_id("abc", 1.0, 2.5, "fp") == segment_point_id("abc", 1.0004, 2.5, "fp")
        True
    """
    key = f"segment:{video_id}:{round(start * 1000)}:{round(end * 1000)}:{fingerprint}"
    return str(uuid.uuid5(_NAMESPACE, key))


def video_point_id(video_id: str) -> str:
    """The deterministic point id of a video's record in the videos collection."""
    return str(uuid.uuid5(_NAMESPACE, f"video:{video_id}"))


@dataclass(frozen=True, slots=True, eq=False)
class SegmentRecord:
    """One segment to store: its times, text and one vector per channel (a channel may be missing).

    Attributes:
        video_id: content hash of the video.
        video: the video's path (as the user will see it in hits).
        start: seconds, inclusive.
        end: seconds, exclusive.
        vectors: dense channel name → vector; channels without a vector (e.g. no text) are left out.
        text: transcript / on-screen text; also feeds the sparse BM25 channel when the schema has it.
        keyframes: representative times (s) inside the segment.
        shots: ``(start, end)`` of each shot the segment covers.
        extra: small JSON-able metadata kept with the segment (flat str/int/float/bool values).

    Example:
        >>> rec = SegmentRecord("abc", "a.mp4", 0.0, 4.0, {"clip": [0.1, 0.2]}, text="hello")
        >>> rec.duration
        4.0
    """

    video_id: str
    video: str
    start: float
    end: float
    vectors: Mapping[str, VectorLike]
    text: str = ""
    keyframes: tuple[float, ...] = ()
    shots: tuple[tuple[float, float], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.end - self.start

    @classmethod
    def from_segment(
        cls, segment: Segment, *, video: str, vectors: Mapping[str, VectorLike]
    ) -> SegmentRecord:
        """Build a record from a chunker's ``vrag.types.Segment`` and its vectors."""
        return cls(
            video_id=segment.video_id,
            video=video,
            start=segment.start,
            end=segment.end,
            vectors=vectors,
            text=segment.text,
            keyframes=segment.keyframes,
            shots=tuple((s.start, s.end) for s in segment.shots),
        )


@dataclass(frozen=True, slots=True, eq=False)
class VideoRecord:
    """A video's record, written last when its segments are committed.

    Attributes:
        video_id: content hash of the video.
        path: where the video is.
        duration: seconds.
        hash: the full content hash, when one was computed (``video_id`` is a sampled hash).
        vectors: video channel name → ``[K, dim]`` vectors (aggregated video-level embedding); may be empty.
        extra: small JSON-able metadata (e.g. codec, size).
    """

    video_id: str
    path: str
    duration: float
    hash: str = ""
    vectors: Mapping[str, Sequence[VectorLike] | np.ndarray] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSegment:
    """A committed segment as read back from the store.

    Attributes:
        id: point id (see ``segment_point_id``).
        video_id: content hash of the video.
        video: the video's path.
        start: seconds, inclusive.
        end: seconds, exclusive.
        text: transcript / on-screen text.
        keyframes: representative times inside the segment.
        shots: ``(start, end)`` of each shot.
        channels: the channels this segment has a vector for.
        extra: metadata stored with the segment.
        vectors: dense vectors by channel, only when asked for (``with_vectors=True``).
    """

    id: str
    video_id: str
    video: str
    start: float
    end: float
    text: str = ""
    keyframes: tuple[float, ...] = ()
    shots: tuple[tuple[float, float], ...] = ()
    channels: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    vectors: Mapping[str, np.ndarray] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredHit(StoredSegment):
    """A segment found by a search, with its score (higher is better; the engine's raw score), its relevance
    (the fused score over its maximum, in [0, 1]; see ``Store.search_fused``) and, when asked for, the score
    each channel gave it (channels that did not find it are absent)."""

    score: float
    relevance: float = 0.0
    channel_scores: Mapping[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredVideo:
    """A committed video's record.

    Attributes:
        video_id: content hash.
        path: where the video is.
        duration: seconds.
        hash: full content hash if computed.
        n_segments: committed segments of this video.
        fingerprint: pipeline fingerprint it was indexed with.
        channels: video-level channels it has vectors for.
        extra: metadata stored with it.
    """

    video_id: str
    path: str
    duration: float
    hash: str = ""
    n_segments: int = 0
    fingerprint: str = ""
    channels: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``video_id``, ``path``, ``duration``, ``segments``, ``channels`` and the extras."""
        return {
            "video_id": self.video_id,
            "path": self.path,
            "duration": self.duration,
            "segments": self.n_segments,
            "channels": list(self.channels),
            **{k: v for k, v in self.extra.items() if k not in ("segments",)},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoHit(StoredVideo):
    """A video found by a video-level (MaxSim) search."""

    score: float


@dataclass(frozen=True, slots=True)
class VideoGroup:
    """The best segments of one video for a query (``Store.search_grouped``)."""

    video_id: str
    score: float
    hits: tuple[StoredHit, ...]
