"""Moments inside segments: the cue (or run of cues) of each hit that best answers the query.

A hit is a whole segment (often 10–30 s); the sentence that answers is usually one of its subtitle cues or
transcript sentences. Each cue stored with the segment (``extra.cues``, see :mod:`vrag._cues`) and its
on-screen text are scored against the query with the index's own text encoder (cosine, the query encoded
once, the evidence in one batch, cached per text); the best one is the hit's :class:`~vrag.types.Moment`,
widened to neighbouring cues that score nearly as well. A unit that holds every content word of the query
(the topic named outright, e.g. "dropout") is preferred and counts as fully supported (score
:data:`COVERED`). On-screen text and segments stored without cue times have no times of their own: their
moment is the whole segment.

Example:
    >>> from vrag.types import Hit
    >>> hit = Hit("a.mp4", "a", 0.0, 9.0, 0.8, "Cats purr. Dogs bark.")
    >>> extra = {"speech": "Cats purr. Dogs bark.", "cues": [[1.0, 3.0, 10], [5.0, 8.0, 21]]}
    >>> [(u.start, u.end, u.text) for u in units(hit, extra)]
    [(1.0, 3.0, 'Cats purr.'), (5.0, 8.0, 'Dogs bark.')]
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from vrag._cues import unpack_cues
from vrag._sentences import sentences
from vrag.types import Hit, Moment

if TYPE_CHECKING:
    from vrag.encoders import TextEncoder

__all__ = ["COVERED", "WIDEN", "MomentFinder", "Unit", "units"]

COVERED = 1.0
"""The score of a moment whose text holds every content word of the query."""

WIDEN = 0.1
"""A neighbouring cue joins the moment when its score is within this much of the best cue's. Chosen on the
training split of ``vrag eval timeaware`` (moment IoU at 0 / 0.02 / 0.05 / 0.1 / 0.2: see BENCHMARKS.md)."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A piece of a hit's evidence: a timed cue, or untimed text (on-screen text; sentences of a segment
    stored without cue times), whose span is the whole hit."""

    start: float
    end: float
    text: str
    timed: bool


def units(hit: Hit, extra: Mapping[str, Any] | None) -> list[Unit]:
    """The evidence units of a hit: its cues (clipped to its span) and its on-screen text; the sentences of
    its text when it was stored without cues."""
    extra = extra or {}
    cues = [(max(s, hit.start), min(e, hit.end), t) for s, e, t in unpack_cues(extra) if s < hit.end]
    out = [Unit(s, e, t, True) for s, e, t in cues if e > s]
    if not out:
        out = [Unit(hit.start, hit.end, s, False) for s in sentences(str(extra.get("speech") or ""))]
    if screen := str(extra.get("ocr") or "").strip():
        out.append(Unit(hit.start, hit.end, screen, False))
    return out or [Unit(hit.start, hit.end, s, False) for s in sentences(hit.text)]


class MomentFinder:
    """Finds the moment of each hit with a text encoder; keeps the vectors of recent evidence texts.

    Args:
        encoder: the index's text encoder (query side ``encode_query``, evidence ``encode_document``).
        widen: see :data:`WIDEN`.
        cache: evidence vectors kept (by text).
    """

    def __init__(self, encoder: TextEncoder, *, widen: float = WIDEN, cache: int = 8192) -> None:
        self.encoder, self.widen, self._size = encoder, widen, cache
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, query: str, vector: np.ndarray) -> None:
        """Keep the query vector the search already computed with the same encoder (no second encode)."""
        with self._lock:
            self._queries[query] = np.asarray(vector, dtype=np.float32)
            self._queries.move_to_end(query)
            while len(self._queries) > 256:
                self._queries.popitem(last=False)

    def attach(
        self, query: str, hits: Sequence[Hit], extras: Mapping[str, Mapping[str, Any]], *, pick: str = "best"
    ) -> list[Hit]:
        """Copies of ``hits`` with their :attr:`~vrag.types.Hit.moment` (hits that already have one, or have
        no text, are returned as they are).

        Args:
            query: what the moments should answer.
            hits: the hits.
            extras: the stored extras of each hit by id (``speech``, ``ocr``, ``cues``).
            pick: among units holding every word of the query, the ``"best"`` scoring one, or the
                ``"first"`` / ``"last"`` in time (for "the first time they mention X").
        """
        from vrag.chunking._text import content_words

        todo = {i: units(h, extras.get(h.id)) for i, h in enumerate(hits) if h.moment is None}
        todo = {i: u for i, u in todo.items() if u}
        if not todo:
            return list(hits)
        with self._lock:
            q = self._queries.get(query)
        if q is None:
            q = np.asarray(self.encoder.encode_query([query])[0], dtype=np.float32)
            self.remember(query, q)
        vecs = self._encode([u.text for us in todo.values() for u in us])
        words = set(content_words(query))
        out, at = list(hits), 0
        for i, us in todo.items():
            scores = vecs[at : at + len(us)] @ q
            at += len(us)
            covered = [j for j, u in enumerate(us) if words and words <= set(content_words(u.text))]
            out[i] = replace(hits[i], moment=self._moment(us, scores, covered, pick))
        return out

    def _moment(self, us: list[Unit], scores: np.ndarray, covered: list[int], pick: str) -> Moment:
        if covered:
            timed = [j for j in covered if us[j].timed] or covered
            choose = {"first": timed[0], "last": timed[-1]}
            best = choose.get(pick, max(covered, key=lambda j: float(scores[j])))
        else:
            best = int(np.argmax(scores))
        lo = hi = best
        if us[best].timed:  # widen over neighbouring cues that answer nearly as well
            floor = scores[best] - self.widen
            while lo > 0 and us[lo - 1].timed and scores[lo - 1] >= floor:
                lo -= 1
            while hi + 1 < len(us) and us[hi + 1].timed and scores[hi + 1] >= floor:
                hi += 1
        run = us[lo : hi + 1]
        text = " ".join(u.text for u in run)
        score = COVERED if covered else float(scores[best])
        return Moment(run[0].start, max(u.end for u in run), text, score)

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            new = np.asarray(self.encoder.encode_document(missing), dtype=np.float32)
            with self._lock:
                for text, vec in zip(missing, new, strict=True):
                    self._vectors[text] = vec
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        with self._lock:
            rows = [self._vectors.get(t) for t in texts]
        return np.stack([r if r is not None else self._one(t) for r, t in zip(rows, texts, strict=True)])

    def _one(self, text: str) -> np.ndarray:
        """A vector evicted by another thread meanwhile: encoded again."""
        return np.asarray(self.encoder.encode_document([text])[0], dtype=np.float32)
