"""What an index is built from: channels, dimensions, distances and the pipeline fingerprint.

The schema is written once when an index is created and checked every time it is opened, so an index built
with one encoder is never silently searched with another.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from vrag.errors import ConfigError

__all__ = ["SCHEMA_VERSION", "SPARSE_CHANNEL", "DenseChannel", "Distance", "StoreSchema", "multi_channel"]

SCHEMA_VERSION = 1
"""Layout version of the stored points; bump it when the payload or collection layout changes."""

SPARSE_CHANNEL = "bm25"
"""Name of the optional sparse (BM25 over segment text) channel."""

SPARSE_MODEL = "bm25-english-k1.2-b0.75"
"""The sparse model recorded in the schema (qdrant_edge.Bm25 defaults)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class Distance(StrEnum):
    """Vector similarity; values are stored in the schema record."""

    COSINE = "cosine"
    DOT = "dot"
    EUCLID = "euclid"


class DenseChannel(NamedTuple):
    """One dense channel of the segments collection: an encoder's output dim and distance; a multivector
    channel holds K vectors per segment (e.g. a Q-Former pooler's) and is scored by MaxSim."""

    dim: int
    distance: Distance = Distance.COSINE
    multivector: bool = False


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, eq=False)
class StoreSchema:
    """How an index is built. Checked on every open; a difference raises ``SchemaMismatchError``.

    Attributes:
        dense: channel name → ``DenseChannel(dim, distance)`` (or a ``(dim, distance)`` tuple), one per
            encoder or text channel, e.g. ``{"videomae-base": (768, "cosine"), "minilm": (384, "cosine")}``.
        sparse_text: add the sparse BM25 channel ``"bm25"`` over segment text.
        video_channels: video-level multivector channel name → dim (K vectors per video, MaxSim).
        fingerprint: the chunking / pipeline fingerprint; it is part of every segment id.
        build_info: free-form notes (vrag version, options); stored, never compared.
        version: layout version of the stored points (``SCHEMA_VERSION``).

    Example:
        >>> s = StoreSchema(dense={"clip": (512, "cosine")}, sparse_text=True, fingerprint="shots-v1")
        >>> s.dense["clip"].dim
        512
    """

    dense: Mapping[str, DenseChannel]
    sparse_text: bool = False
    video_channels: Mapping[str, int] = field(default_factory=dict)
    fingerprint: str = ""
    build_info: Mapping[str, Any] = field(default_factory=dict)
    version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        dense = {str(k): _dense_channel(k, v) for k, v in self.dense.items()}
        videos = {str(k): _dim("video channel", k, v) for k, v in self.video_channels.items()}
        _check_names(list(dense), list(videos))
        if not dense and not self.sparse_text:
            raise ConfigError("a store schema needs at least one dense channel or sparse_text=True")
        object.__setattr__(self, "dense", _frozen(dense))
        object.__setattr__(self, "video_channels", _frozen(videos))
        object.__setattr__(self, "build_info", _frozen(self.build_info))

    @property
    def channels(self) -> tuple[str, ...]:
        """Segment channel names, dense first, then ``"bm25"`` when enabled."""
        return (*self.dense, *((SPARSE_CHANNEL,) if self.sparse_text else ()))

    def to_record(self) -> dict[str, Any]:
        """The JSON-able schema record stored beside the data."""
        return {
            "version": self.version,
            "dense": {k: _dense_record(c) for k, c in self.dense.items()},
            "sparse": SPARSE_MODEL if self.sparse_text else None,
            "video_channels": dict(self.video_channels),
            "fingerprint": self.fingerprint,
            "build_info": dict(self.build_info),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StoreSchema:
        """The schema a stored record describes (the inverse of :meth:`to_record`), e.g. to open an index
        folder with ``open_store`` exactly as it was built."""
        return cls(
            dense={
                name: DenseChannel(int(c["dim"]), Distance(c["distance"]), bool(c.get("multivector")))
                for name, c in (record.get("dense") or {}).items()
            },
            sparse_text=record.get("sparse") is not None,
            video_channels=record.get("video_channels") or {},
            fingerprint=record.get("fingerprint", ""),
            build_info=record.get("build_info") or {},
            version=record.get("version", SCHEMA_VERSION),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_record(), indent=2, sort_keys=True)

    def differences(self, record: Mapping[str, Any]) -> list[str]:
        """What differs between this schema and a stored record (empty when compatible).

        ``build_info`` is not compared. Each line reads "<asked now> vs index <stored>".
        """
        out: list[str] = []
        if record.get("version") != self.version:
            out.append(f"schema version {self.version} vs index {record.get('version')}")
        out += _diff_dense(self.dense, record.get("dense") or {})
        stored_sparse = record.get("sparse")
        if (SPARSE_MODEL if self.sparse_text else None) != stored_sparse:
            out.append(f"sparse text channel {self.sparse_text and SPARSE_MODEL} vs index {stored_sparse}")
        out += _diff_dims("video channel", self.video_channels, record.get("video_channels") or {})
        if record.get("fingerprint") != self.fingerprint:
            out.append(f"pipeline fingerprint {self.fingerprint!r} vs index {record.get('fingerprint')!r}")
        return out


def _dense_channel(name: str, value: Any) -> DenseChannel:
    if isinstance(value, int):
        value = (value,)
    try:
        dim, *rest = value
        distance = Distance(str(rest[0]).lower()) if rest else Distance.COSINE
    except (TypeError, ValueError) as err:
        choices = ", ".join(d.value for d in Distance)
        raise ConfigError(f"channel {name!r}: expected (dim, distance) with distance in {choices}") from err
    return DenseChannel(_dim("channel", name, dim), distance, bool(rest[1]) if len(rest) > 1 else False)


def _dense_record(c: DenseChannel) -> dict[str, Any]:
    record: dict[str, Any] = {"dim": c.dim, "distance": c.distance.value}
    return record | {"multivector": True} if c.multivector else record


def _dim(kind: str, name: str, dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ConfigError(f"{kind} {name!r}: dim must be a positive int, got {dim!r}")
    return dim


def _check_names(dense: list[str], videos: list[str]) -> None:
    for name in [*dense, *videos]:
        if not _NAME.match(name):
            raise ConfigError(f"channel name {name!r}: use letters, digits, '_', '-', '.' (max 64)")
    if SPARSE_CHANNEL in dense:
        raise ConfigError(f"dense channel name {SPARSE_CHANNEL!r} is reserved for the sparse text channel")


def _diff_dense(asked: Mapping[str, DenseChannel], stored: Mapping[str, Any]) -> list[str]:
    out = _diff_dims(
        "encoder", {k: c.dim for k, c in asked.items()}, {k: v["dim"] for k, v in stored.items()}
    )
    for name, chan in asked.items():
        if name in stored and stored[name]["dim"] == chan.dim and stored[name]["distance"] != chan.distance:
            out.append(f"encoder {name!r} distance {chan.distance.value} vs index {stored[name]['distance']}")
        if name in stored and bool(stored[name].get("multivector")) != chan.multivector:
            asked_kind = "multivector" if chan.multivector else "single vector"
            stored_kind = "multivector" if stored[name].get("multivector") else "single vector"
            out.append(f"encoder {name!r} {asked_kind} vs index {stored_kind}")
    return out


def _diff_dims(kind: str, asked: Mapping[str, int], stored: Mapping[str, int]) -> list[str]:
    out = [
        f"{kind} {k!r} dim {d} vs index {stored[k]}"
        for k, d in asked.items()
        if k in stored and stored[k] != d
    ]
    out += [f"{kind} {k!r} (dim {d}) is not in the index" for k, d in asked.items() if k not in stored]
    out += [
        f"index has {kind} {k!r} (dim {d}) that is not asked for" for k, d in stored.items() if k not in asked
    ]
    return out


def multi_channel(channel: str) -> str:
    """The multivector (MaxSim) channel stored beside ``channel`` for encoders with K vectors per clip."""
    return f"{channel}.multi"
