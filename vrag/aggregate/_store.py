"""Aggregation over an index: read each video's segment vectors, write its video-level vectors.

Works on any :class:`vrag.store.Store`; the ``videos`` collection must have a video channel of the same name
and dim as the dense segment channel that is aggregated (``StoreSchema(video_channels={"minilm": 384})``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from vrag.aggregate._base import Aggregator, coverage
from vrag.errors import ConfigError

if TYPE_CHECKING:
    from vrag.store import Store, StoredVideo

__all__ = ["BuildReport", "build_video_vectors", "store_sequences"]


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What ``build_video_vectors`` wrote.

    Attributes:
        channel: the video channel written.
        aggregator: ``Aggregator.describe()`` of the aggregator used.
        videos: videos that got vectors.
        skipped: videos with no segment vector in the channel (e.g. no speech for a text channel).
        vectors: video vectors written in all.
        seconds: wall time (reading segments, aggregating and writing).
        coverage: mean over videos of :func:`coverage` (how well each video's vectors match its segments).
    """

    channel: str
    aggregator: dict[str, Any]
    videos: int
    skipped: int
    vectors: int
    seconds: float
    coverage: float | None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def store_sequences(
    store: Store, channel: str, *, videos: Sequence[str] | None = None
) -> Iterator[tuple[StoredVideo, np.ndarray, np.ndarray]]:
    """Each committed video with its segment vectors in ``channel``, in time order.

    Args:
        store: an open store.
        channel: a dense segment channel.
        videos: only these video ids (default: all).

    Yields:
        ``(video, embeddings [n, d], times [n, 2])``; videos without any vector in the channel are skipped.
    """
    if channel not in store.schema.dense:
        raise ConfigError(
            f"channel {channel!r} is not a dense channel of this index: {sorted(store.schema.dense)}"
        )
    wanted = set(videos) if videos is not None else None
    for video in store.iter_videos():
        if wanted is not None and video.video_id not in wanted:
            continue
        segs = [s for s in store.iter_segments(video.video_id, with_vectors=True) if channel in s.vectors]
        if segs:
            emb = np.stack([np.asarray(s.vectors[channel], np.float32) for s in segs])
            yield video, emb, np.array([[s.start, s.end] for s in segs], dtype=np.float64)


def build_video_vectors(
    store: Store,
    aggregator: Aggregator,
    *,
    channel: str,
    videos: Sequence[str] | None = None,
    batch: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Aggregate every video's segment vectors in ``channel`` and store them as its video vectors.

    Args:
        store: an open store whose schema has ``channel`` both as a dense channel and a video channel.
        aggregator: from :func:`vrag.aggregate.create_aggregator`.
        channel: the channel to aggregate (and to write in the ``videos`` collection).
        videos: only these video ids (default: all committed videos).
        batch: videos aggregated at once (learned aggregators batch them).
        progress: called as ``progress(done, total)`` after each batch.

    Returns:
        A :class:`BuildReport`.
    """
    dense = store.schema.dense.get(channel)
    if dense is None or store.schema.video_channels.get(channel) != dense.dim:
        raise ConfigError(
            f"channel {channel!r}: the index needs a video channel of the same dim as its segment channel "
            f"(video channels: {dict(store.schema.video_channels)}); create the index with video_channels"
        )
    t0 = time.perf_counter()
    total = len(videos) if videos is not None else store.count_videos()
    covered: list[float] = []
    pending: list[Any] = []
    written = 0
    for item in store_sequences(store, channel, videos=videos):
        pending.append(item)
        if len(pending) >= batch:
            written += _flush(store, aggregator, channel, pending, covered)
            if progress is not None:
                progress(len(covered), total)
    written += _flush(store, aggregator, channel, pending, covered)
    cov = float(np.mean(covered)) if covered else None
    return BuildReport(
        channel,
        aggregator.describe(),
        len(covered),
        total - len(covered),
        written,
        time.perf_counter() - t0,
        cov,
    )


def _flush(store: Store, aggregator: Aggregator, channel: str, items: list[Any], covered: list[float]) -> int:
    if not items:
        return 0
    vectors = aggregator.aggregate_many([emb for _, emb, _ in items], [t for _, _, t in items])
    for (video, emb, _), vecs in zip(items, vectors, strict=True):
        store.set_video_vectors(video.video_id, {channel: vecs})
        covered.append(coverage(emb, vecs))
    items.clear()
    return sum(len(v) for v in vectors)
