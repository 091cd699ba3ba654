"""Agent tools over a vrag index: search the videos, get back passages with the marker to cite each by."""

from __future__ import annotations

import asyncio
import inspect
import os
from typing import Any

from llama_index.core.tools import FunctionTool
from llama_index.core.tools.tool_spec.base import BaseToolSpec

from vrag import Hit, VideoIndex
from vrag.errors import ConfigError
from vrag.index import SEARCH_OPTIONS

__all__ = ["NO_MATCH", "VideoToolSpec", "format_hits", "video_search_tool"]

NO_MATCH = "No indexed video matches this query."


def format_hits(hits: list[Hit]) -> str:
    """One numbered line per hit: its ``[video mm:ss–mm:ss]`` citation marker, then its text."""
    if not hits:
        return NO_MATCH
    return "\n".join(
        f"{i}. {hit.citation} {' '.join(hit.text.split()) or '(no speech or on-screen text)'}"
        for i, hit in enumerate(hits, 1)
    )


class VideoToolSpec(BaseToolSpec):
    """Tools an agent calls to search indexed videos (``to_tool_list()`` gives ``search_videos``).

    Args:
        index: an open :class:`vrag.VideoIndex`, or its location (opened here with its stored configuration;
            pass the same ``VideoIndex`` to share one index folder with a retriever).
        k: passages per search.
        **search_options: any other :meth:`vrag.VideoIndex.search` option (``video``, ``after``, ``before``,
            ``where``, ``rerank``, ``per_video``, ...), applied to every search.

    Raises:
        ConfigError: an option ``VideoIndex.search`` does not take.

    Example:
        >>> from llama_index.tools.vrag import VideoToolSpec
        >>> tools = VideoToolSpec(".vrag", k=4).to_tool_list()     # doctest: +SKIP
    """

    spec_functions = ["search_videos"]  # noqa: RUF012  (BaseToolSpec declares it per instance)

    def __init__(
        self, index: VideoIndex | str | os.PathLike[str], *, k: int = 5, **search_options: Any
    ) -> None:
        unknown = sorted(set(search_options) - SEARCH_OPTIONS)
        if unknown:
            raise ConfigError(
                f"VideoToolSpec: unknown search option(s) {unknown}; VideoIndex.search takes "
                f"{sorted(SEARCH_OPTIONS)}"
            )
        if k < 1:
            raise ConfigError(f"VideoToolSpec: k must be at least 1, got {k}")
        self.index: VideoIndex = index if isinstance(index, VideoIndex) else VideoIndex.open(index)
        self.search_options = {"k": k, **search_options}

    def search_videos(self, query: str) -> str:
        """Search the indexed videos for the moments that match a query.

        Returns the best passages (transcript and on-screen text), one per line, each starting with the
        marker [video mm:ss–mm:ss] of the moment it comes from; cite that marker after each claim.

        Args:
            query: what to look for, in words.
        """
        return format_hits(self.index.search(query, **self.search_options))

    async def asearch_videos(self, query: str) -> str:
        """Async :meth:`search_videos` (runs it in a worker thread)."""
        return await asyncio.to_thread(self.search_videos, query)


def video_search_tool(
    index: VideoIndex | str | os.PathLike[str],
    *,
    k: int = 5,
    name: str = "search_videos",
    description: str | None = None,
    **search_options: Any,
) -> FunctionTool:
    """A ``FunctionTool`` for agents: ``search_videos(query)`` returns cited passages from the videos.

    Args:
        index: an open :class:`vrag.VideoIndex`, or its location.
        k: passages per search.
        name: the tool's name as the agent sees it.
        description: what the agent is told the tool does (default: the docstring of ``search_videos``).
        **search_options: see :class:`VideoToolSpec`.

    Example:
        >>> from llama_index.tools.vrag import video_search_tool
        >>> tool = video_search_tool(index, k=3)                      # doctest: +SKIP
        >>> print(tool.call(query="learning rate too large").content)   # doctest: +SKIP
        1. [intro_to_ml.mp4 00:12.0–00:24.0] To fit the model we minimise a loss function. ...
    """
    spec = VideoToolSpec(index, k=k, **search_options)
    doc = inspect.cleandoc(spec.search_videos.__doc__ or "").split("\n\nArgs:")[0]
    return FunctionTool.from_defaults(
        fn=spec.search_videos,
        async_fn=spec.asearch_videos,
        name=name,
        description=description or f"{name}(query: str) -> str\n{doc}",
    )
