"""Evaluation suites, product features and our scoreboard (``vrag eval retrieval|temporal``).

- ``run_retrieval_eval``: a generated lecture corpus with paraphrased queries and ground-truth intervals;
  Recall@1/5, MRR and span IoU per channel variant and chunker.
- ``run_temporal_eval``: clip pairs that differ only in temporal order or only in spatial content; spatial and
  temporal accuracy and the bias score per encoder (a frame-average encoder sits at chance on order).
- ``vrag.eval`` also holds the procedural shapes renderer (``ShapeScene``, ``render``, ``caption``) that the
  temporal suite and the Q-Former training data use.

Imports stay cheap: each name loads its module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "run_temporal_eval": "vrag.eval._temporal",
    "TemporalReport": "vrag.eval._temporal",
    "TemporalRow": "vrag.eval._temporal",
    "ClipPair": "vrag.eval._temporal",
    "build_suite": "vrag.eval._temporal",
    "expand_names": "vrag.eval._temporal",
    "match_scores": "vrag.eval._temporal",
    "score_pairs": "vrag.eval._temporal",
    "TEMPORAL_KINDS": "vrag.eval._temporal",
    "SPATIAL_KINDS": "vrag.eval._temporal",
    "ShapeScene": "vrag.eval._shapes",
    "render": "vrag.eval._shapes",
    "render_sequence": "vrag.eval._shapes",
    "caption": "vrag.eval._shapes",
    "caption_sequence": "vrag.eval._shapes",
    "scenes": "vrag.eval._shapes",
    "reversed_scene": "vrag.eval._shapes",
    "SHAPES": "vrag.eval._shapes",
    "COLOURS": "vrag.eval._shapes",
    "MOTIONS": "vrag.eval._shapes",
    "run_retrieval_eval": "vrag.eval._retrieval",
    "RetrievalReport": "vrag.eval._retrieval",
    "RetrievalRow": "vrag.eval._retrieval",
}

__all__ = [
    "COLOURS",
    "MOTIONS",
    "SHAPES",
    "SPATIAL_KINDS",
    "TEMPORAL_KINDS",
    "ClipPair",
    "RetrievalReport",
    "RetrievalRow",
    "ShapeScene",
    "TemporalReport",
    "TemporalRow",
    "build_suite",
    "caption",
    "caption_sequence",
    "expand_names",
    "match_scores",
    "render",
    "render_sequence",
    "reversed_scene",
    "run_retrieval_eval",
    "run_temporal_eval",
    "scenes",
    "score_pairs",
]

if TYPE_CHECKING:
    from vrag.eval._retrieval import RetrievalReport, RetrievalRow, run_retrieval_eval
    from vrag.eval._shapes import (
        COLOURS,
        MOTIONS,
        SHAPES,
        ShapeScene,
        caption,
        caption_sequence,
        render,
        render_sequence,
        reversed_scene,
        scenes,
    )
    from vrag.eval._temporal import (
        SPATIAL_KINDS,
        TEMPORAL_KINDS,
        ClipPair,
        TemporalReport,
        TemporalRow,
        build_suite,
        expand_names,
        match_scores,
        run_temporal_eval,
        score_pairs,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vrag.eval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
