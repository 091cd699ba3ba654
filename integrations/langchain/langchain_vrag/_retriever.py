"""``VideoRetriever``: a vrag index as a LangChain retriever of video moments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import Field

from langchain_vrag._documents import to_document
from langchain_vrag._index import IndexLike, as_index_field, check_options, resolve_index
from vrag import VideoIndex
from vrag.errors import ConfigError

__all__ = ["VideoRetriever"]


class VideoRetriever(BaseRetriever):
    """Retrieves the moments of indexed videos that best match a query, as Documents.

    Each Document is one span of one video: ``page_content`` is the transcript / on-screen text inside it,
    ``metadata`` is ``Hit.to_dict()`` (``video``, ``start``, ``end``, ``score``, ``citation`` — the
    ``[video mm:ss–mm:ss]`` marker to cite, ...). All searching is ``VideoIndex.search``.

    Args:
        index: an open ``vrag.VideoIndex``, or an index folder (opened on first use, once per process).
        k: how many moments to return (an invoke keyword ``k=`` overrides it).
        search_kwargs: other ``VideoIndex.search`` options for every query, e.g. ``{"rerank": "sentence"}``,
            ``{"video": "talk.mp4"}``, ``{"where": {"lang": "en"}}``, ``{"merge": True}``.

    Invoke keywords (``retriever.invoke(query, k=2, video=..., after=..., before=..., where=...)``) are
    ``VideoIndex.search`` options too; they win over ``search_kwargs``.

    Raises:
        ConfigError: an option ``VideoIndex.search`` does not take; no index at the folder (on first use).

    Example:
        >>> from langchain_vrag import VideoRetriever
        >>> retriever = VideoRetriever(index=".vrag", k=3)
        >>> docs = retriever.invoke("the learning rate is too large", after=10.0)    # doctest: +SKIP
        >>> docs[0].metadata["citation"]                                             # doctest: +SKIP
        '[intro_to_ml.mp4 00:12.0–00:24.0]'
    """

    index: VideoIndex | str
    """The index, or the folder it lives in (opened on first use)."""
    k: int = Field(default=4, ge=1)
    """How many moments to return."""
    search_kwargs: dict[str, Any] = Field(default_factory=dict)
    """``VideoIndex.search`` options applied to every query."""

    def __init__(
        self,
        *,
        index: IndexLike,
        k: int = 4,
        search_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        options = check_options(search_kwargs or {}, owner="VideoRetriever search_kwargs")
        if "k" in options:
            raise ConfigError("VideoRetriever: give k as VideoRetriever(k=...), not in search_kwargs")
        super().__init__(index=as_index_field(index), k=k, search_kwargs=options, **kwargs)  # type: ignore[call-arg]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        kwargs.pop("verbose", None)  # a callback setting BaseRetriever.invoke also forwards
        options = {"k": self.k, **self.search_kwargs, **check_options(kwargs, owner="VideoRetriever.invoke")}
        hits = resolve_index(self.index).search(query, **options)
        return [to_document(hit) for hit in hits]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        # the base class runs the sync method in an executor too, but drops the invoke keywords (k, filters)
        return await run_in_executor(
            None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), **kwargs
        )
