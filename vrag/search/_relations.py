"""Applying a relation in time: find the anchor, apply the relation inside the anchor's video (its segments
in time order, its duration), rank the targets there, and mark each hit with the relation behind it.

Every search made on the way is a :class:`Step` (query, purpose, the video and window it was limited to, the
top spans it found, seconds), so callers can show how an answer was reached.

The anchor is tried in up to :data:`ANCHOR_VIDEOS` videos (its best hit in each, best first): the best
anchor's targets come first, the others fill the remaining places.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vrag.search._temporal import TimeQuery
from vrag.types import Hit, Moment

if TYPE_CHECKING:
    from vrag.search._options import SearchOptions
    from vrag.search._retriever import Retriever
    from vrag.store import StoredSegment

__all__ = ["ANCHOR_VIDEOS", "Step", "relational_search"]

ANCHOR_VIDEOS = 3
"""Videos an anchor is tried in (its best hit in each)."""
DECAY = 0.9
"""Score factor per place further from the anchor, for hits ranked by position alone."""
EDGE_FRACTION = 0.2
""""At the end of the talk, what about X" with no window given: the last (first) fifth of the video."""
MENTION_RATIO = 0.8
"""A mention found by meaning alone (no segment holds every word of the topic): candidates scoring at least
this fraction of the best one."""
_EPS = 0.05
Extras = dict[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Step:
    """One search made to answer a query.

    Attributes:
        query: the text searched.
        purpose: why (``"anchor"``, ``"until"``, ``"target"``, ``"topic"``, ``"question"``, ``"sub-query"``).
        video: the video it was limited to (file name), if any.
        after: the window it was limited to (seconds), if any.
        before: see ``after``.
        found: the top spans found: ``(video file name, start, end, score)``.
        seconds: how long it took.
        note: what was concluded (e.g. "insufficient evidence (0.21 < 0.35)").
    """

    query: str
    purpose: str
    video: str | None = None
    after: float | None = None
    before: float | None = None
    found: tuple[tuple[str, float, float, float], ...] = ()
    seconds: float = 0.0
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query, "purpose": self.purpose, "video": self.video, "after": self.after,
            "before": self.before, "found": [list(f) for f in self.found], "seconds": round(self.seconds, 4),
            "note": self.note,
        }  # fmt: skip

    @classmethod
    def of(
        cls, query: str, purpose: str, hits: Sequence[Hit], seconds: float, *, video: str | None = None,
        after: float | None = None, before: float | None = None, note: str = "",
    ) -> Step:  # fmt: skip
        found = tuple((os.path.basename(h.video), h.start, h.end, round(h.score, 4)) for h in hits[:3])
        return cls(query, purpose, video, after, before, found, seconds, note)


class _Run:
    """One relational search: the retriever, the user's options, the hits' stored extras, the steps."""

    def __init__(self, retriever: Retriever, tq: TimeQuery, opts: SearchOptions) -> None:
        self.r, self.tq, self.opts = retriever, tq, opts
        self.extras: Extras = {}
        self.steps: list[Step] = []
        self.names: dict[str, str] = {}

    def search(
        self, text: str, purpose: str, *, video: str | None = None, after: float | None = None,
        before: float | None = None, k: int | None = None,
    ) -> list[Hit]:  # fmt: skip
        """A plain search limited to ``video`` and the window (intersected with the user's own)."""
        from vrag.search._retriever import Query

        lo = max((t for t in (after, self.opts.after) if t is not None), default=None)
        hi = min((t for t in (before, self.opts.before) if t is not None), default=None)
        if lo is not None and hi is not None and lo >= hi:
            return []
        opts = dataclasses.replace(
            self.opts, k=k or self.opts.k, after=lo, before=hi, expand=0, merge=False,
            video=(video,) if video else self.opts.video,
        )  # fmt: skip
        started = time.perf_counter()
        hits, extras = self.r.candidates(Query(text=text), opts)
        self.extras.update(extras)
        self.names.update((h.video_id, os.path.basename(h.video)) for h in hits)
        name = self.names.get(video, video) if video else None
        self.steps.append(Step.of(text, purpose, hits, time.perf_counter() - started, video=name, after=lo,
                                  before=hi))  # fmt: skip
        return hits

    def anchors(self, text: str, purpose: str = "anchor") -> list[Hit]:
        """The best hit of ``text`` in each of the first :data:`ANCHOR_VIDEOS` videos, with its moment."""
        hits = self.search(text, purpose, k=max(self.opts.k, 10))
        best: dict[str, Hit] = {}
        for hit in hits:
            best.setdefault(hit.video_id, hit)
        return self.with_moments(text, list(best.values())[:ANCHOR_VIDEOS])

    def with_moments(self, text: str, hits: list[Hit], pick: str = "best") -> list[Hit]:
        finder = self.r.moment_finder() if self.opts.moments else None
        return finder.attach(text, hits, self.extras, pick=pick) if finder else hits

    def segments(self, video_id: str) -> list[StoredSegment]:
        """The video's segments in time order, inside the user's time filters."""
        lo, hi = self.opts.after, self.opts.before
        segs = [
            s for s in self.r.store.iter_segments(video_id)
            if (lo is None or s.start >= lo) and (hi is None or s.end <= hi)
        ]  # fmt: skip
        self.extras.update((s.id, s.extra) for s in segs)
        return segs

    def videos(self) -> list[str] | None:
        """The user's video filter as ids (``None``: no filter)."""
        return self.r.video_ids(self.opts.video) if self.opts.video else None

    def mark(self, hits: Iterable[Hit], anchor: Hit | None) -> list[Hit]:
        where = f" — anchor {anchor.citation}" if anchor is not None else ""
        return [dataclasses.replace(h, relation=self.tq.describe() + where) for h in hits]


def relational_search(
    retriever: Retriever, tq: TimeQuery, opts: SearchOptions
) -> tuple[list[Hit], Extras, tuple[Step, ...]]:
    """The hits of a query with a relation in time (best first, at most ``opts.k``), the stored extras
    of every hit by id, and the searches made."""
    run = _Run(retriever, tq, opts)
    if tq.relation in ("start", "end"):
        hits = _edges(run)
    elif tq.relation in ("first", "last"):
        hits = _mentions(run)
    elif tq.relation == "between":
        hits = _between(run)
    else:
        hits = _order(run)
    unique = list({h.id: h for h in reversed(hits)}.values())[::-1]  # first occurrence wins
    return unique[: opts.k], run.extras, tuple(run.steps)


# ---------------------------------------------------------------------------------------------- relations


def _order(run: _Run) -> list[Hit]:
    """``after`` / ``before`` the anchor: the target ranked inside the window, or the nearest segments."""
    tq, out = run.tq, []
    for anchor in run.anchors(tq.anchor or ""):
        after = anchor.end - _EPS if tq.relation == "after" else None
        before = anchor.start + _EPS if tq.relation == "before" else None
        if before is not None and anchor.start <= _EPS:
            continue  # nothing comes before the very start
        if tq.target:
            found = run.search(tq.target, "target", video=anchor.video_id, after=after, before=before)
            found = _supported(run.with_moments(tq.target, found), anchor)
        else:
            segs = [
                s for s in run.segments(anchor.video_id)
                if (after is None or s.start >= after) and (before is None or s.end <= before)
            ]  # fmt: skip
            found = _by_position(segs if tq.relation == "after" else segs[::-1], anchor)
        out += run.mark(found, anchor)
    return out


def _between(run: _Run) -> list[Hit]:
    tq, out = run.tq, []
    for anchor in run.anchors(tq.anchor or ""):
        ends = run.search(tq.until or "", "until", video=anchor.video_id, k=3)
        other = next((h for h in ends if h.end <= anchor.start + _EPS or h.start >= anchor.end - _EPS), None)
        if other is None:
            continue
        (other,) = run.with_moments(tq.until or "", [other])
        lo, hi = sorted((anchor, other), key=lambda h: h.start)
        support = min(_support(anchor), _support(other))
        if tq.target:
            found = run.search(tq.target, "target", video=anchor.video_id, after=lo.end - _EPS,
                               before=hi.start + _EPS)  # fmt: skip
            found = _supported(run.with_moments(tq.target, found), anchor, support)
        else:
            segs = [s for s in run.segments(anchor.video_id) if s.start >= lo.end - _EPS
                    and s.end <= hi.start + _EPS]  # fmt: skip
            found = _by_position(segs, lo, support)
        out += run.mark(found, anchor)
    return out


def _mentions(run: _Run) -> list[Hit]:
    """The ``first`` / ``last`` segment that mentions the topic: every word of it in the segment's text
    (else, by meaning: candidates near the best score), earliest / latest first."""
    from vrag.chunking._text import content_words

    tq, out = run.tq, []
    topic = tq.anchor or ""
    words = set(content_words(topic))
    cands = run.search(topic, "topic", k=max(run.opts.k, 30))
    ids = run.videos() or list(dict.fromkeys(h.video_id for h in cands))[:ANCHOR_VIDEOS]
    for vid in ids:
        top = max((h.score for h in cands if h.video_id == vid), default=0.0)
        segs = [s for s in run.segments(vid) if words and words <= set(content_words(s.text))]
        found = [_segment_hit(s, top) for s in segs] or sorted(
            (h for h in cands if h.video_id == vid and h.score >= MENTION_RATIO * top), key=lambda h: h.start
        )
        found = found if tq.relation == "first" else found[::-1]
        found = [dataclasses.replace(h, score=top * DECAY**i) for i, h in enumerate(found)]
        out += run.mark(run.with_moments(topic, found, tq.relation), None)
    return out


def _edges(run: _Run) -> list[Hit]:
    """The ``start`` / ``end`` of each video (the user's videos; else those where the target is found; else
    all): the window's segments ranked by the target, or by position."""
    tq, out = run.tq, []
    ids = run.videos()
    if ids is None and tq.target:
        cands = run.search(tq.target, "target", k=max(run.opts.k, 30))
        ids = list(dict.fromkeys(h.video_id for h in cands))[:ANCHOR_VIDEOS]
    if ids is None:
        ids = [v.video_id for v in sorted(run.r.store.iter_videos(), key=lambda v: v.path)][: run.opts.k]
    for vid in ids:
        segs = run.segments(vid)
        video = run.r.store.get_video(vid)
        if not segs or video is None:
            continue
        window = _window(segs, video.duration, tq)
        if tq.target:
            found = run.search(tq.target, "target", video=vid, after=window[0].start - _EPS,
                               before=window[-1].end + _EPS)  # fmt: skip
            found = run.with_moments(tq.target, found)
        else:
            ordered = window if tq.relation == "start" or tq.seconds is not None else window[::-1]
            found = [_segment_hit(s, DECAY**i, whole=True) for i, s in enumerate(ordered)]
        out += run.mark(found, None)
    return out


def _window(segs: list[StoredSegment], duration: float, tq: TimeQuery) -> list[StoredSegment]:
    """The segments overlapping the start / end window (at least the first / last segment)."""
    length = tq.seconds if tq.seconds is not None else (EDGE_FRACTION * duration if tq.target else 0.0)
    if tq.relation == "start":
        inside = [s for s in segs if s.start < length]
        return inside or segs[:1]
    inside = [s for s in segs if s.end > duration - length]
    return inside or segs[-1:]


# ---------------------------------------------------------------------------------------------- helpers


def _support(hit: Hit) -> float:
    return hit.moment.score if hit.moment is not None else 0.0


def _supported(hits: list[Hit], anchor: Hit, support: float | None = None) -> list[Hit]:
    """A target is no better supported than the anchor it was found from (answers abstain on either)."""
    cap = _support(anchor) if support is None else support
    return [
        dataclasses.replace(h, moment=dataclasses.replace(h.moment, score=min(h.moment.score, cap)))
        if h.moment is not None else h
        for h in hits
    ]  # fmt: skip


def _by_position(segs: Sequence[StoredSegment], anchor: Hit, support: float | None = None) -> list[Hit]:
    """Segments ranked by their place from the anchor (nearest first); their moment is the whole segment,
    supported as well as the anchor was."""
    score = _support(anchor) if support is None else support
    return [
        dataclasses.replace(_segment_hit(s, anchor.score * DECAY**i, whole=True), moment=_whole(s, score))
        for i, s in enumerate(segs)
    ]


def _segment_hit(seg: StoredSegment, score: float, *, whole: bool = False) -> Hit:
    keyframe = seg.keyframes[0] if seg.keyframes else None
    hit = Hit(seg.video, seg.video_id, seg.start, seg.end, score, seg.text, keyframe, {}, id=seg.id)
    return dataclasses.replace(hit, moment=_whole(seg, 1.0)) if whole else hit


def _whole(seg: StoredSegment, score: float) -> Moment:
    """A moment covering the whole segment (a hit that answers by its position, not its words)."""
    from vrag._sentences import sentences

    lines = sentences(str(seg.extra.get("speech") or "")) or sentences(seg.text)
    return Moment(seg.start, seg.end, " ".join(lines[:2]), score)
