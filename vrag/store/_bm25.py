"""BM25 term weights for the sparse text channel (qdrant_edge's embedder, used by both backends)."""

from __future__ import annotations

import functools
from typing import Any

from vrag.store._query import Sparse


@functools.cache
def _model() -> Any:
    from qdrant_edge import Bm25

    return Bm25()


def embed_document(text: str) -> Sparse:
    """Term-frequency weights of a segment's text (IDF is applied by the engine at query time)."""
    vec = _model().embed_document(text)
    return Sparse(list(vec.indices), list(vec.values))


def embed_query(text: str) -> Sparse:
    """Each unique query term with weight 1.0."""
    vec = _model().embed_query(text)
    return Sparse(list(vec.indices), list(vec.values))
