"""qdrant-client backend: a Qdrant server or cluster by URL, or ``:memory:`` (same API) in tests.

Two collections, ``<prefix>_segments`` and ``<prefix>_videos``; the schema record is the segments
collection's metadata (``vrag_schema``), set last when the index is created.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ApiException

from vrag.store._errors import StoreError
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

SCHEMA_KEY = "vrag_schema"
_DISTANCE = {
    Distance.COSINE: models.Distance.COSINE,
    Distance.DOT: models.Distance.DOT,
    Distance.EUCLID: models.Distance.EUCLID,
}
_INDEXES: dict[Collection, dict[str, models.PayloadSchemaType]] = {
    "segments": {
        "video_id": models.PayloadSchemaType.KEYWORD,
        "state": models.PayloadSchemaType.KEYWORD,
        "generation": models.PayloadSchemaType.KEYWORD,
        "start": models.PayloadSchemaType.FLOAT,
        "end": models.PayloadSchemaType.FLOAT,
    },
    "videos": {"video_id": models.PayloadSchemaType.KEYWORD, "status": models.PayloadSchemaType.KEYWORD},
}


class ClientBackend:
    """Collections on a Qdrant server (or qdrant-client's local mode) reached through ``QdrantClient``.

    Args:
        client: the client to use (injected; closed by ``close()`` only when ``owns_client``).
        prefix: collection name prefix; one prefix = one index.
        location: how to name this index in messages.
        owns_client: close the client on ``close()``.
        shard_number: shards of new collections (cluster).
        replication_factor: replicas of new collections (cluster).
    """

    def __init__(
        self,
        client: QdrantClient,
        *,
        prefix: str = "vrag",
        location: str = "qdrant",
        owns_client: bool = True,
        shard_number: int | None = None,
        replication_factor: int | None = None,
    ) -> None:
        self.client = client
        self.names: dict[Collection, str] = {"segments": f"{prefix}_segments", "videos": f"{prefix}_videos"}
        self.location = f"{location} (collections {prefix}_segments, {prefix}_videos)"
        self.rebuild_hint = (
            f"delete the collections {prefix}_segments and {prefix}_videos to rebuild the index, "
            "or use another collection prefix"
        )
        self._owns = owns_client
        self._cluster = {"shard_number": shard_number, "replication_factor": replication_factor}

    # ----------------------------------------------------------------- schema

    def read_schema(self) -> dict[str, Any] | None:
        name = self.names["segments"]
        if not self._call(self.client.collection_exists, name):
            return None
        metadata = self._call(self.client.get_collection, name).config.metadata or {}
        if SCHEMA_KEY not in metadata:
            raise StoreError(
                self.location, f"collection {name} exists but has no vrag schema record", self.rebuild_hint
            )
        record: dict[str, Any] = metadata[SCHEMA_KEY]
        return record

    def create(self, schema: StoreSchema) -> None:
        self._create("videos", _video_vectors(schema), None)
        sparse = (
            {SPARSE_CHANNEL: models.SparseVectorParams(modifier=models.Modifier.IDF)}
            if schema.sparse_text
            else None
        )
        maxsim = models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
        dense = {
            n: models.VectorParams(
                size=c.dim,
                distance=_DISTANCE[c.distance],
                multivector_config=maxsim if c.multivector else None,
            )
            for n, c in schema.dense.items()
        }
        self._create("segments", dense, sparse)
        self._call(
            self.client.update_collection, self.names["segments"], metadata={SCHEMA_KEY: schema.to_record()}
        )

    def _create(self, coll: Collection, vectors: dict[str, Any], sparse: dict[str, Any] | None) -> None:
        name = self.names[coll]
        if not self._call(self.client.collection_exists, name):
            cluster = {k: v for k, v in self._cluster.items() if v is not None}
            create = self.client.create_collection
            self._call(create, name, vectors_config=vectors, sparse_vectors_config=sparse, **cluster)
        with warnings.catch_warnings():  # local mode warns that payload indexes do nothing there
            warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
            for field, kind in _INDEXES[coll].items():
                self._call(self.client.create_payload_index, name, field, kind)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ApiException, OSError, RuntimeError, ValueError) as err:  # transport and server errors
            raise StoreError(
                self.location, f"Qdrant request failed ({err})", "check the URL, API key and server"
            ) from err

    # ----------------------------------------------------------------- writes

    def upsert(self, coll: Collection, points: Sequence[PointData]) -> None:
        structs = [
            models.PointStruct(
                id=p.id, vector={k: _vector(v) for k, v in p.vectors.items()}, payload=dict(p.payload)
            )
            for p in points
        ]
        self._call(self.client.upsert, self.names[coll], points=structs, wait=True)

    def set_payload(self, coll: Collection, payload: Mapping[str, Any], flt: Filter) -> None:
        self._call(
            self.client.set_payload, self.names[coll], payload=dict(payload), points=_filter(flt), wait=True
        )

    def update_vectors(self, coll: Collection, point_id: str, vectors: Mapping[str, Vector]) -> None:
        point = models.PointVectors(id=point_id, vector={k: _vector(v) for k, v in vectors.items()})
        self._call(self.client.update_vectors, self.names[coll], points=[point], wait=True)

    def delete(self, coll: Collection, flt: Filter) -> None:
        selector = models.FilterSelector(filter=_filter(flt))
        self._call(self.client.delete, self.names[coll], points_selector=selector, wait=True)

    # ----------------------------------------------------------------- reads

    def query(self, coll: Collection, spec: QuerySpec) -> list[Row]:
        flt = _filter(spec.filter) if spec.filter else None
        params = (
            models.SearchParams(hnsw_ef=spec.hnsw_ef, exact=spec.exact)
            if spec.exact or spec.hnsw_ef
            else None
        )
        kwargs: dict[str, Any] = {
            "limit": spec.limit, "query_filter": flt, "with_payload": True, "with_vectors": spec.with_vectors,
        }  # fmt: skip
        if spec.fusion is None:
            source = spec.sources[0]
            kwargs |= {"query": _vector(source.vector), "using": source.using, "search_params": params}
        else:
            kwargs["prefetch"] = [_prefetch(s, flt, params) for s in spec.sources]
            kwargs["query"] = (
                models.RrfQuery(
                    rrf=models.Rrf(k=spec.rrf_k, weights=list(spec.weights) if spec.weights else None)
                )
                if spec.fusion is Fusion.RRF
                else models.FusionQuery(fusion=models.Fusion.DBSF)
            )
        with warnings.catch_warnings():  # local mode is always exact and says search params do nothing
            warnings.filterwarnings("ignore", message="Local mode performs exact", category=UserWarning)
            points = self._call(self.client.query_points, self.names[coll], **kwargs).points
        return [Row(str(p.id), p.payload or {}, float(p.score), _vectors(p.vector)) for p in points]

    def retrieve(self, coll: Collection, ids: Sequence[str]) -> list[Row]:
        records = self._call(self.client.retrieve, self.names[coll], ids=list(ids), with_payload=True)
        return [Row(str(r.id), r.payload or {}) for r in records]

    def scroll(
        self, coll: Collection, flt: Filter | None, *, limit: int, offset: str | None, with_vectors: bool
    ) -> tuple[list[Row], str | None]:
        records, nxt = self._call(
            self.client.scroll, self.names[coll], scroll_filter=_filter(flt) if flt else None, limit=limit,
            offset=offset, with_payload=True, with_vectors=with_vectors,
        )  # fmt: skip
        rows = [Row(str(r.id), r.payload or {}, 0.0, _vectors(r.vector)) for r in records]
        return rows, None if nxt is None else str(nxt)

    def count(self, coll: Collection, flt: Filter | None) -> int:
        result = self._call(
            self.client.count, self.names[coll], count_filter=_filter(flt) if flt else None, exact=True
        )
        return int(result.count)

    # ----------------------------------------------------------------- maintenance

    def optimize(self) -> None:
        """Nothing to do: a server builds HNSW in the background; local mode is brute force."""

    def flush(self) -> None:
        """Nothing to do: every write waits for the server (``wait=True``)."""

    def close(self) -> None:
        if self._owns:
            self.client.close()


def _video_vectors(schema: StoreSchema) -> dict[str, models.VectorParams]:
    maxsim = models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)
    return {
        name: models.VectorParams(size=dim, distance=models.Distance.COSINE, multivector_config=maxsim)
        for name, dim in schema.video_channels.items()
    }


def _vector(v: Vector) -> Any:
    return models.SparseVector(indices=v.indices, values=v.values) if isinstance(v, Sparse) else v


def _vectors(v: Any) -> dict[str, Any]:
    return dict(v) if isinstance(v, dict) else {}


def _prefetch(
    source: Nearest, flt: models.Filter | None, params: models.SearchParams | None
) -> models.Prefetch:
    return models.Prefetch(
        query=_vector(source.vector), using=source.using, limit=source.limit, filter=flt, params=params
    )


def _condition(c: Condition) -> models.FieldCondition:
    if isinstance(c, Match):
        return models.FieldCondition(key=c.key, match=models.MatchValue(value=c.value))
    if isinstance(c, MatchAny):
        return models.FieldCondition(key=c.key, match=models.MatchAny(any=values_of(c)))
    return models.FieldCondition(key=c.key, range=models.Range(gte=c.gte, gt=c.gt, lte=c.lte, lt=c.lt))


def _filter(flt: Filter) -> models.Filter:
    return models.Filter(
        must=[_condition(c) for c in flt.must] or None,
        must_not=[_condition(c) for c in flt.must_not] or None,
    )
