"""``VideoSearchTool``: search for tool-calling models; cited moments as content, Documents as artifact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForToolRun
from langchain_core.documents import Document
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, Field, PrivateAttr

from langchain_vrag._documents import to_document
from langchain_vrag._index import IndexLike
from langchain_vrag._retriever import VideoRetriever
from vrag import Hit, VideoIndex
from vrag.errors import ConfigError
from vrag.search import evidence_line

__all__ = ["VideoSearchInput", "VideoSearchTool"]

DESCRIPTION = (
    "Search the indexed videos for the moments that match a query (words spoken or shown on screen). "
    "Returns one passage per moment: its [video mm:ss–mm:ss] marker, then what is said or shown; a "
    "'best match' line with its own marker for the sentence that answers; for questions such as 'right "
    "after the part about X', the relation that produced it. Cite by copying a marker exactly."
)
NO_TEXT = "(nothing said or shown in words; matched by how it looks)"


class VideoSearchInput(BaseModel):
    """Arguments a model gives the video search tool."""

    query: str = Field(description="what to look for, in words")
    video: str | None = Field(default=None, description="only this video (a path or id the index knows)")
    after: float | None = Field(default=None, description="only moments starting at or after this second")
    before: float | None = Field(default=None, description="only moments ending at or before this second")


def format_moments(hits: list[Hit]) -> str:
    """One ``[video mm:ss–mm:ss] text`` passage per hit, with its best-match moment and relation (the
    tool's content; ``vrag.search.evidence_line``)."""
    return "\n".join(evidence_line(h, relation=True, empty=NO_TEXT) for h in hits)


class VideoSearchTool(BaseTool):
    """A vrag index as a tool: the model searches it; the answer cites the moments it returns.

    With ``response_format="content_and_artifact"``, a tool call returns a ``ToolMessage`` whose content is
    one ``[video mm:ss–mm:ss] text`` line per moment (what the model reads and cites) and whose ``artifact``
    is the same moments as Documents (``VideoRetriever``'s format), in the same order, for the application.
    The model may narrow a search with ``video``, ``after`` and ``before``. A bad argument (an unknown video,
    say) comes back to the model as an error message it can act on.

    Args:
        index: an open ``vrag.VideoIndex``, or an index folder (opened on first use, shared in the process).
        k: how many moments per search (also accepted as ``search_kwargs["k"]``).
        search_kwargs: other search options for every search, in ``VideoRetriever``'s words (e.g.
            ``{"rerank": "sentence"}``, ``{"filter": {"video": "talk.mp4"}}``).
        media_url: see ``VideoRetriever``.

    Example:
        >>> from langchain_vrag import VideoSearchTool
        >>> tool = VideoSearchTool(index=".vrag", k=3)
        >>> call = {"type": "tool_call", "id": "1", "name": tool.name, "args": {"query": "loss diverges"}}
        >>> message = tool.invoke(call)                                  # doctest: +SKIP
        >>> print(message.content.splitlines()[0])                       # doctest: +SKIP
        [intro_to_ml.mp4 00:12.0–00:24.0] To fit the model we minimise a loss function. ...
    """

    name: str = "video_search"
    description: str = DESCRIPTION
    args_schema: type[BaseModel] = VideoSearchInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool = True

    index: VideoIndex | str
    """The index, or the folder it lives in (opened on first use)."""
    k: int = Field(default=4, ge=1)
    """How many moments per search."""
    search_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Search options applied to every search."""
    media_url: str | None = None
    """Served media URL template with ``{video_id}`` (None: ``file://`` URIs)."""

    _retriever: VideoRetriever = PrivateAttr()

    def __init__(
        self,
        *,
        index: IndexLike,
        k: int | None = None,
        search_kwargs: Mapping[str, Any] | None = None,
        media_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        retriever = VideoRetriever(index=index, k=k, search_kwargs=search_kwargs, media_url=media_url)
        super().__init__(
            index=retriever.index, k=retriever.k, search_kwargs=retriever.search_kwargs, media_url=media_url,
            **kwargs,
        )  # fmt: skip
        self._retriever = retriever

    def _run(
        self,
        query: str,
        video: str | None = None,
        after: float | None = None,
        before: float | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[Document]]:
        self._retriever.opened()  # a missing index is the developer's to fix, not the model's
        try:
            hits = self._retriever.search(query, video=video, after=after, before=before)
        except ConfigError as err:
            raise ToolException(str(err)) from err
        if not hits:
            return f"No moment of the indexed videos matches {query!r}.", []
        return format_moments(hits), [to_document(h, media_url=self.media_url) for h in hits]
