"""The ``aggregator`` registry and the ``create_aggregator`` factory.

The learned ``lvmae`` entry imports torch only when it is created.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from vrag._registry import Registry
from vrag.aggregate._base import Aggregator, KMeansAggregator, MeanAggregator

__all__ = ["AGGREGATORS", "create_aggregator", "list_aggregators"]

AGGREGATORS: Registry[Aggregator] = Registry("aggregator")


def _lvmae(
    *,
    path: str | os.PathLike[str],
    device: str | None = None,
    batch: int = 16,
    expect_schema: Mapping[str, Any] | None = None,
) -> Aggregator:
    from vrag.aggregate._lvmae import LVMAEAggregator

    return LVMAEAggregator(path=path, device=device, batch=batch, expect_schema=expect_schema)


AGGREGATORS.register("mean", MeanAggregator, description="mean of the segment vectors, K=1, no parameters")
AGGREGATORS.register(
    "kmeans",
    KMeansAggregator,
    description="spherical k-means centroids, K vectors (capped by segment count), deterministic",
)
AGGREGATORS.register(
    "lvmae",
    _lvmae,
    description="LV-MAE-style sequence encoder + attentive probe, K vectors; train with train_aggregator "
    "(path= its checkpoint folder)",
)


def create_aggregator(name: str, **options: Any) -> Aggregator:
    """An aggregator by registry name; unknown names or options raise with suggestions.

    Args:
        name: ``"mean"``, ``"kmeans"`` or ``"lvmae"``.
        options: the aggregator's options, e.g. ``k=8`` for kmeans, ``path=DIR`` for lvmae.

    Example:
        >>> create_aggregator("kmeans", k=4).k
        4
    """
    return AGGREGATORS.create(name, **options)


def list_aggregators(pattern: str = "*") -> list[str]:
    """Registered aggregator names matching a glob pattern."""
    return AGGREGATORS.names(pattern)
