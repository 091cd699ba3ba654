"""Plain data handed from stage to stage. All frozen; all times are seconds from presentation timestamps.

Times are measured from the start of the file as a player shows it: the first frame of a video whose
container starts at a non-zero timestamp is at ``0.0`` (see ``VideoSource.start_time`` for the offset).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Cue", "Frames", "Hit", "Moment", "Segment", "Shot", "StreamInfo"]


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """A non-video stream of a container (audio or subtitles)."""

    index: int
    kind: Literal["audio", "subtitle"]
    codec: str
    language: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Frames:
    """Decoded frames and the exact presentation time of each.

    Attributes:
        data: uint8 array ``[N, H, W, 3]`` (RGB).
        times: float64 ``[N]`` seconds, from each frame's PTS.
        indices: int64 ``[N]`` frame numbers in presentation order (a secondary key; trust ``times``).
    """

    data: np.ndarray
    times: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return int(self.data.shape[0])


@dataclass(frozen=True, slots=True)
class Cue:
    """A piece of timed text: a subtitle line, an ASR sentence, or on-screen text."""

    start: float
    end: float
    text: str
    source: Literal["subtitle", "asr", "ocr"] = "subtitle"


@dataclass(frozen=True, slots=True)
class Shot:
    """A run of frames between two cuts. ``end`` is exclusive (the next shot's ``start``)."""

    start: float
    end: float
    start_frame: int
    end_frame: int

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Segment:
    """A meaningful piece of a video: one or more shots, with the text spoken or shown inside it.

    Attributes:
        video_id: content hash of the source file.
        start: seconds, inclusive.
        end: seconds, exclusive (the next segment's ``start``).
        shots: the shots (or pieces of a long shot) this segment covers, in order.
        keyframes: representative times inside the segment (one per shot, at least one).
        text: transcript and on-screen text whose time falls inside the segment.
        cues: the cues behind ``text``.
    """

    video_id: str
    start: float
    end: float
    shots: tuple[Shot, ...]
    keyframes: tuple[float, ...]
    text: str = ""
    cues: tuple[Cue, ...] = field(default=())

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Moment:
    """The part of a hit that best answers the query: a subtitle cue or transcript sentence (or a run of
    them), with its exact times; the hit's own span when the best evidence has no times of its own
    (on-screen text, or an index built without per-cue times).

    Attributes:
        start: seconds, inclusive (inside the hit's span).
        end: seconds, exclusive.
        text: the evidence inside the moment.
        score: how well it matches the query: cosine similarity of the index's text encoder, in [-1, 1]
            (comparable across queries; answers abstain below a calibrated value).
    """

    start: float
    end: float
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text, "score": _finite(self.score)}


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: a span of one video, with the evidence behind it.

    Attributes:
        video: the video's path.
        video_id: content hash of the video.
        start: seconds, inclusive.
        end: seconds, exclusive.
        score: relevance in [0, 1], higher is better: the engine's fused score over its maximum (DBSF: the
            number of channels queried; RRF: the sum of channel weights over ``rrf_k``), clipped; after a
            rerank, the blend of both normalised scores.
        text: transcript / on-screen text inside the span (the evidence to cite).
        keyframe: a representative time inside the span (seconds).
        channel_scores: the raw score each channel gave this span (a channel that did not find it has no
            entry); ``"rerank"`` / ``"retrieval"`` after a rerank.
        id: the segment's point id in the index (deterministic: video, times and pipeline fingerprint).
        raw_score: the engine's fused score before scaling (``None`` for hits not from a search).
        moment: the part of the span that best answers the query (citations and :meth:`media_url` point
            at it; ``start``/``end`` stay the segment, for context). ``None`` when not computed.
        relation: for a query with a relation in time ("right after the part about X"), which relation
            produced this hit and where its anchor was found.
    """

    video: str
    video_id: str
    start: float
    end: float
    score: float
    text: str = ""
    keyframe: float | None = None
    channel_scores: dict[str, float] = field(default_factory=dict, compare=False)
    id: str = ""
    raw_score: float | None = field(default=None, compare=False)
    moment: Moment | None = field(default=None, compare=False)
    relation: str | None = field(default=None, compare=False)

    @property
    def cited(self) -> tuple[float, float]:
        """The span citations point at: the moment when there is one, else the whole hit."""
        return (self.moment.start, self.moment.end) if self.moment is not None else (self.start, self.end)

    @property
    def citation(self) -> str:
        """The ``[video mm:ss–mm:ss]`` marker answers use to cite this hit (its moment when it has one)."""
        from vrag._format import span

        return f"[{os.path.basename(self.video)} {span(*self.cited)}]"

    @property
    def segment_citation(self) -> str:
        """The ``[video mm:ss–mm:ss]`` marker of the whole span (the context the moment sits in)."""
        from vrag._format import span

        return f"[{os.path.basename(self.video)} {span(self.start, self.end)}]"

    def media_url(self, base: str | None = None) -> str:
        """A playable URL of the span with a W3C media fragment (``file:///…/talk.mp4#t=12.0,24.0``).

        Args:
            base: the URL the video is served at (``vrag serve`` gives ``…/api/videos/<id>/media``), where
                ``{video_id}`` stands for this hit's video id (one template serves every hit); default the
                file's own ``file://`` URI.
        """
        start, end = self.cited
        url = base.replace("{video_id}", self.video_id) if base else _file_uri(self.video)
        return f"{url}#t={round(start, 3)!r},{round(end, 3)!r}"

    def to_dict(self, *, media_base: str | None = None) -> dict[str, Any]:
        """JSON-ready fields (the metadata the LlamaIndex and LangChain adapters attach to results).

        ``citation`` is the marker of the whole span, the one that goes with ``text``; ``moment`` (when
        there is one) has the moment's own marker as ``moment["citation"]``; ``url`` plays the moment.

        Args:
            media_base: passed to :meth:`media_url` for the ``url`` field.
        """
        return {
            "id": self.id,
            "video": self.video,
            "video_id": self.video_id,
            "start": self.start,
            "end": self.end,
            "score": _finite(self.score),
            "raw_score": _finite(self.raw_score),
            "text": self.text,
            "keyframe": self.keyframe,
            "channel_scores": {k: _finite(v) for k, v in self.channel_scores.items()},
            "citation": self.segment_citation,
            "url": self.media_url(media_base),
            "moment": {**self.moment.to_dict(), "citation": self.citation}
            if self.moment is not None
            else None,
            "relation": self.relation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, text: str | None = None) -> Hit:
        """The inverse of :meth:`to_dict` (extra keys are ignored; ``text`` overrides the stored text)."""
        keyframe, raw, moment = data.get("keyframe"), data.get("raw_score"), data.get("moment")
        return cls(
            video=str(data["video"]),
            video_id=str(data.get("video_id", "")),
            start=float(data["start"]),
            end=float(data["end"]),
            score=float(data.get("score") or 0.0),
            text=text if text is not None else str(data.get("text", "")),
            keyframe=float(keyframe) if keyframe is not None else None,
            channel_scores={
                str(k): float(v) for k, v in (data.get("channel_scores") or {}).items() if v is not None
            },
            id=str(data.get("id") or ""),
            raw_score=float(raw) if raw is not None else None,
            moment=Moment(
                float(moment["start"]), float(moment["end"]), str(moment.get("text", "")),
                float(moment.get("score") or 0.0),
            ) if isinstance(moment, Mapping) else None,
            relation=str(data["relation"]) if data.get("relation") else None,
        )  # fmt: skip


def _file_uri(path: str) -> str:
    from pathlib import Path

    return Path(path).expanduser().absolute().as_uri()


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such a score (a damaged vector) is written as null."""
    return value if value is None or math.isfinite(value) else None
