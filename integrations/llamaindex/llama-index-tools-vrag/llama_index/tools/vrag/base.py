"""Agent tools over a vrag index: search the videos, get back passages with the marker to cite each by."""

from __future__ import annotations

import asyncio
import inspect
import os
from typing import Any

from llama_index.core.tools import FunctionTool
from llama_index.core.tools.tool_spec.base import BaseToolSpec

from vrag import Hit, VideoIndex
from vrag.search import SearchOptions, evidence_line

__all__ = ["NO_MATCH", "VideoToolSpec", "format_hits", "video_search_tool"]

NO_MATCH = "No indexed video matches this query."


def format_hits(hits: list[Hit]) -> str:
    """One numbered passage per hit: its ``[video mm:ss–mm:ss]`` marker and text, the best-match moment
    with its own marker, and the relation in time that produced it (``vrag.search.evidence_line``)."""
    if not hits:
        return NO_MATCH
    return "\n".join(
        f"{i}. {evidence_line(hit, relation=True, empty='(no speech or on-screen text)')}"
        for i, hit in enumerate(hits, 1)
    )


class VideoToolSpec(BaseToolSpec):
    """Tools an agent calls to search indexed videos (``to_tool_list()`` gives ``search_videos``).

    The agent may narrow a search to one ``video`` and to moments ``after`` / ``before`` a time; a bad
    argument (an unknown video, say) raises ``ConfigError`` with a message that says the fix, which
    LlamaIndex agents hand back to the model.

    Args:
        index: an open :class:`vrag.VideoIndex`, or its location (opened here with its stored configuration;
            a folder already open in this process is shared).
        k: passages per search.
        **search_options: any other :class:`vrag.search.SearchOptions` field (``video``, ``after``,
            ``before``, ``where``, ``rerank``, ``per_video``, ...), applied to every search.

    Raises:
        ConfigError: an option vrag's search does not take, or a bad value.

    Example:
        >>> from llama_index.tools.vrag import VideoToolSpec
        >>> tools = VideoToolSpec(".vrag", k=4).to_tool_list()     # doctest: +SKIP
    """

    spec_functions = ["search_videos"]  # noqa: RUF012  (BaseToolSpec declares it per instance)

    def __init__(
        self, index: VideoIndex | str | os.PathLike[str], *, k: int = 5, **search_options: Any
    ) -> None:
        self.options = SearchOptions.from_mapping({"k": k, **search_options}, owner="VideoToolSpec")
        self.index: VideoIndex = (
            index if isinstance(index, VideoIndex) else VideoIndex.open(index, create=False)
        )

    def search_videos(
        self, query: str, video: str | None = None, after: float | None = None, before: float | None = None
    ) -> str:
        """Search the indexed videos for the moments that match a query.

        Returns the best passages (transcript and on-screen text), each starting with the marker
        [video mm:ss–mm:ss] of the span it comes from, then a "best match" line with the marker of the
        sentence that answers, and, for questions such as "right after the part about X", the relation
        that produced it; cite a marker after each claim.

        Args:
            query: what to look for, in words.
            video: only this video (a file name or path the index knows).
            after: only moments starting at or after this second.
            before: only moments ending at or before this second.
        """
        options = self.options.replace(video=video, after=after, before=before)
        return format_hits(self.index.search(query, options=options))

    async def asearch_videos(
        self, query: str, video: str | None = None, after: float | None = None, before: float | None = None
    ) -> str:
        """Async :meth:`search_videos` (runs it in a worker thread)."""
        return await asyncio.to_thread(self.search_videos, query, video, after, before)


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
    signature = f"{name}(query: str, video: str | None, after: float | None, before: float | None) -> str"
    return FunctionTool.from_defaults(
        fn=spec.search_videos,
        async_fn=spec.asearch_videos,
        name=name,
        description=description or f"{signature}\n{doc}",
    )
