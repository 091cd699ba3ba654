"""Long-video aggregation: a video's segment embeddings → ``K`` video-level vectors in the same space.

The vectors go into the index's ``videos`` collection (one multivector per channel), where a query scores
them with MaxSim; hierarchical search picks the best videos this way, then searches segments inside them.

- ``mean`` (K=1) and ``kmeans`` (K centroids) need no training.
- ``lvmae`` is an LV-MAE-style sequence encoder ([CLS], sin-cos positions, padding masks, windows of
  ``max_len`` segments) pretrained as a masked-embedding autoencoder on the index's own embeddings, with an
  attentive probe that gives ``K`` vectors; :func:`train_aggregator` trains it (no labels).

``import vrag.aggregate`` does not import torch; ``lvmae`` and :func:`train_aggregator` load it.

Example:
    >>> import numpy as np
    >>> from vrag.aggregate import coverage, create_aggregator
    >>> segments = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 0.0, 1.0]])
    >>> vectors = create_aggregator("kmeans", k=2).aggregate(segments)
    >>> vectors.shape, round(coverage(segments, vectors), 3)
    ((2, 3), 0.999)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vrag.aggregate._base import Aggregator, KMeansAggregator, MeanAggregator, coverage
from vrag.aggregate._catalog import AGGREGATORS, create_aggregator, list_aggregators
from vrag.aggregate._store import BuildReport, build_video_vectors, store_sequences

if TYPE_CHECKING:
    from vrag.aggregate._lvmae import LVMAEAggregator
    from vrag.aggregate._model import LVMAEConfig
    from vrag.aggregate._train import TrainReport, train_aggregator

__all__ = [
    "AGGREGATORS",
    "Aggregator",
    "BuildReport",
    "KMeansAggregator",
    "LVMAEAggregator",
    "LVMAEConfig",
    "MeanAggregator",
    "TrainReport",
    "build_video_vectors",
    "coverage",
    "create_aggregator",
    "list_aggregators",
    "store_sequences",
    "train_aggregator",
]

_LAZY = {
    "LVMAEAggregator": "vrag.aggregate._lvmae",
    "LVMAEConfig": "vrag.aggregate._model",
    "TrainReport": "vrag.aggregate._train",
    "train_aggregator": "vrag.aggregate._train",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vrag.aggregate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
