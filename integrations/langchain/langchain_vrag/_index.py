"""The index behind a retriever or tool, and LangChain's search words in vrag's.

An index given as a folder is opened on first use with ``VideoIndex.open``, which shares one handle per folder
in the process (a ``VideoRetriever`` and a ``VideoSearchTool`` on the same path use the same index); it is
released when the process exits. Pass an open ``VideoIndex`` instead to decide when it closes (the folder
stays locked against other processes while open).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vrag import VideoIndex
from vrag.errors import ConfigError
from vrag.search import SearchOptions

__all__ = ["IndexLike", "SearchType", "Translated", "open_index", "translate"]

IndexLike = VideoIndex | str | os.PathLike[str]
SearchType = Literal["similarity", "similarity_score_threshold", "mmr"]

RENAMED = {"filter": "where", "fetch_k": "candidates"}
"""LangChain vector-store ``search_kwargs`` names → ``SearchOptions`` fields."""

VIDEO_KEYS = ("video", "video_id")
"""Filter keys that name videos: they become ``SearchOptions.video`` (paths, file names as citations show
them, or video ids), not an exact match on the stored path."""


@dataclass(frozen=True, slots=True)
class Translated:
    """Search options in vrag's words, plus the one LangChain setting vrag's search has no field for."""

    options: SearchOptions
    score_threshold: float | None = None


def translate(
    kwargs: Mapping[str, Any], *, base: Translated | None = None, search_type: SearchType = "similarity",
    owner: str,
) -> Translated:  # fmt: skip
    """``kwargs`` in the words of LangChain's vector-store retrievers (``k``, ``filter``, ``fetch_k``,
    ``lambda_mult``, ``score_threshold``) or of :class:`vrag.search.SearchOptions` (``video``, ``after``,
    ``rerank``, ...), as options applied over ``base``. ``SearchOptions`` judges every value. A filter on
    ``video`` / ``video_id`` selects videos as ``video=`` does; other keys are payload fields (``where``).

    ``search_type`` (LangChain's ``VectorStoreRetriever`` values) sets defaults when there is no ``base``:
    ``"mmr"`` turns diversity on (``lambda_mult`` 0.5 unless given), ``"similarity_score_threshold"`` needs
    ``score_threshold``.

    Raises:
        ConfigError: an unknown name (close names suggested), a bad value, or a ``filter`` that is not a
            field → value mapping.
    """
    changes = {RENAMED.get(name, name): value for name, value in kwargs.items()}
    threshold = changes.pop("score_threshold", base.score_threshold if base else None)
    if threshold is not None and not (isinstance(threshold, int | float) and 0.0 <= threshold <= 1.0):
        raise ConfigError(f"{owner}: score_threshold is a relevance within [0, 1], got {threshold!r}")
    if base is None and search_type == "similarity_score_threshold" and threshold is None:
        raise ConfigError(f"{owner}: search_type='similarity_score_threshold' needs a score_threshold")
    lambda_mult = changes.pop("lambda_mult", None)
    if (base is None and search_type == "mmr") or lambda_mult is not None:
        if not isinstance(lambda_mult, int | float | None):
            raise ConfigError(f"{owner}: lambda_mult is a number within [0, 1], got {lambda_mult!r}")
        # LangChain's lambda_mult weighs relevance (1: none of the diversity); vrag's mmr weighs diversity
        changes.setdefault("mmr", 1.0 - (0.5 if lambda_mult is None else lambda_mult))
    where = changes.pop("where", None)
    if where is not None:
        if not isinstance(where, Mapping):
            raise ConfigError(
                f"{owner}: filter is a mapping of payload field → value or list of values (e.g. "
                f"{{'video': 'talk.mp4'}}), not a {type(where).__name__}"
            )
        where = dict(where)
        videos = [where.pop(key) for key in VIDEO_KEYS if key in where]
        if len(videos) > 1 or (videos and changes.get("video") is not None):
            raise ConfigError(f"{owner}: give the videos once (filter video, filter video_id or video)")
        changes |= {"where": where or None, "video": videos[0]} if videos else {"where": where}
    options = SearchOptions.from_mapping(changes, base=base.options if base else None, owner=owner)
    return Translated(options, threshold)


def index_field(index: IndexLike) -> VideoIndex | str:
    """What the pydantic field stores: the index object, or the location as a string (not opened yet)."""
    return index if isinstance(index, VideoIndex) else os.fspath(index)


def open_index(index: VideoIndex | str) -> VideoIndex:
    """The open index: ``index`` itself, or a handle on the folder it names (shared in the process).

    Raises:
        ConfigError: no vrag index at that location (says how to build one).
    """
    if isinstance(index, VideoIndex):
        return index
    opened = VideoIndex.open(index, create=False)
    atexit.register(opened.close)  # releases this handle; the last one closes the index
    return opened
