"""The vector store: the only part of vrag that talks to Qdrant.

Two backends behind one ``Store``:

- **Qdrant Edge** (default): the Qdrant engine in-process, one folder on disk (``.vrag/`` or ``--index DIR``),
  WAL on. One opener per folder: a second ``open_store`` of the same folder in this process raises
  ``IndexLockedError`` (reuse the open ``Store`` instead), and so does an open from another process while
  this one holds it (the error names the holder's pid). Run ``store.optimize()`` after a bulk ingest to
  build HNSW.
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

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrag.errors import ConfigError
from vrag.store._errors import IndexLockedError, SchemaMismatchError, StoreError
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
    "DenseChannel",
    "Distance",
    "Fusion",
    "IndexLockedError",
    "SchemaMismatchError",
    "SegmentRecord",
    "Store",
    "StoreError",
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
        IndexLockedError: the Edge folder is open elsewhere (this process or another one).
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
    is no index there yet. Reads without taking the index's lock.
    """
    if url is not None:
        backend = _backend(None, url, api_key, None, prefix, qdrant)
        try:
            return backend.read_schema()
        finally:
            backend.close()
    if str(location) == ":memory:":
        return None
    from vrag.store._edge import SCHEMA_FILE

    path = Path(location if location is not None else DEFAULT_INDEX).expanduser() / SCHEMA_FILE
    if not path.is_file():
        return None
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise StoreError(str(path.parent), f"unreadable {SCHEMA_FILE} ({err})") from err
    return record


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
