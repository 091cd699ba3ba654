"""Qdrant Edge translations of the neutral store types (``_query``): configs, vectors, filters, rows."""

from __future__ import annotations

from typing import Any

import qdrant_edge as qe

from vrag.store._query import (
    Collection,
    Condition,
    Filter,
    HasId,
    Match,
    MatchAny,
    Nearest,
    Row,
    Sparse,
    Vector,
    values_of,
)
from vrag.store._schema import SPARSE_CHANNEL, Distance, StoreSchema

DISTANCE = {
    Distance.COSINE: qe.Distance.Cosine,
    Distance.DOT: qe.Distance.Dot,
    Distance.EUCLID: qe.Distance.Euclid,
}
INDEXES: dict[Collection, dict[str, Any]] = {
    "segments": {
        "video_id": qe.PayloadSchemaType.Keyword,
        "state": qe.PayloadSchemaType.Keyword,
        "generation": qe.PayloadSchemaType.Keyword,
        "start": qe.PayloadSchemaType.Float,
        "end": qe.PayloadSchemaType.Float,
    },
    "videos": {"video_id": qe.PayloadSchemaType.Keyword, "status": qe.PayloadSchemaType.Keyword},
}


def shard_config(coll: Collection, schema: StoreSchema) -> Any:
    return segments_config(schema) if coll == "segments" else videos_config(schema)


def segments_config(schema: StoreSchema) -> Any:
    maxsim = qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim)
    vectors = {
        name: qe.EdgeVectorParams(
            size=c.dim, distance=DISTANCE[c.distance], multivector_config=maxsim if c.multivector else None
        )
        for name, c in schema.dense.items()
    }
    sparse = (
        {SPARSE_CHANNEL: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)} if schema.sparse_text else None
    )
    return qe.EdgeConfig(vectors=vectors, sparse_vectors=sparse, wal_enabled=True)


def videos_config(schema: StoreSchema) -> Any:
    maxsim = qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim)
    vectors = {
        name: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, multivector_config=maxsim)
        for name, dim in schema.video_channels.items()
    }
    # Edge needs at least one vector; an unused sparse placeholder lets a schema have no video channels.
    sparse = None if vectors else {"_none": qe.EdgeSparseVectorParams()}
    return qe.EdgeConfig(vectors=vectors or None, sparse_vectors=sparse, wal_enabled=True)


def vector(v: Vector) -> Any:
    return qe.SparseVector(v.indices, v.values) if isinstance(v, Sparse) else v


def nearest(source: Nearest) -> Any:
    return qe.Query.Nearest(vector(source.vector), using=source.using)


def condition(c: Condition) -> Any:
    if isinstance(c, HasId):
        return qe.HasIdCondition(set(c.ids))
    if isinstance(c, Match):
        return qe.FieldCondition(c.key, match=qe.MatchValue(c.value))
    if isinstance(c, MatchAny):
        return qe.FieldCondition(c.key, match=qe.MatchAny(values_of(c)))
    return qe.FieldCondition(c.key, range=qe.RangeFloat(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt))


def edge_filter(flt: Filter | None) -> Any:
    if flt is None:
        return None
    return qe.Filter(
        must=[condition(c) for c in flt.must] or None, must_not=[condition(c) for c in flt.must_not] or None
    )


def row(point: Any, score: float = 0.0) -> Row:
    return Row(str(point.id), point.payload or {}, float(score), point.vector or {})
