"""The ``Aggregator`` interface, input checks, the coverage metric and the parameter-free aggregators.

An aggregator turns one video's per-segment embeddings ``[n, d]`` into ``K`` video-level vectors ``[K, d]``
in the same space (unit length), so a text query scores them directly (MaxSim in the ``videos`` collection).
Nothing here imports torch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from vrag.errors import ConfigError

__all__ = ["Aggregator", "KMeansAggregator", "MeanAggregator", "check_sequence", "coverage", "unit"]

_EPS = 1e-12


def unit(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit length (zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, _EPS)).astype(np.float32)


def check_sequence(
    embeddings: Any, times: Any = None, *, dim: int | None = None, what: str = "embeddings"
) -> np.ndarray:
    """Validate one video's segment embeddings; return them unit-normalised and in time order.

    Args:
        embeddings: ``[n, d]`` segment vectors, ``n >= 1``.
        times: optional ``[n, 2]`` (start, end) seconds; rows are put in start-time order (stable).
        dim: the dimension the aggregator was built for, if fixed.
        what: how to name the input in error messages (e.g. the video).

    Raises:
        ConfigError: wrong shape, non-finite values, or a dimension other than ``dim``.
    """
    arr = np.asarray(embeddings, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ConfigError(f"{what}: expected [n_segments, dim] vectors with n >= 1, got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ConfigError(
            f"{what}: this aggregator takes {dim}-d vectors, got {arr.shape[1]}-d; use the channel it was "
            "trained on, or train one for this channel"
        )
    if not np.isfinite(arr).all():
        raise ConfigError(f"{what}: vectors contain NaN/inf; check the encoder output")
    if times is not None:
        t = np.asarray(times, dtype=np.float64)
        if t.shape != (arr.shape[0], 2):
            raise ConfigError(f"{what}: times must be [n, 2] (start, end) for {arr.shape[0]} segments")
        arr = arr[np.argsort(t[:, 0], kind="stable")]
    return unit(arr)


def coverage(segments: Any, video_vectors: Any) -> float:
    """How well a video's vectors stand for its segments: mean over segments of the best cosine.

    1.0 means every segment is matched exactly by one of the ``K`` vectors; a query that matches a segment
    then matches the video about as well in the first stage of hierarchical search.

    Args:
        segments: ``[n, d]`` segment vectors.
        video_vectors: ``[K, d]`` video-level vectors (or one ``[d]`` vector).

    Returns:
        The mean over segments of ``max_k cos(segment, video_vector_k)``, in ``[-1, 1]``.

    Example:
        >>> coverage([[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0]])
        0.5
    """
    seg = unit(np.atleast_2d(np.asarray(segments, dtype=np.float32)))
    vid = unit(np.atleast_2d(np.asarray(video_vectors, dtype=np.float32)))
    if seg.shape[1] != vid.shape[1]:
        raise ConfigError(
            f"coverage: segment dim {seg.shape[1]} differs from video vector dim {vid.shape[1]}"
        )
    return float((seg @ vid.T).max(axis=1).mean())


class Aggregator(ABC):
    """Turns a video's segment embeddings ``[n, d]`` into ``K`` unit vectors ``[K, d]`` in the same space.

    Attributes:
        name: the registry name.
        k: the most vectors it returns per video (fewer when a video has fewer distinct segments).
    """

    name: str = ""
    k: int = 1

    @abstractmethod
    def aggregate(self, embeddings: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        """The video-level vectors of one video.

        Args:
            embeddings: ``[n, d]`` segment vectors of one video.
            times: ``[n, 2]`` (start, end) seconds of each segment; segments are put in time order.

        Returns:
            ``[K', d]`` float32 unit vectors, ``1 <= K' <= k``.
        """

    def aggregate_many(
        self, sequences: Sequence[np.ndarray], times: Sequence[np.ndarray | None] | None = None
    ) -> list[np.ndarray]:
        """:meth:`aggregate` over several videos (learned aggregators batch them)."""
        spans = times if times is not None else [None] * len(sequences)
        return [self.aggregate(seq, t) for seq, t in zip(sequences, spans, strict=True)]

    def describe(self) -> dict[str, Any]:
        """A JSON-able record of what built the video vectors (for the index's build info)."""
        return {"aggregator": self.name, "k": self.k}


class MeanAggregator(Aggregator):
    """One vector per video: the normalised mean of its (normalised) segment vectors.

    Example:
        >>> [round(float(v), 3) for v in MeanAggregator().aggregate(np.array([[1.0, 0.0], [0.0, 1.0]]))[0]]
        [0.707, 0.707]
    """

    name = "mean"
    k = 1

    def aggregate(self, embeddings: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        x = check_sequence(embeddings, times)
        mean = x.mean(axis=0, keepdims=True)
        if np.linalg.norm(mean) < 1e-6:  # opposite vectors cancel: fall back to the first segment
            mean = x[:1]
        return unit(mean)


class KMeansAggregator(Aggregator):
    """``K`` vectors per video: spherical k-means centroids of its segment vectors (k-means++ start).

    Deterministic for a given ``seed``; ``K`` is capped by the number of distinct segments. Centroids come
    out largest cluster first.

    Args:
        k: the most centroids per video.
        seed: seed of the k-means++ start.
        iters: Lloyd iterations at most (stops early when assignments settle).

    Example:
        >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
        >>> KMeansAggregator(k=2).aggregate(x).shape
        (2, 2)
    """

    name = "kmeans"

    def __init__(self, *, k: int = 8, seed: int = 0, iters: int = 50) -> None:
        if k < 1 or iters < 1:
            raise ConfigError(f"kmeans aggregator: k and iters must be at least 1, got k={k}, iters={iters}")
        self.k, self.seed, self.iters = k, seed, iters

    def aggregate(self, embeddings: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        x = check_sequence(embeddings, times)
        distinct = len(np.unique(x.round(6), axis=0))
        k = min(self.k, distinct)
        centroids = _kmeans_pp(x, k, np.random.default_rng(self.seed))
        labels = np.full(len(x), -1)
        for _ in range(self.iters):
            new = (x @ centroids.T).argmax(axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            centroids = _update(x, labels, centroids)
        sizes = np.bincount(labels, minlength=k)
        return centroids[np.argsort(-sizes, kind="stable")]

    def describe(self) -> dict[str, Any]:
        return {"aggregator": self.name, "k": self.k, "seed": self.seed, "iters": self.iters}


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding with cosine distance ``1 - cos``."""
    chosen = [int(rng.integers(len(x)))]
    dist = 1.0 - x @ x[chosen[0]]
    for _ in range(1, k):
        weights = np.clip(dist, 0.0, None) ** 2
        total = weights.sum()
        pick = int(rng.choice(len(x), p=weights / total)) if total > _EPS else int(dist.argmax())
        chosen.append(pick)
        dist = np.minimum(dist, 1.0 - x @ x[pick])
    return x[chosen].copy()


def _update(x: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """New centroids (normalised cluster sums); an empty cluster takes the worst-covered segment."""
    out = centroids.copy()
    for j in range(len(centroids)):
        members = x[labels == j]
        if len(members):
            out[j] = unit(members.sum(axis=0))
        else:
            out[j] = x[(x @ out.T).max(axis=1).argmin()]
    return out
