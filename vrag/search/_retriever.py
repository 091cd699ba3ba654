"""``Retriever``: the one search pipeline behind every entry point (API, CLI, service, framework adapters).

A query is encoded for the channels that can take it, the hierarchical first stage picks videos when the
index is large, the store fuses the channels in the engine, then: rerank → per-video cap → MMR → top k →
context expansion → temporal merge.

Example:
    >>> from vrag.search import Retriever, SearchOptions
    >>> retriever = Retriever(store, channels)                      # doctest: +SKIP
    >>> hits = retriever.search("gradient descent", SearchOptions(k=3, after="1:00"))   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrag.errors import ConfigError
from vrag.search._options import SearchOptions
from vrag.search._relations import Step
from vrag.search._temporal import TimeQuery
from vrag.types import Hit

if TYPE_CHECKING:
    from vrag.pipeline import Channels
    from vrag.search._moments import MomentFinder
    from vrag.search._queries import ClipQuery
    from vrag.search._rerank import Reranker
    from vrag.store import Store, StoredHit

__all__ = ["Found", "Query", "Retriever"]


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for: words, an image file, or an example clip (a file, or ``(file, start_s, end_s)``).
    Exactly one is given."""

    text: str | None = None
    image: str | os.PathLike[str] | None = None
    clip: ClipQuery | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.text, self.image, self.clip)) != 1:
            raise ConfigError("search needs exactly one of: query text, image=, clip=")
        if self.text is not None and not self.text.strip():
            raise ConfigError("search needs a non-empty query")

    @classmethod
    def of(cls, query: str | Query) -> Query:
        return query if isinstance(query, Query) else cls(text=query)


@dataclass(frozen=True, slots=True)
class Found:
    """What a search found, and how.

    Attributes:
        hits: the hits, best first.
        steps: the searches made for a query with a relation in time (anchor, then target); empty for a
            plain query.
        relation: the relation read from the query, if any.
    """

    hits: tuple[Hit, ...]
    steps: tuple[Step, ...] = ()
    relation: TimeQuery | None = None


class Retriever:
    """Searches one index.

    Args:
        store: the index's store.
        channels: its encoder channels (encoders load when a query first needs them).
    """

    def __init__(self, store: Store, channels: Channels) -> None:
        self.store, self.channels = store, channels
        self._rerankers: dict[str, Reranker] = {}
        self._moments: MomentFinder | None = None
        self._lock = threading.Lock()

    def search(self, query: str | Query, options: SearchOptions | None = None) -> list[Hit]:
        """The segments that best match ``query``, best first (see :class:`SearchOptions`).

        Every hit carries a relevance ``score`` in [0, 1], the engine's raw fused score, the raw score
        each channel gave it, and its :class:`~vrag.types.Moment` (the cue inside it that best matches).
        A text query with a relation in time ("right after the part about X") is answered inside the
        anchor's video, each hit naming its relation (``Hit.relation``; off with ``temporal=False``).
        """
        return list(self.search_traced(query, options).hits)

    def search_traced(
        self, query: str | Query, options: SearchOptions | None = None, *, relation: TimeQuery | None = None
    ) -> Found:
        """:meth:`search`, with the relation read from the query (or the ``relation`` given) and the
        searches made to answer it."""
        q, opts = Query.of(query), options or SearchOptions()
        if relation is None and q.text is not None and opts.temporal:
            q, opts = _on_the_clock(q, opts)
        if relation is None and q.text is not None:
            relation = self.time_query(q.text, opts)
        steps: tuple[Step, ...] = ()
        if relation is None:
            hits, extras = self.candidates(q, opts)
        else:
            from vrag.search._relations import relational_search

            hits, extras, steps = relational_search(self, relation, opts)
            if not opts.moments:  # hits ranked by position carry their segment as moment: not asked for
                hits = [dataclasses.replace(h, moment=None) for h in hits]
        finder = self.moment_finder() if opts.moments and self._text_searched(opts) else None
        if finder is not None and q.text is not None and relation is None:
            hits = finder.attach(q.text, hits, extras)
        if opts.expand:
            from vrag.search._queries import expand_hits

            hits = expand_hits(hits, opts.expand, self.segments_of)
        if opts.merge:
            from vrag.search._merge import merge_hits

            hits = merge_hits(hits)
        return Found(tuple(hits), steps, relation)

    def time_query(self, text: str, opts: SearchOptions) -> TimeQuery | None:
        """The relation in time ``text`` asks about (``None``: a plain query, or ``temporal=False``)."""
        if not opts.temporal:
            return None
        from vrag.search._temporal import decompose

        return decompose(text, opts.decomposer)

    def candidates(self, q: Query, opts: SearchOptions) -> tuple[list[Hit], dict[str, Mapping[str, Any]]]:
        """One plain search: the top ``k`` hits before moments, expansion and merging, and the stored
        extras of each (``speech``, ``ocr``, ``cues``) by hit id."""
        if opts.rerank is not None and q.text is None:
            raise ConfigError("rerankers score query text; rerank works with text queries only")
        vectors = self._vectors(q, opts.channels)
        text_channel = self.channels.text_channel
        if self._moments is not None and q.text is not None and text_channel in vectors:
            self._moments.remember(q.text, vectors[text_channel])  # moments reuse the query vector
        ids = self.video_ids(opts.video) if opts.video else None
        ids = self._first_stage(vectors, ids, opts)
        found = self.store.search_fused(
            vectors, k=opts.pool, fusion=opts.fused_by, weights=opts.weights, video_ids=ids,
            after=opts.after, before=opts.before, payload_filter=opts.where, with_vectors=bool(opts.mmr),
            channel_scores=True,
        )  # fmt: skip
        found.sort(key=lambda h: (-h.score, h.video, h.start))  # ties: a fixed order
        hits = [_to_hit(h) for h in found]
        if opts.rerank is not None:
            hits = self._reranker(opts.rerank).rerank(q.text or "", hits)
        if opts.per_video is not None:
            hits = _cap_per_video(hits, opts.per_video)
        if opts.mmr:
            from vrag.search._mmr import mmr

            dims = {ch: c.dim for ch, c in self.store.schema.dense.items() if not c.multivector}
            vecs = {h.id: _joined(h.vectors, dims) for h in found}
            hits = mmr(hits, [vecs.get(h.id) for h in hits], k=opts.k, diversity=opts.mmr)
        hits = hits[: opts.k]
        return hits, {h.id: h.extra for h in found}

    def moment_finder(self) -> MomentFinder | None:
        """What finds each hit's moment: the index's text encoder (``None`` when it has no text channel)."""
        if self.channels.text_channel is None:
            return None
        with self._lock:
            if self._moments is None:
                from vrag.search._moments import MomentFinder

                text = self.channels.text
                self._moments = MomentFinder(text) if text is not None else None
            return self._moments

    def _text_searched(self, opts: SearchOptions) -> bool:
        """Moments use the text channel's encoder: only when the search uses it (a BM25-only search loads
        no model)."""
        return opts.channels is None or self.channels.text_channel in opts.channels

    def video_ids(self, videos: Sequence[str]) -> list[str]:
        """Video ids for paths, ids, or bare file names (as citations show them) that name one video.

        Raises:
            ConfigError: a name that matches no indexed video, or several.
        """
        known = {v.video_id: v for v in self.store.iter_videos()}
        by_path = {str(Path(v.path).resolve()): v.video_id for v in known.values()}
        by_name: dict[str, list[str]] = {}
        for v in known.values():
            by_name.setdefault(Path(v.path).name, []).append(v.video_id)
        ids = []
        for item in videos:
            vid = item if item in known else by_path.get(str(Path(item).resolve()))
            if vid is None and Path(item).name == item and len(by_name.get(item, ())) == 1:
                vid = by_name[item][0]
            if vid is None:
                many = len(by_name.get(item, ())) > 1
                raise ConfigError(
                    f"{item}: "
                    + ("several indexed videos have this name; give the path or video id" if many else
                       "not in this index (give an indexed path, file name or video id; see `vrag videos`)")
                )  # fmt: skip
            ids.append(vid)
        return ids

    def segments_of(self, video_id: str) -> Iterable[tuple[float, float, str]]:
        """``(start, end, text)`` of a video's segments in time order."""
        return ((s.start, s.end, s.text) for s in self.store.iter_segments(video_id))

    def _vectors(self, q: Query, channels: Sequence[str] | None) -> dict[str, Any]:
        if q.text is not None:
            return self.channels.text_queries(q.text, channels)
        from vrag.search._queries import _visual, clip_vectors, image_vectors

        if q.image is not None:
            return dict(
                image_vectors(_visual(self.channels.visual_encoders(channels), "an image query"), q.image)
            )
        assert q.clip is not None  # Query holds exactly one
        return dict(clip_vectors(_visual(self.channels.visual_encoders(channels), "a clip query"), q.clip))

    def _first_stage(
        self, queries: Mapping[str, Any], ids: list[str] | None, opts: SearchOptions
    ) -> list[str] | None:
        """Hierarchical search's first stage: each video channel of the query nominates its ``top_videos``
        videos by video-level MaxSim; segments are then searched inside the union (no channel's best video
        is lost to another channel's ranking)."""
        wanted = opts.hierarchical
        if wanted is None and opts.filtered:
            return ids  # the video-level stage cannot see payload or time filters
        total = self.store.count_videos()
        # only channels every video has vectors in: a video left out of the first stage would be unfindable
        video_channels = [c for c in self.store.schema.video_channels if c in queries]
        channels = [c for c in video_channels if self.store.count_videos(c) == total]
        if wanted is None:
            wanted = bool(channels) and total > opts.top_videos
        if not wanted:
            return ids
        if not channels:
            raise ConfigError(
                "hierarchical search needs video-level vectors, for every video, in a channel of this query; "
                f"this index has {sorted(self.store.schema.video_channels) or 'none'} (build them with "
                "VideoIndex.build_video_vectors() or an add())"
            )
        nominated = {
            v.video_id: None
            for c in channels
            for v in self.store.search_videos(c, queries[c], k=opts.top_videos, video_ids=ids)
        }
        return list(nominated)

    def _reranker(self, rerank: str | Reranker) -> Reranker:
        from vrag.search._rerank import create_reranker

        if not isinstance(rerank, str):
            return rerank
        with self._lock:
            if rerank not in self._rerankers:
                options: dict[str, Any] = {}
                text = self.channels.text_channel
                if rerank == "sentence" and text:
                    options["encoder"] = self.channels.text  # the index's own text encoder
                if (
                    rerank in ("sentence", "cross-encoder", "cascade", "qwen3-vl")
                    and self.channels.config.device
                ):
                    options["device"] = self.channels.config.device
                self._rerankers[rerank] = create_reranker(rerank, **options)
            return self._rerankers[rerank]


def _to_hit(hit: StoredHit) -> Hit:
    keyframe = hit.keyframes[0] if hit.keyframes else None
    scores = dict(hit.channel_scores)
    return Hit(
        hit.video, hit.video_id, hit.start, hit.end, hit.relevance, hit.text, keyframe, scores,
        id=hit.id, raw_score=hit.score,
    )  # fmt: skip


def _joined(vectors: Mapping[str, Any], dims: Mapping[str, int]) -> Any:
    """One vector per hit for MMR similarity: its channels' unit vectors side by side (zeros for a channel
    it has no vector in; None when it has none at all)."""
    import numpy as np

    if not any(ch in vectors for ch in dims):
        return None
    parts = [
        np.asarray(vectors[ch], np.float32) / (np.linalg.norm(vectors[ch]) or 1.0)
        if ch in vectors
        else np.zeros(dim, np.float32)
        for ch, dim in dims.items()
    ]
    return np.concatenate(parts)


def _cap_per_video(hits: list[Hit], n: int) -> list[Hit]:
    seen: dict[str, int] = {}
    out = []
    for hit in hits:
        seen[hit.video_id] = seen.get(hit.video_id, 0) + 1
        if seen[hit.video_id] <= n:
            out.append(hit)
    return out


def _on_the_clock(q: Query, opts: SearchOptions) -> tuple[Query, SearchOptions]:
    """Times on the clock in the words ("what do they say after 1:30") become the ``after`` / ``before``
    filters, and the rest of the words the query."""
    from vrag.search._temporal import clock_window

    assert q.text is not None
    window = clock_window(q.text)
    if window is None:
        return q, opts
    after, before, rest = window
    if after is not None and opts.after is not None:
        after = max(after, opts.after)
    if before is not None and opts.before is not None:
        before = min(before, opts.before)
    words = rest.strip(" ?!.,;:")
    return Query(text=words if words else q.text), opts.replace(after=after, before=before)
