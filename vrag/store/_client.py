"""qdrant-client backend: a Qdrant server or cluster by URL, or ``:memory:`` (same API) in tests.

Two collections, ``<prefix>_segments`` and ``<prefix>_videos``; the schema record is the segments
collection's metadata (``vrag_schema``), set last when the index is created.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ApiException, ResponseHandlingException, UnexpectedResponse

from vrag.config import QdrantConfig
from vrag.errors import ConfigError
from vrag.store._errors import StoreError
from vrag.store._query import (
    Collection,
    Condition,
    Filter,
    Fusion,
    HasId,
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
        settings: cluster settings of new collections (shards, replicas, write consistency, on-disk
            storage, tenant), retries on transient errors.
    """

    def __init__(
        self,
        client: QdrantClient,
        *,
        prefix: str = "vrag",
        location: str = "qdrant",
        owns_client: bool = True,
        settings: QdrantConfig | None = None,
    ) -> None:
        self.client = client
        self.settings = settings or QdrantConfig()
        self._tenant = _Tenant.of(self.settings)
        self.names: dict[Collection, str] = {"segments": f"{prefix}_segments", "videos": f"{prefix}_videos"}
        self.location = f"{location} (collections {prefix}_segments, {prefix}_videos)"
        self.rebuild_hint = (
            f"delete the collections {prefix}_segments and {prefix}_videos to rebuild the index, "
            "or use another collection prefix"
        )
        self._owns = owns_client

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
        on_disk = self.settings.on_disk_vectors or None
        dense = {
            n: models.VectorParams(
                size=c.dim,
                distance=_DISTANCE[c.distance],
                multivector_config=maxsim if c.multivector else None,
                on_disk=on_disk,
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
            s = self.settings
            cluster = {
                "shard_number": s.shard_number, "replication_factor": s.replication_factor,
                "write_consistency_factor": s.write_consistency_factor,
                "on_disk_payload": s.on_disk_payload or None,
            }  # fmt: skip
            create = self.client.create_collection
            self._call(
                create, name, vectors_config=vectors, sparse_vectors_config=sparse,
                **{k: v for k, v in cluster.items() if v is not None},
            )  # fmt: skip
        indexes: dict[str, Any] = dict(_INDEXES[coll])
        if self._tenant is not None:
            indexes[self._tenant.field] = models.KeywordIndexParams(
                type=models.KeywordIndexType.KEYWORD, is_tenant=True
            )
        with warnings.catch_warnings():  # local mode warns that payload indexes do nothing there
            warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
            for field, kind in indexes.items():
                self._call(self.client.create_payload_index, name, field, kind)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One request, retried with exponential backoff (and jitter) while the error is transient."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.settings.retries),
            wait=tenacity.wait_exponential(multiplier=0.2, max=10.0) + tenacity.wait_random(0, 0.2),
            retry=tenacity.retry_if_exception(_transient),
            reraise=True,
        )
        try:
            return retrying(fn, *args, **kwargs)
        except (ApiException, OSError, RuntimeError, ValueError) as err:  # transport and server errors
            raise StoreError(
                self.location, f"Qdrant request failed ({err})", "check the URL, API key and server"
            ) from err

    # ----------------------------------------------------------------- writes

    def upsert(self, coll: Collection, points: Sequence[PointData]) -> None:
        t = self._tenant
        structs = [
            models.PointStruct(
                id=t.point(p.id) if t else p.id,
                vector={k: _vector(v) for k, v in p.vectors.items()},
                payload=t.stamp(p.id, p.payload) if t else dict(p.payload),
            )
            for p in points
        ]
        self._call(self.client.upsert, self.names[coll], points=structs, wait=True)

    def set_payload(self, coll: Collection, payload: Mapping[str, Any], flt: Filter) -> None:
        self._call(
            self.client.set_payload,
            self.names[coll],
            payload=dict(payload),
            points=self._filter(flt),
            wait=True,
        )

    def update_vectors(self, coll: Collection, point_id: str, vectors: Mapping[str, Vector]) -> None:
        pid = self._tenant.point(point_id) if self._tenant else point_id
        point = models.PointVectors(id=pid, vector={k: _vector(v) for k, v in vectors.items()})
        self._call(self.client.update_vectors, self.names[coll], points=[point], wait=True)

    def delete(self, coll: Collection, flt: Filter) -> None:
        selector = models.FilterSelector(filter=self._filter(flt) or models.Filter())
        self._call(self.client.delete, self.names[coll], points_selector=selector, wait=True)

    # ----------------------------------------------------------------- reads

    def query(self, coll: Collection, spec: QuerySpec) -> list[Row]:
        flt = self._filter(spec.filter)
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
        return [self._row(p, float(p.score)) for p in points]

    def retrieve(self, coll: Collection, ids: Sequence[str]) -> list[Row]:
        wanted = [self._tenant.point(i) for i in ids] if self._tenant else list(ids)
        records = self._call(self.client.retrieve, self.names[coll], ids=wanted, with_payload=True)
        return [self._row(r) for r in records]

    def scroll(
        self, coll: Collection, flt: Filter | None, *, limit: int, offset: str | None, with_vectors: bool,
        with_payload: bool = True,
    ) -> tuple[list[Row], str | None]:  # fmt: skip
        payload: bool | list[str] = with_payload or ([_TENANT_ID] if self._tenant else False)  # the own id
        records, nxt = self._call(
            self.client.scroll, self.names[coll], scroll_filter=self._filter(flt), limit=limit,
            offset=offset, with_payload=payload, with_vectors=with_vectors,
        )  # fmt: skip
        rows = [self._row(r) for r in records]
        return rows, None if nxt is None else str(nxt)

    def count(self, coll: Collection, flt: Filter | None) -> int:
        result = self._call(self.client.count, self.names[coll], count_filter=self._filter(flt), exact=True)
        return int(result.count)

    def _filter(self, flt: Filter | None) -> models.Filter | None:
        """The filter in qdrant-client's terms, narrowed to this index's tenant (if any)."""
        t = self._tenant
        if t is not None:  # its points have ids of their own (see _Tenant): map the ids a filter names
            must, must_not = (t.ids(flt.must), t.ids(flt.must_not)) if flt else ((), ())
            flt = Filter(must=(*must, t.match), must_not=must_not)
        return _filter(flt) if flt else None

    def _row(self, point: Any, score: float = 0.0) -> Row:
        payload = dict(point.payload or {})
        pid = str(payload.pop(_TENANT_ID, point.id))
        if self._tenant is not None:
            payload.pop(self._tenant.field, None)
        return Row(pid, payload, score, _vectors(getattr(point, "vector", None)))

    # ----------------------------------------------------------------- maintenance

    def optimize(self) -> None:
        """Nothing to do: a server builds HNSW in the background; local mode is brute force."""

    def unindexed(self) -> int:
        """0: a server indexes in the background by itself."""
        return 0

    def flush(self) -> None:
        """Nothing to do: every write waits for the server (``wait=True``)."""

    def close(self) -> None:
        if self._owns:
            self.client.close()


_TENANT_ID = "vrag_point_id"  # the point's own id, kept in the payload when ids are made per tenant


@dataclass(frozen=True, slots=True)
class _Tenant:
    """One tenant of collections shared by several indexes (``[qdrant] tenant_field`` + ``tenant``).

    Its points carry ``field = name``; every read is narrowed to it; point ids are made per tenant (uuid5 of
    the tenant and the id, the id itself kept in the payload), so two tenants indexing the same video never
    overwrite each other's points.
    """

    field: str
    name: str

    @classmethod
    def of(cls, settings: QdrantConfig) -> _Tenant | None:
        if settings.tenant is None:
            return None
        if not settings.tenant_field:
            raise ConfigError("[qdrant] tenant needs tenant_field (the payload key that holds it)")
        return cls(settings.tenant_field, settings.tenant)

    @property
    def match(self) -> Match:
        return Match(self.field, self.name)

    def point(self, point_id: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"vrag-tenant:{self.name}:{point_id}"))

    def stamp(self, point_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {**payload, self.field: self.name, _TENANT_ID: point_id}

    def ids(self, conditions: Sequence[Condition]) -> tuple[Condition, ...]:
        """``conditions`` with the point ids of each ``HasId`` made this tenant's."""
        return tuple(
            HasId(tuple(self.point(i) for i in c.ids)) if isinstance(c, HasId) else c for c in conditions
        )


def _transient(err: BaseException) -> bool:
    """Worth retrying: the server was unreachable, timed out, overloaded or restarting."""
    if isinstance(err, UnexpectedResponse):
        return err.status_code in {408, 429, 500, 502, 503, 504}
    return isinstance(err, ResponseHandlingException | httpx.TransportError | ConnectionError | TimeoutError)


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


def _condition(c: Condition) -> models.Condition:
    if isinstance(c, HasId):
        return models.HasIdCondition(has_id=list(c.ids))
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
