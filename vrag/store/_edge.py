"""Qdrant Edge backend: the embedded default, one folder on disk.

Layout of an index folder::

    LOCK           flock'ed by the one process that has it open (holds its pid)
    schema.json    the schema record, written last when the index is created
    segments/      Edge shard: named dense vectors per channel (+ sparse "bm25"), WAL on
    videos/        Edge shard: one multivector (MaxSim) per video channel

Edge has no background optimizer: points are searched exactly until ``optimize()`` builds HNSW.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from vrag.store._errors import StoreError
from vrag.store._lock import LOCK_NAME, FolderLock
from vrag.store._query import (
    Collection,
    Condition,
    Filter,
    Fusion,
    Match,
    MatchAny,
    Nearest,
    PointData,
    QuerySpec,
    Row,
    Sparse,
    Vector,
    values_of,
)
from vrag.store._schema import SPARSE_CHANNEL, Distance, StoreSchema

log = logging.getLogger(__name__)

SCHEMA_FILE = "schema.json"
_COLLECTIONS: tuple[Collection, ...] = ("segments", "videos")
_OWN_ENTRIES = {LOCK_NAME, SCHEMA_FILE, SCHEMA_FILE + ".tmp", *_COLLECTIONS}
_DISTANCE = {
    Distance.COSINE: qe.Distance.Cosine,
    Distance.DOT: qe.Distance.Dot,
    Distance.EUCLID: qe.Distance.Euclid,
}
_INDEXES: dict[Collection, dict[str, Any]] = {
    "segments": {
        "video_id": qe.PayloadSchemaType.Keyword,
        "state": qe.PayloadSchemaType.Keyword,
        "generation": qe.PayloadSchemaType.Keyword,
        "start": qe.PayloadSchemaType.Float,
        "end": qe.PayloadSchemaType.Float,
    },
    "videos": {"video_id": qe.PayloadSchemaType.Keyword, "status": qe.PayloadSchemaType.Keyword},
}


class EdgeBackend:
    """An index folder opened with Qdrant Edge. Holds the folder's lock until ``close()``."""

    def __init__(self, path: str | Path) -> None:
        self.root = Path(path).expanduser().resolve()
        self.location = str(self.root)
        self.rebuild_hint = f"delete the folder {self.root} to rebuild the index, or pass a new --index DIR"
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(
                self.location, "is a file, not an index folder", "pass a folder with --index DIR"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = FolderLock(self.root)
        self._shards: dict[Collection, Any] = {}
        try:
            self._load()
        except BaseException:
            self._lock.release()
            raise

    def _load(self) -> None:
        if (self.root / SCHEMA_FILE).exists():
            self._shards = {name: self._open_shard(name) for name in _COLLECTIONS}
            return
        strangers = sorted(p.name for p in self.root.iterdir() if p.name not in _OWN_ENTRIES)
        if strangers:
            raise StoreError(
                self.location,
                f"is not a vrag index (it holds {', '.join(strangers[:3])})",
                "pass an empty or new folder with --index DIR",
            )
        for name in _COLLECTIONS:  # half-created by a crash before schema.json: nothing was stored yet
            shutil.rmtree(self.root / name, ignore_errors=True)

    def _open_shard(self, name: Collection) -> Any:
        try:
            return qe.EdgeShard.load(str(self.root / name))
        except Exception as err:
            raise StoreError(
                self.location, f"cannot open the {name} shard ({err})", self.rebuild_hint
            ) from err

    # ----------------------------------------------------------------- schema

    def read_schema(self) -> dict[str, Any] | None:
        path = self.root / SCHEMA_FILE
        if not path.exists():
            return None
        try:
            record: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise StoreError(self.location, f"unreadable {SCHEMA_FILE} ({err})", self.rebuild_hint) from err
        return record

    def create(self, schema: StoreSchema) -> None:
        self._shards = {
            "segments": qe.EdgeShard.create(str(self.root / "segments"), _segments_config(schema)),
            "videos": qe.EdgeShard.create(str(self.root / "videos"), _videos_config(schema)),
        }
        for coll, fields in _INDEXES.items():
            for field, kind in fields.items():
                self._shards[coll].update(qe.UpdateOperation.create_field_index(field, kind))
        self.flush()
        tmp = self.root / (SCHEMA_FILE + ".tmp")
        with tmp.open("w") as fh:
            fh.write(schema.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.root / SCHEMA_FILE)

    # ----------------------------------------------------------------- writes

    def upsert(self, coll: Collection, points: Sequence[PointData]) -> None:
        pts = [qe.Point(p.id, {k: _vector(v) for k, v in p.vectors.items()}, dict(p.payload)) for p in points]
        self._shards[coll].update(qe.UpdateOperation.upsert_points(pts))

    def set_payload(self, coll: Collection, payload: Mapping[str, Any], flt: Filter) -> None:
        self._shards[coll].update(qe.UpdateOperation.set_payload_by_filter(_filter(flt), dict(payload)))

    def update_vectors(self, coll: Collection, point_id: str, vectors: Mapping[str, Vector]) -> None:
        point = qe.PointVectors(point_id, {k: _vector(v) for k, v in vectors.items()})
        self._shards[coll].update(qe.UpdateOperation.update_vectors([point]))

    def delete(self, coll: Collection, flt: Filter) -> None:
        self._shards[coll].update(qe.UpdateOperation.delete_points_by_filter(_filter(flt)))

    # ----------------------------------------------------------------- reads

    def query(self, coll: Collection, spec: QuerySpec) -> list[Row]:
        flt = _filter(spec.filter) if spec.filter else None
        params = qe.SearchParams(hnsw_ef=spec.hnsw_ef, exact=spec.exact)
        if spec.fusion is None:
            request = qe.QueryRequest(
                limit=spec.limit, query=_nearest(spec.sources[0]), filter=flt, params=params,
                with_payload=True, with_vector=spec.with_vectors,
            )  # fmt: skip
        else:
            prefetches = [
                qe.Prefetch(limit=s.limit, query=_nearest(s), filter=flt, params=params) for s in spec.sources
            ]
            weights = list(spec.weights) if spec.weights else None
            fusion: Any = (
                qe.Fusion.Rrf(spec.rrf_k, weights) if spec.fusion is Fusion.RRF else qe.Fusion.Dbsf()
            )
            request = qe.QueryRequest(
                limit=spec.limit, prefetches=prefetches, filter=flt, with_payload=True, query=fusion,
                with_vector=spec.with_vectors,
            )  # fmt: skip
        return [_row(p, p.score) for p in self._shards[coll].query(request)]

    def retrieve(self, coll: Collection, ids: Sequence[str]) -> list[Row]:
        return [_row(r) for r in self._shards[coll].retrieve(list(ids), with_payload=True, with_vector=False)]

    def scroll(
        self, coll: Collection, flt: Filter | None, *, limit: int, offset: str | None, with_vectors: bool
    ) -> tuple[list[Row], str | None]:
        request = qe.ScrollRequest(
            offset=offset,
            limit=limit,
            filter=_filter(flt) if flt else None,
            with_payload=True,
            with_vector=with_vectors,
        )
        records, nxt = self._shards[coll].scroll(request)
        return [_row(r) for r in records], None if nxt is None else str(nxt)

    def count(self, coll: Collection, flt: Filter | None) -> int:
        return int(
            self._shards[coll].count(qe.CountRequest(exact=True, filter=_filter(flt) if flt else None))
        )

    # ----------------------------------------------------------------- maintenance

    def optimize(self) -> None:
        for shard in self._shards.values():
            shard.optimize()

    def unindexed(self) -> int:
        """Segment points not in an HNSW graph yet (searched exactly until ``optimize``)."""
        info = self._shards["segments"].info()
        dense = len((self.read_schema() or {}).get("dense") or {}) or 1
        return max(0, int(info.points_count) - int(info.indexed_vectors_count) // dense)

    def flush(self) -> None:
        for shard in self._shards.values():
            shard.flush()

    def close(self) -> None:
        try:
            for name, shard in self._shards.items():
                try:
                    shard.flush()
                except Exception as err:  # the WAL still holds every write; report and close anyway
                    log.warning("%s: flushing the %s shard failed on close: %s", self.location, name, err)
                shard.close()
        finally:
            self._shards = {}
            self._lock.release()


def _segments_config(schema: StoreSchema) -> Any:
    maxsim = qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim)
    vectors = {
        name: qe.EdgeVectorParams(
            size=c.dim, distance=_DISTANCE[c.distance], multivector_config=maxsim if c.multivector else None
        )
        for name, c in schema.dense.items()
    }
    sparse = (
        {SPARSE_CHANNEL: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)} if schema.sparse_text else None
    )
    return qe.EdgeConfig(vectors=vectors, sparse_vectors=sparse, wal_enabled=True)


def _videos_config(schema: StoreSchema) -> Any:
    maxsim = qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim)
    vectors = {
        name: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, multivector_config=maxsim)
        for name, dim in schema.video_channels.items()
    }
    # Edge needs at least one vector; an unused sparse placeholder lets a schema have no video channels.
    sparse = None if vectors else {"_none": qe.EdgeSparseVectorParams()}
    return qe.EdgeConfig(vectors=vectors or None, sparse_vectors=sparse, wal_enabled=True)


def _vector(v: Vector) -> Any:
    return qe.SparseVector(v.indices, v.values) if isinstance(v, Sparse) else v


def _nearest(source: Nearest) -> Any:
    return qe.Query.Nearest(_vector(source.vector), using=source.using)


def _condition(c: Condition) -> Any:
    if isinstance(c, Match):
        return qe.FieldCondition(c.key, match=qe.MatchValue(c.value))
    if isinstance(c, MatchAny):
        return qe.FieldCondition(c.key, match=qe.MatchAny(values_of(c)))
    return qe.FieldCondition(c.key, range=qe.RangeFloat(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt))


def _filter(flt: Filter) -> Any:
    return qe.Filter(
        must=[_condition(c) for c in flt.must] or None, must_not=[_condition(c) for c in flt.must_not] or None
    )


def _row(point: Any, score: float = 0.0) -> Row:
    return Row(str(point.id), point.payload or {}, float(score), point.vector or {})
