"""Training: learned components of vrag trained on your own data (``vrag train ...``).

``import vrag.train`` does not import torch; the trainers load on first use.

Example:
    >>> from vrag.train import train_qformer, write_shapes_set  # doctest: +SKIP
    >>> report = train_qformer("captioned/", base="videomae-base", out_dir="runs/qformer")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vrag.train._data import CaptionedClip, read_pairs, write_pairs, write_shapes_set
    from vrag.train._qformer import EvalResult, RetrievalMetrics, TrainReport, train_qformer

__all__ = [
    "CaptionedClip",
    "EvalResult",
    "RetrievalMetrics",
    "TrainReport",
    "read_pairs",
    "train_qformer",
    "write_pairs",
    "write_shapes_set",
]

_LAZY = {
    "CaptionedClip": "vrag.train._data",
    "read_pairs": "vrag.train._data",
    "write_pairs": "vrag.train._data",
    "write_shapes_set": "vrag.train._data",
    "EvalResult": "vrag.train._qformer",
    "RetrievalMetrics": "vrag.train._qformer",
    "TrainReport": "vrag.train._qformer",
    "train_qformer": "vrag.train._qformer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vrag.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
