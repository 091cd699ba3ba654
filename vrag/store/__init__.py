"""The vector store: the only part of vrag that talks to Qdrant.

Two backends behind one ``Store``:

- **Qdrant Edge** (default): the Qdrant engine in-process, one folder on disk (``.vrag/`` or ``--index DIR``),
  WAL on. Any number of readers (processes or ``Store`` objects) and one writer: reads use a private snapshot
  of the last committed state and never block or refuse each other, also beside a writer and on read-only
  media; the first write takes the writer lock, and a second writer gets ``IndexLockedError`` naming the
  holder's pid (see ``vrag.store._edge`` for the design and its costs). ``Store.writing()`` scopes a write
  session. A full disk is a ``StoreFullError`` before anything is written; a damaged shard is an
  ``IndexDamagedError`` naming it (``Store.check()`` says what is lost). Run ``store.optimize()`` after a
  bulk ingest to build HNSW.
- **qdrant-client**: ``url=`` for a Qdrant server or cluster, or ``":memory:"`` (tests), or ``client=`` to
  inject your own ``QdrantClient``.

``import vrag.store`` does not import qdrant; ``open_store`` loads the backend it needs.

Example:
    >>> from vrag.store import SegmentRecord, StoreSchema, VideoRecord, open_store
    >>> schema = StoreSchema(dense={"clip": (3, "cosine")}, sparse_text=True, fingerprint="demo")
    >>> with open_store(":memory:", schema=schema) as store:
    ...     store.begin_video("v1")
    ...     rec = SegmentRecord("v1", "cat.mp4", 0.0, 5.0, {"clip": [1, 0, 0]}, text="a cat")
    ...     n = store.add_segments([rec])
    ...     _ = store.commit_video(VideoRecord("v1", "cat.mp4", duration=5.0))
    ...     hits = store.search_fused({"clip": [1, 0.2, 0], "bm25": "cat"}, k=3)
    >>> (hits[0].video, hits[0].start, hits[0].end, hits[0].text)
    ('cat.mp4', 0.0, 5.0, 'a cat')
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrag.errors import ConfigError
from vrag.store._check import CheckReport, Problem
from vrag.store._errors import (
    IndexDamagedError,
    IndexLockedError,
    SchemaMismatchError,
    StoreError,
    StoreFullError,
)
from vrag.store._query import Fusion
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
from vrag.store._schema import (
    SCHEMA_VERSION,
    SPARSE_CHANNEL,
    DenseChannel,
    Distance,
    StoreSchema,
    multi_channel,
)
from vrag.store._store import Store

if TYPE_CHECKING:
    from vrag.config import QdrantConfig
    from vrag.store._query import Backend

__all__ = [
    "DEFAULT_INDEX",
    "SCHEMA_VERSION",
    "SPARSE_CHANNEL",
    "CheckReport",
    "DenseChannel",
    "Distance",
    "Fusion",
    "IndexDamagedError",
    "IndexLockedError",
    "Problem",
    "SchemaMismatchError",
    "SegmentRecord",
    "Store",
    "StoreError",
    "StoreFullError",
    "StoreSchema",
    "StoredHit",
    "StoredSegment",
    "StoredVideo",
    "VideoGroup",
    "VideoHit",
    "VideoRecord",
    "multi_channel",
    "open_store",
    "read_schema_record",
    "segment_point_id",
    "video_point_id",
]

DEFAULT_INDEX = ".vrag"
"""Where the embedded (Edge) index lives when no location is given."""


def open_store(
    location: str | Path | None = None,
    *,
    schema: StoreSchema,
    url: str | None = None,
    api_key: str | None = None,
    client: Any = None,
    prefix: str | None = None,
    qdrant: QdrantConfig | None = None,
) -> Store:
    """Open (creating on first use) an index and check it was built with ``schema``.

    Args:
        location: an index folder for Qdrant Edge (default ``.vrag``), or ``":memory:"`` for an
            in-memory qdrant-client index (tests).
        schema: the channels, dims and fingerprint expected; a stored index that differs raises
            ``SchemaMismatchError`` saying what differs and how to rebuild.
        url: a Qdrant server / cluster URL (uses qdrant-client; ``location`` must be None).
        api_key: the server's API key.
        client: an existing ``QdrantClient`` to use instead (not closed by ``Store.close()``).
        prefix: collection name prefix for qdrant-client indexes (default: ``qdrant.prefix``, ``vrag``).
        qdrant: server settings (``[qdrant]`` of vrag.toml): shards, replicas, write consistency, on-disk
            storage and tenant of new collections, request timeout and retries.

    Raises:
        IndexLockedError: creating a new index while another writer holds the folder.
        StoreFullError: creating a new index on a full disk.
        SchemaMismatchError: the index was built with other channels, dims or fingerprint.
        StoreError: the index cannot be opened.
    """
    backend = _backend(location, url, api_key, client, prefix, qdrant)
    store = Store(backend, schema)
    try:
        store.validate()
    except BaseException:
        store.close()
        raise
    return store


def read_schema_record(
    location: str | Path | None = None,
    *,
    url: str | None = None,
    api_key: str | None = None,
    prefix: str | None = None,
    qdrant: QdrantConfig | None = None,
) -> dict[str, Any] | None:
    """The schema record an existing index was built with (``StoreSchema.to_record()``), or None when there
    is no index there yet. Takes no lock and writes nothing (a lost ``schema.json`` is read from the copy in
    the shard folders).

    Raises:
        StoreError: the path is not an index, or its data lost its schema record (says how to recover).
    """
    if url is not None:
        backend = _backend(None, url, api_key, None, prefix, qdrant)
        try:
            return backend.read_schema()
        finally:
            backend.close()
    if str(location) == ":memory:":
        return None
    from vrag.store._edge import EdgeBackend

    backend = EdgeBackend(Path(location if location is not None else DEFAULT_INDEX))
    try:
        return backend.read_schema()
    finally:
        backend.close()


def _backend(
    location: str | Path | None, url: str | None, api_key: str | None, client: Any, prefix: str | None,
    qdrant: QdrantConfig | None,
) -> Backend:  # fmt: skip
    from vrag.config import QdrantConfig

    remote = url is not None or client is not None or str(location) == ":memory:"
    if sum(x is not None for x in (location, url, client)) > 1:
        raise ConfigError("open_store: pass one of location, url= or client=")
    if not remote:
        if api_key:
            raise ConfigError("api_key needs url= (a Qdrant server)")
        from vrag.store._edge import EdgeBackend

        return EdgeBackend(Path(location) if location is not None else Path(DEFAULT_INDEX))
    from qdrant_client import QdrantClient

    from vrag.store._client import ClientBackend

    settings = qdrant or QdrantConfig()
    owns = client is None
    if client is None:
        client = (
            QdrantClient(url=url, api_key=api_key, timeout=int(settings.timeout))
            if url
            else QdrantClient(location=":memory:")
        )
    where = url or (":memory:" if location is not None else "injected client")
    return ClientBackend(
        client, prefix=prefix or settings.prefix, location=where, owns_client=owns, settings=settings
    )
