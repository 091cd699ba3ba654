"""Maximal marginal relevance: trade a little relevance for hits that are not near-copies of each other."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vrag.errors import ConfigError
from vrag.types import Hit


def mmr(hits: Sequence[Hit], vectors: Sequence[np.ndarray | None], *, k: int, diversity: float) -> list[Hit]:
    """Greedy MMR over ``hits`` (best first) using their embeddings ``vectors`` (None = unknown).

    Each step picks the hit maximising ``(1 - diversity) * relevance - diversity * max_similarity`` to those
    already picked, where relevance is the retrieval score scaled to [0, 1] and similarity is cosine.
    ``diversity=0`` keeps the retrieval order; ``1`` picks the most mutually different hits.

    Example:
        >>> import numpy as np
        >>> hits = [Hit("a", "a", t, t + 1, s) for t, s in ((0, 1.0), (1, 0.9), (2, 0.5))]
        >>> vecs = [np.array([1.0, 0]), np.array([1.0, 0.01]), np.array([0, 1.0])]
        >>> [h.start for h in mmr(hits, vecs, k=2, diversity=0.5)]
        [0, 2]
    """
    if not 0.0 <= diversity <= 1.0:
        raise ConfigError(f"mmr diversity must be within [0, 1], got {diversity}")
    if len(hits) != len(vectors):
        raise ConfigError("mmr needs one vector (or None) per hit")
    if not hits:
        return []
    scores = np.array([h.score for h in hits], dtype=np.float64)
    span = scores.max() - scores.min()
    relevance = (scores - scores.min()) / span if span > 0 else np.ones_like(scores)
    dim = next((v.shape[-1] for v in vectors if v is not None), 1)
    unit = np.zeros((len(hits), dim))
    for i, v in enumerate(vectors):
        if v is not None and np.linalg.norm(v) > 0:
            unit[i] = v / np.linalg.norm(v)
    sims = unit @ unit.T
    picked: list[int] = []
    left = list(range(len(hits)))
    while left and len(picked) < k:
        penalty = sims[np.ix_(left, picked)].max(axis=1) if picked else np.zeros(len(left))
        gain = (1.0 - diversity) * relevance[left] - diversity * penalty
        best = left[int(np.argmax(gain))]
        picked.append(best)
        left.remove(best)
    return [hits[i] for i in picked]
