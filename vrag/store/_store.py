"""``Store``: every rule of the index in one place (two-phase commit, filters, fusion, grouping).

Backends (``_edge.EdgeBackend``, ``_client.ClientBackend``) only translate the neutral types of
``_query`` into their engine's API, so both behave the same.

Two-phase write of a video (nothing half-written is ever visible to search):

1. ``begin_video(v)``: the video's record is marked pending (``has_video`` is now False) and pending
   segments left by an earlier crash are deleted; a new generation token is drawn.
2. ``add_segments(records)``: segments are written with ``state="pending"`` and the generation.
3. ``commit_video(record)``: segments of ``v`` from other generations are deleted, this generation's
   are set ``state="committed"``, then the video record is written with ``status="committed"``.

Every search filters ``state == "committed"``. A crash anywhere leaves either the old version or
nothing visible for that video (never both, never a half), and ``has_video`` False so a re-run redoes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from vrag._format import parse_time
from vrag.errors import ConfigError, UnknownNameError
from vrag.store import _bm25
from vrag.store._errors import SchemaMismatchError, StoreError
from vrag.store._filters import filter_values
from vrag.store._payload import (
    COMMITTED,
    PENDING,
    segment_payload,
    to_hit,
    to_segment,
    to_video,
    to_video_hit,
    video_payload,
)
from vrag.store._query import (
    Backend,
    Condition,
    Filter,
    Fusion,
    Match,
    MatchAny,
    Nearest,
    PointData,
    QuerySpec,
    Range,
    Vector,
)
from vrag.store._records import (
    SegmentRecord,
    StoredHit,
    StoredSegment,
    StoredVideo,
    VideoGroup,
    VideoHit,
    VideoRecord,
    segment_point_id,
    video_point_id,
)
from vrag.store._schema import SPARSE_CHANNEL, StoreSchema

if TYPE_CHECKING:
    from vrag.store._check import CheckReport

QueryLike = Sequence[float] | np.ndarray | str
"""A query for one channel: a dense vector, or query text for the ``"bm25"`` channel."""

_TOP_KEYS = frozenset({"video_id", "video", "start", "end", "text", "fingerprint", "keyframe"})
_BATCH = 256
_MAX_GROUP_LIMIT = 10_000


class Store:
    """A video index: a segments collection and a videos collection behind one small API.

    Open one with ``open_store``; use it as a context manager or call ``close()``.

    Example:
        >>> from vrag.store import SegmentRecord, StoreSchema, VideoRecord, open_store
        >>> schema = StoreSchema(dense={"clip": (2, "cosine")})
        >>> with open_store(":memory:", schema=schema) as store:
        ...     store.begin_video("v1")
        ...     _ = store.add_segments([SegmentRecord("v1", "a.mp4", 0.0, 2.0, {"clip": [1.0, 0.0]})])
        ...     _ = store.commit_video(VideoRecord("v1", "a.mp4", 2.0))
        ...     [(h.video, h.start) for h in store.search("clip", [1.0, 0.1], k=1)]
        [('a.mp4', 0.0)]
    """

    def __init__(self, backend: Backend, schema: StoreSchema) -> None:
        self._backend: Backend | None = backend
        self.schema = schema
        self.location = backend.location
        self._pending: dict[str, str] = {}

    # ----------------------------------------------------------------- lifecycle

    def validate(self) -> None:
        """Create the index on first use, or check its schema record (raises ``SchemaMismatchError``)."""
        record = self._b.read_schema()
        if record is None:
            with self.writing():
                self._b.create(self.schema)
            return
        diffs = self.schema.differences(record)
        if diffs:
            raise SchemaMismatchError(self.location, diffs, self._b.rebuild_hint)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Store]:
        """A write session: on an Edge folder the writer lock is held from the first write until the
        outermost session ends (readers elsewhere are never blocked; they see each committed video). Writes
        outside a session hold the lock until ``close()``."""
        session = getattr(self._b, "writing", None)
        with session() if session is not None else contextlib.nullcontext():
            yield self

    @property
    def notes(self) -> tuple[str, ...]:
        """Notices about the index itself (e.g. a lost ``schema.json`` read from its kept copy)."""
        return tuple(getattr(self._backend, "notes", ()))

    @property
    def _b(self) -> Backend:
        if self._backend is None:
            raise StoreError(self.location, "the store is closed", "open it again with vrag.store.open_store")
        return self._backend

    def optimize(self, *, min_unindexed: int = 0) -> bool:
        """Build the HNSW / payload indexes after a bulk ingest (Edge searches exactly until then).

        Args:
            min_unindexed: only when at least this many segments are not in the HNSW graph yet (an exact
                scan of a few thousand is ~1 ms, while a rebuild at 100k segments takes minutes).

        Returns:
            Whether it ran.
        """
        if min_unindexed and self._b.unindexed() < min_unindexed:
            return False
        self._b.optimize()
        return True

    def flush(self) -> None:
        """Write everything to disk (the WAL already makes each write durable on Edge)."""
        self._b.flush()

    def close(self) -> None:
        """Flush and release the index (and its lock). Safe to call twice."""
        if self._backend is not None:
            backend, self._backend = self._backend, None
            backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ----------------------------------------------------------------- writes

    def begin_video(self, video_id: str, *, generation: str | None = None) -> str:
        """Start (re)writing a video: hide its record and drop pending segments of an earlier crash.

        Args:
            video_id: the video to write.
            generation: the write's token (default: a new one). Writers in several processes (the Ray
                engine's actors writing to a Qdrant server) share one by passing the same token: each
                ``begin_video(v, generation=g)`` keeps the pending segments of ``g`` others already wrote,
                and whichever ``Store`` began it with ``g`` may commit the video.

        Returns:
            The generation token.
        """
        vid = Match("video_id", video_id)
        gen = generation or uuid.uuid4().hex
        self._b.set_payload("videos", {"status": PENDING}, Filter(must=(vid,)))
        mine = (Match("generation", gen),) if generation else ()
        self._b.delete("segments", Filter(must=(vid, Match("state", PENDING)), must_not=mine))
        self._pending[video_id] = gen
        return gen

    def add_segments(self, records: Iterable[SegmentRecord]) -> int:
        """Write segments of videos begun with ``begin_video``; invisible until ``commit_video``.

        Returns:
            How many segments were written.
        """
        batch: list[PointData] = []
        written = 0
        for rec in records:
            batch.append(self._segment_point(rec))
            if len(batch) >= _BATCH:
                written += self._write(batch)
        return written + self._write(batch)

    def _write(self, batch: list[PointData]) -> int:
        if batch:
            self._b.upsert("segments", batch)
        n = len(batch)
        batch.clear()
        return n

    def commit_video(self, video: VideoRecord) -> StoredVideo:
        """Make the video's new segments visible (replacing any older version) and write its record."""
        gen = self._generation(video.video_id)
        vid = Match("video_id", video.video_id)
        self._b.delete("segments", Filter(must=(vid,), must_not=(Match("generation", gen),)))
        self._b.set_payload("segments", {"state": COMMITTED}, Filter(must=(vid, Match("generation", gen))))
        n = self._b.count("segments", Filter(must=(vid, Match("state", COMMITTED))))
        vectors = self._video_vectors(video.video_id, video.vectors)
        payload = video_payload(
            video, n_segments=n, fingerprint=self.schema.fingerprint, generation=gen, channels=list(vectors)
        )
        self._b.upsert("videos", [PointData(video_point_id(video.video_id), vectors, payload)])
        del self._pending[video.video_id]
        return to_video(payload)

    def set_video_vectors(self, video_id: str, vectors: Mapping[str, Any]) -> StoredVideo:
        """Add or replace a committed video's video-level vectors (e.g. once the aggregator has run).

        Segments are untouched (``begin_video`` + ``commit_video`` would replace them).
        """
        video = self.get_video(video_id)
        if video is None:
            raise StoreError(self.location, f"video {video_id!r} is not committed", "commit_video it first")
        vecs = self._video_vectors(video_id, vectors)
        self._b.update_vectors("videos", video_point_id(video_id), vecs)
        channels = sorted({*video.channels, *vecs})
        self._b.set_payload("videos", {"channels": channels}, Filter(must=(Match("video_id", video_id),)))
        return dataclasses.replace(video, channels=tuple(channels))

    def delete_video(self, video_id: str) -> None:
        """Remove a video and all its segments (its record is hidden first, so a crash leaves no orphans)."""
        vid = Filter(must=(Match("video_id", video_id),))
        self._b.set_payload("videos", {"status": PENDING}, vid)
        self._b.delete("segments", vid)
        self._b.delete("videos", vid)
        self._pending.pop(video_id, None)

    def purge_pending(self) -> int:
        """Delete pending segments of videos not being written now (left by crashed runs).

        Returns:
            How many segments were deleted.
        """
        flt = Filter(must=(Match("state", PENDING),))
        if self._pending:
            flt = Filter(must=flt.must, must_not=(MatchAny("video_id", tuple(self._pending)),))
        n = self._b.count("segments", flt)
        if n:
            self._b.delete("segments", flt)
        return n

    def _generation(self, video_id: str) -> str:
        try:
            return self._pending[video_id]
        except KeyError:
            raise StoreError(
                self.location,
                f"video {video_id!r} was not begun",
                "call begin_video(video_id) before writing it",
            ) from None

    def _segment_point(self, rec: SegmentRecord) -> PointData:
        gen = self._generation(rec.video_id)
        pid = segment_point_id(rec.video_id, rec.start, rec.end, self.schema.fingerprint)
        vectors: dict[str, Vector] = {name: self._dense(name, vec, rec) for name, vec in rec.vectors.items()}
        if self.schema.sparse_text and rec.text.strip():
            vectors[SPARSE_CHANNEL] = _bm25.embed_document(rec.text)
        payload = segment_payload(
            rec, point_id=pid, channels=list(vectors), fingerprint=self.schema.fingerprint, generation=gen
        )
        return PointData(pid, vectors, payload)

    def _dense(self, channel: str, vec: Any, rec: SegmentRecord | None = None) -> Vector:
        chan = self._channel(channel, self.schema.dense)
        dim = chan.dim
        arr = np.asarray(vec, dtype=np.float32)
        where = f"segment {rec.video_id} {rec.start:.3f}-{rec.end:.3f}: " if rec else ""
        if chan.multivector and arr.ndim == 1 and rec is None:
            arr = arr[None]  # a single query vector against a multivector channel: MaxSim = best match
        if chan.multivector and (arr.ndim != 2 or arr.shape[1] != dim or not len(arr)):
            raise ConfigError(f"{where}channel {channel!r} takes [K, {dim}] vectors, got shape {arr.shape}")
        if not chan.multivector and arr.shape != (dim,):
            raise ConfigError(f"{where}channel {channel!r} takes {dim}-d vectors, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ConfigError(f"{where}channel {channel!r} vector has NaN/inf; check the encoder output")
        return arr.tolist()

    def _video_vectors(self, video_id: str, vectors: Mapping[str, Any]) -> dict[str, Vector]:
        out: dict[str, Vector] = {}
        for name, vecs in vectors.items():
            dim = self._channel(name, self.schema.video_channels)
            arr = np.asarray(vecs, dtype=np.float32)
            if arr.ndim != 2 or arr.shape[1] != dim or not len(arr) or not np.isfinite(arr).all():
                raise ConfigError(
                    f"video {video_id}: channel {name!r} takes finite [K, {dim}] vectors, got {arr.shape}"
                )
            out[name] = arr.tolist()
        return out

    def _channel(self, name: str, table: Mapping[str, Any]) -> Any:
        if name not in table:
            names = list(table)
            raise UnknownNameError("channel", name, difflib.get_close_matches(name, names), names)
        return table[name]

    # ----------------------------------------------------------------- reads

    def get_video(self, video_id: str) -> StoredVideo | None:
        """The committed record of a video, or None."""
        rows = self._b.retrieve("videos", [video_point_id(video_id)])
        if not rows or rows[0].payload.get("status") != COMMITTED:
            return None
        return to_video(rows[0].payload)

    def get_segment(self, point_id: str) -> StoredSegment | None:
        """A committed segment by its point id (``Hit.id``), or None (also for a malformed id)."""
        try:
            uuid.UUID(point_id)
        except ValueError:
            return None
        rows = self._b.retrieve("segments", [point_id])
        if not rows or rows[0].payload.get("state") != COMMITTED:
            return None
        return to_segment(rows[0].id, rows[0].payload, {})

    def video_status(self, video_id: str) -> str | None:
        """The pipeline fingerprint a video is committed with, or None when absent / half-written."""
        video = self.get_video(video_id)
        return video.fingerprint if video else None

    def has_video(self, video_id: str, fingerprint: str | None = None) -> bool:
        """Whether the video is fully indexed with ``fingerprint`` (default: the schema's): its record is
        committed with it and every segment the record counts is present (so a re-index heals a video whose
        segments were lost to damage)."""
        want = self.schema.fingerprint if fingerprint is None else fingerprint
        video = self.get_video(video_id)
        return (
            video is not None
            and video.fingerprint == want
            and self.count_segments(video_id) == video.n_segments
        )

    def check(self, *, repair: bool = False) -> CheckReport:
        """Read every point back and hold the video ledger against the segments present (see ``_check``).

        Args:
            repair: also move an unopenable shard aside and delete damaged points, orphan segments and
                pending leftovers; the videos the report lists (``reindex``) are indexed again by ``add``.
        """
        from vrag.store._check import check_store

        return check_store(self, self._b, repair=repair)

    def update_video(
        self, video_id: str, *, hash: str | None = None, extra: Mapping[str, Any] | None = None
    ) -> None:
        """Set a committed video's content ``hash`` and merge ``extra`` into its metadata (e.g. a new file
        time after a ``touch``); its segments are untouched."""
        video = self.get_video(video_id)
        if video is None:
            raise StoreError(self.location, f"video {video_id!r} is not committed", "commit_video it first")
        payload: dict[str, Any] = {"extra": {**video.extra, **(extra or {})}}
        if hash is not None:
            payload["hash"] = hash
        self._b.set_payload("videos", payload, Filter(must=(Match("video_id", video_id),)))

    def iter_videos(self) -> Iterator[StoredVideo]:
        """Every committed video, in id order."""
        for row in self._scroll("videos", Filter(must=(Match("status", COMMITTED),)), with_vectors=False):
            yield to_video(row.payload)

    def count_videos(self, channel: str | None = None) -> int:
        """Committed videos; with ``channel``, those that have video-level vectors in it."""
        must: tuple[Condition, ...] = (Match("status", COMMITTED),)
        return self._b.count("videos", Filter(must=must + ((Match("channels", channel),) if channel else ())))

    def count_segments(self, video_id: str | None = None) -> int:
        """Committed segments, of one video or all."""
        return self._b.count("segments", _committed(video_id))

    def iter_segments(
        self, video_id: str | None = None, *, with_vectors: bool = False
    ) -> Iterator[StoredSegment]:
        """Committed segments: of one video in time order, or all in id order (scrolled in batches)."""
        rows = self._scroll("segments", _committed(video_id), with_vectors=with_vectors)
        segments = (to_segment(r.id, r.payload, r.vectors) for r in rows)
        if video_id is None:
            yield from segments
        else:
            yield from sorted(segments, key=lambda s: (s.start, s.end))

    def _scroll(self, coll: Any, flt: Filter, *, with_vectors: bool) -> Iterator[Any]:
        offset: str | None = None
        while True:
            rows, offset = self._b.scroll(coll, flt, limit=_BATCH, offset=offset, with_vectors=with_vectors)
            yield from rows
            if offset is None:
                return

    # ----------------------------------------------------------------- search

    def search(
        self,
        channel: str,
        query: QueryLike,
        *,
        k: int = 10,
        video_ids: Sequence[str] | None = None,
        after: float | None = None,
        before: float | None = None,
        payload_filter: Mapping[str, Any] | None = None,
        exact: bool = False,
        hnsw_ef: int | None = None,
    ) -> list[StoredHit]:
        """The ``k`` committed segments nearest to ``query`` in one channel.

        Args:
            channel: a dense channel name, or ``"bm25"`` with query text.
            query: the query vector (or text for ``"bm25"``).
            k: how many hits.
            video_ids: only these videos.
            after: only segments starting at or after this time (s).
            before: only segments ending at or before this time (s).
            payload_filter: key → value (or list of values, any matches); keys other than
                video_id/video/start/end/text/fingerprint/keyframe name ``SegmentRecord.extra`` fields.
            exact: exhaustive search instead of HNSW (the ground truth).
            hnsw_ef: HNSW beam width (higher = better recall, slower).
        """
        flt = _search_filter(video_ids, after, before, payload_filter)
        source = Nearest(channel, self._query_vector(channel, query), k)
        return self._hits(QuerySpec((source,), k, flt, exact=exact, hnsw_ef=hnsw_ef))

    def search_fused(
        self,
        queries: Mapping[str, QueryLike],
        *,
        k: int = 10,
        fusion: Fusion | str = Fusion.RRF,
        weights: Mapping[str, float] | None = None,
        prefetch_k: int | None = None,
        rrf_k: int = 60,
        video_ids: Sequence[str] | None = None,
        after: float | None = None,
        before: float | None = None,
        payload_filter: Mapping[str, Any] | None = None,
        exact: bool = False,
        hnsw_ef: int | None = None,
        with_vectors: bool = False,
        channel_scores: bool = False,
    ) -> list[StoredHit]:
        """Hybrid search: each channel prefetches ``prefetch_k`` candidates; the engine fuses them (RRF/DBSF).

        Each hit's ``relevance`` is its fused score over the most it can be, clipped to [0, 1]: DBSF maps each
        channel's scores to about 0..1 (mean ± 3σ of its candidates) and sums them, so the ceiling is the
        number of channels; RRF sums ``weight / (rrf_k + rank)`` with ranks from 0, so it is
        ``sum(weights) / rrf_k``. One channel alone is fused too, so relevance means the same everywhere.

        Args:
            queries: channel → query vector (or text for ``"bm25"``).
            fusion: ``"rrf"`` (rank based; supports ``weights``) or ``"dbsf"`` (score normalised).
            weights: channel → RRF weight (default 1.0 each).
            prefetch_k: candidates per channel (default ``max(4 * k, 50)``).
            rrf_k: the RRF constant.
            with_vectors: return each hit's dense vectors (``StoredHit.vectors``), e.g. for MMR.
            channel_scores: also run each channel alone over the same candidates and keep the score each
                gave (``StoredHit.channel_scores``; a channel that did not find a hit has no entry).
            k, video_ids, after, before, payload_filter, exact, hnsw_ef: as in ``search``.
        """
        prefetch = prefetch_k or max(4 * k, 50)
        spec = self._fused_spec(queries, k, Fusion(fusion), weights, prefetch, rrf_k, fuse_one=True)
        flt = _search_filter(video_ids, after, before, payload_filter)
        hits = self._hits(
            QuerySpec(spec.sources, k, flt, spec.fusion, rrf_k, spec.weights, exact, hnsw_ef, with_vectors)
        )
        ceiling = (
            len(spec.sources)
            if spec.fusion is Fusion.DBSF
            else sum(spec.weights or [1.0] * len(spec.sources)) / rrf_k
        )
        hits = [dataclasses.replace(h, relevance=_unit(h.score / ceiling)) for h in hits]
        if not channel_scores or not hits:
            return hits
        found: dict[str, dict[str, float]] = {h.id: {} for h in hits}
        for source in spec.sources:
            alone = QuerySpec((Nearest(source.using, source.vector, prefetch),), prefetch, flt, exact=exact)
            for row in self._b.query("segments", alone):
                if row.id in found:
                    found[row.id][source.using] = float(row.score)
        return [dataclasses.replace(h, channel_scores=found[h.id]) for h in hits]

    def search_grouped(
        self,
        queries: Mapping[str, QueryLike],
        *,
        groups: int = 5,
        group_size: int = 3,
        fusion: Fusion | str = Fusion.RRF,
        weights: Mapping[str, float] | None = None,
        video_ids: Sequence[str] | None = None,
        after: float | None = None,
        before: float | None = None,
        payload_filter: Mapping[str, Any] | None = None,
        exact: bool = False,
    ) -> list[VideoGroup]:
        """The best ``groups`` videos with up to ``group_size`` segments each (group-by emulated in Python).

        One channel in ``queries`` runs a plain search, several run ``search_fused``. The candidate pool
        grows until enough videos are found or the index is exhausted.
        """
        flt = _search_filter(video_ids, after, before, payload_filter)
        limit = groups * group_size * 4
        while True:
            spec = self._fused_spec(queries, limit, Fusion(fusion), weights, limit, 60)
            hits = self._hits(QuerySpec(spec.sources, limit, flt, spec.fusion, 60, spec.weights, exact))
            grouped = _group(hits, groups, group_size)
            if len(grouped) >= groups or len(hits) < limit or limit >= _MAX_GROUP_LIMIT:
                return grouped
            limit *= 4

    def search_videos(
        self, channel: str, vectors: Sequence[Sequence[float]] | np.ndarray, *, k: int = 10,
        video_ids: Sequence[str] | None = None, exact: bool = False,
    ) -> list[VideoHit]:  # fmt: skip
        """Videos whose K video-level vectors best match ``vectors`` (MaxSim: sum over query vectors)."""
        arr = np.asarray(vectors, dtype=np.float32)
        arr = arr[None, :] if arr.ndim == 1 else arr
        query = self._video_vectors("<query>", {channel: arr})[channel]
        must: tuple[Condition, ...] = (Match("status", COMMITTED),)
        if video_ids is not None:
            must += (MatchAny("video_id", tuple(video_ids)),)
        spec = QuerySpec((Nearest(channel, query, k),), k, Filter(must=must), exact=exact)
        return [to_video_hit(r.payload, r.score) for r in self._b.query("videos", spec)]

    def _hits(self, spec: QuerySpec) -> list[StoredHit]:
        if spec.limit < 1:
            raise ConfigError(f"k must be at least 1, got {spec.limit}")
        return [to_hit(r.id, r.payload, r.score, r.vectors) for r in self._b.query("segments", spec)]

    def _fused_spec(
        self, queries: Mapping[str, QueryLike], k: int, fusion: Fusion, weights: Mapping[str, float] | None,
        prefetch_k: int, rrf_k: int, *, fuse_one: bool = False,
    ) -> QuerySpec:  # fmt: skip
        if not queries:
            raise ConfigError("search needs at least one channel query")
        sources = tuple(Nearest(ch, self._query_vector(ch, q), prefetch_k) for ch, q in queries.items())
        if len(sources) == 1 and not fuse_one:
            return QuerySpec((Nearest(sources[0].using, sources[0].vector, k),), k)
        if weights and fusion is not Fusion.RRF:
            raise ConfigError("channel weights need fusion='rrf' (DBSF has no weights)")
        unknown = set(weights or {}) - set(queries)
        if unknown:
            raise ConfigError(f"weights for channels not queried: {sorted(unknown)}")
        w = tuple(float((weights or {}).get(ch, 1.0)) for ch in queries) if weights else None
        return QuerySpec(sources, k, fusion=fusion, rrf_k=rrf_k, weights=w)

    def _query_vector(self, channel: str, query: QueryLike) -> Vector:
        if channel == SPARSE_CHANNEL and self.schema.sparse_text:
            if not isinstance(query, str):
                raise ConfigError(f"channel {SPARSE_CHANNEL!r} takes query text, not a vector")
            return _bm25.embed_query(query)
        if isinstance(query, str):
            raise ConfigError(f"channel {channel!r} takes a vector; encode the text first")
        return self._dense(channel, query)


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value)) if np.isfinite(value) else 0.0


def _committed(video_id: str | None) -> Filter:
    must: tuple[Condition, ...] = (Match("state", COMMITTED),)
    return Filter(must=must + ((Match("video_id", video_id),) if video_id is not None else ()))


def _search_filter(
    video_ids: Sequence[str] | None,
    after: float | None,
    before: float | None,
    payload: Mapping[str, Any] | None,
) -> Filter:
    must: list[Condition] = [Match("state", COMMITTED)]
    if video_ids is not None:
        must.append(MatchAny("video_id", tuple(video_ids)))
    if after is not None:
        must.append(Range("start", gte=parse_time(after, what="after")))
    if before is not None:
        must.append(Range("end", lte=parse_time(before, what="before")))
    must += [_payload_condition(key, value) for key, value in (payload or {}).items()]
    return Filter(must=tuple(must))


def _payload_condition(key: str, value: Any) -> Condition:
    path = key if key in _TOP_KEYS or key.startswith("extra.") else f"extra.{key}"
    values = filter_values(key, value)
    return Match(path, values[0]) if len(values) == 1 else MatchAny(path, values)


def _group(hits: list[StoredHit], groups: int, group_size: int) -> list[VideoGroup]:
    table: dict[str, list[StoredHit]] = {}
    for hit in hits:
        members = table.setdefault(hit.video_id, [])
        if len(members) < group_size:
            members.append(hit)
    ordered = list(table.items())[:groups]  # dicts keep first-seen order = best hit first
    return [VideoGroup(vid, members[0].score, tuple(members)) for vid, members in ordered]
