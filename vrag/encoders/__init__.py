"""Encoders: one registry for spatiotemporal, text-aligned, frame-level and text encoders.

``import vrag.encoders`` does not import torch; a family (and torch / transformers) loads when an encoder
is created.

Example:
    >>> from vrag.encoders import create_encoder, list_encoders
    >>> "videoprism-lvt-base" in list_encoders("videoprism*")
    True
    >>> enc = create_encoder("frames-test")  # tiny random CLIP, tests only
    >>> enc.spec.has_text
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vrag.encoders._catalog import ENCODERS, EncoderInfo, create_encoder, describe_encoders, list_encoders
from vrag.encoders._spec import EncoderSpec
from vrag.errors import WeightsUnavailableError

if TYPE_CHECKING:
    from vrag.encoders._base import TextEncoder, VideoEncoder

__all__ = [
    "ENCODERS",
    "EncoderInfo",
    "EncoderSpec",
    "TextEncoder",
    "VideoEncoder",
    "WeightsUnavailableError",
    "create_encoder",
    "describe_encoders",
    "list_encoders",
]

_LAZY = {"VideoEncoder": "vrag.encoders._base", "TextEncoder": "vrag.encoders._base"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vrag.encoders' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
