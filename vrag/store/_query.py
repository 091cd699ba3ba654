"""A backend-neutral description of points, filters and queries, and the backend protocol.

``Store`` holds all the logic and speaks only these types; each backend (Qdrant Edge, qdrant-client)
translates them into its own API. Nothing here imports qdrant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from vrag.store._schema import StoreSchema

Collection = Literal["segments", "videos"]


class Fusion(StrEnum):
    """How ``search_fused`` combines channels: reciprocal rank fusion or distribution-based score fusion."""

    RRF = "rrf"
    DBSF = "dbsf"


@dataclass(frozen=True, slots=True)
class Sparse:
    """A sparse vector (BM25 term weights)."""

    indices: list[int]
    values: list[float]


Vector = list[float] | list[list[float]] | Sparse
"""What a backend receives: a dense vector, a multivector (K x dim) or a sparse vector."""


@dataclass(frozen=True, slots=True)
class Match:
    """``key`` equals ``value`` (str or int; Edge 0.9 cannot match bools, so none are stored)."""

    key: str
    value: str | int


@dataclass(frozen=True, slots=True)
class MatchAny:
    """``key`` equals one of ``values``."""

    key: str
    values: tuple[str, ...] | tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Range:
    """``key`` is a number within the bounds given (None = unbounded)."""

    key: str
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    gt: float | None = None


@dataclass(frozen=True, slots=True)
class HasId:
    """The point id is one of ``ids``."""

    ids: tuple[str, ...]


Condition = Match | MatchAny | Range | HasId


def values_of(c: MatchAny) -> list[str] | list[int]:
    """``c.values`` as the list type the engines' ``MatchAny`` takes."""
    return list(c.values)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Filter:
    """All of ``must`` and none of ``must_not``."""

    must: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Nearest:
    """Nearest neighbours of ``vector`` in channel ``using``."""

    using: str
    vector: Vector
    limit: int


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """One query: plain nearest (one entry in ``sources``) or a fusion of several prefetches."""

    sources: tuple[Nearest, ...]
    limit: int
    filter: Filter | None = None
    fusion: Fusion | None = None
    rrf_k: int = 60
    weights: tuple[float, ...] | None = None
    exact: bool = False
    hnsw_ef: int | None = None
    with_vectors: bool = False


@dataclass(frozen=True, slots=True)
class PointData:
    """A point to write."""

    id: str
    vectors: Mapping[str, Vector]
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Row:
    """A point read back (score is 0.0 for scroll / retrieve)."""

    id: str
    payload: Mapping[str, Any]
    score: float = 0.0
    vectors: Mapping[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """What a storage engine must offer; ``Store`` does the rest."""

    location: str
    """Where the index is, for messages."""

    rebuild_hint: str
    """How to start a fresh index, for schema-mismatch messages."""

    def read_schema(self) -> dict[str, Any] | None: ...

    def create(self, schema: StoreSchema) -> None: ...

    def upsert(self, coll: Collection, points: Sequence[PointData]) -> None: ...

    def set_payload(self, coll: Collection, payload: Mapping[str, Any], flt: Filter) -> None: ...

    def update_vectors(self, coll: Collection, point_id: str, vectors: Mapping[str, Vector]) -> None: ...

    def delete(self, coll: Collection, flt: Filter) -> None: ...

    def query(self, coll: Collection, spec: QuerySpec) -> list[Row]: ...

    def retrieve(self, coll: Collection, ids: Sequence[str]) -> list[Row]: ...

    def scroll(
        self, coll: Collection, flt: Filter | None, *, limit: int, offset: str | None, with_vectors: bool,
        with_payload: bool = True,
    ) -> tuple[list[Row], str | None]: ...  # fmt: skip

    def count(self, coll: Collection, flt: Filter | None) -> int: ...

    def optimize(self) -> None: ...

    def unindexed(self) -> int: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
