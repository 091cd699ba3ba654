"""vrag: make video searchable and answerable inside LLM applications.

``import vrag`` is cheap: submodules (and torch) load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

_LAZY = {
    "Hit": "vrag.types",
    "IndexConfig": "vrag.config",
    "VideoIndex": "vrag.index",
    "open_video": "vrag.media",
    "scan_videos": "vrag.media",
    "chunk_video": "vrag.chunking",
    "VragError": "vrag.errors",
}

__all__ = [
    "Hit",
    "IndexConfig",
    "VideoIndex",
    "VragError",
    "__version__",
    "chunk_video",
    "open_video",
    "scan_videos",
]

if TYPE_CHECKING:
    from vrag.chunking import chunk_video
    from vrag.config import IndexConfig
    from vrag.errors import VragError
    from vrag.index import VideoIndex
    from vrag.media import open_video, scan_videos
    from vrag.types import Hit


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vrag' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
