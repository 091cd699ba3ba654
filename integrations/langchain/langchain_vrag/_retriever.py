"""``VideoRetriever``: a vrag index as a LangChain retriever of video moments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field, PrivateAttr

from langchain_vrag._documents import to_document
from langchain_vrag._index import IndexLike, SearchType, Translated, index_field, open_index, translate
from vrag import Hit, VideoIndex
from vrag.errors import ConfigError

__all__ = ["VideoRetriever"]


class VideoRetriever(BaseRetriever):
    """Retrieves the moments of indexed videos that best match a query, as Documents.

    Each Document is one span of one video: ``id`` is the segment's point id in the index, ``page_content``
    the transcript / on-screen text inside it, ``metadata`` the rest of ``Hit.to_dict()`` (``video``,
    ``start``, ``end``, ``score`` — a relevance in [0, 1] —, ``raw_score``, ``citation`` — the
    ``[video mm:ss–mm:ss]`` marker to cite —, ``url`` — playable, ``file:///…/talk.mp4#t=12.0,24.0`` —, ...).
    All searching is ``VideoIndex.search``.

    Args:
        index: an open ``vrag.VideoIndex``, or an index folder (opened on first use, shared in the process).
        k: how many moments to return (also accepted as ``search_kwargs["k"]`` or an invoke keyword).
        search_type: as LangChain's vector-store retrievers: ``"similarity"``, ``"mmr"`` (diverse moments;
            ``lambda_mult`` 0.5 unless given) or ``"similarity_score_threshold"`` (needs ``score_threshold``).
        search_kwargs: the vector-store retrievers' keys — ``k``, ``filter`` (payload field → value or list,
            e.g. ``{"video": "talk.mp4"}``), ``fetch_k``, ``lambda_mult``, ``score_threshold`` (a relevance
            in [0, 1]) — and any ``vrag.search.SearchOptions`` field: ``{"rerank": "sentence"}``,
            ``{"video": "talk.mp4"}``, ``{"after": "1:30"}``, ``{"merge": True}``, ...
        media_url: the URL videos are served at, with ``{video_id}`` (``vrag serve``:
            ``"http://HOST/api/videos/{video_id}/media"``); default each file's ``file://`` URI.

    Invoke keywords (``retriever.invoke(query, k=2, filter=..., video=..., after=..., before=...)``) take
    the same names and win over ``search_kwargs`` for that call.

    Raises:
        ConfigError: an option vrag's search does not take or a bad value (when constructed or invoked); no
            index at the folder (on first use).

    Example:
        >>> from langchain_vrag import VideoRetriever
        >>> retriever = VideoRetriever(index=".vrag", search_kwargs={"k": 3, "filter": {"video": "talk.mp4"}})
        >>> docs = retriever.invoke("the learning rate is too large", after=10.0)    # doctest: +SKIP
        >>> docs[0].metadata["citation"], docs[0].metadata["url"]                     # doctest: +SKIP
        ('[talk.mp4 00:12.0–00:24.0]', 'file:///videos/talk.mp4#t=12.0,24.0')
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: VideoIndex | str
    """The index, or the folder it lives in (opened on first use)."""
    k: int = Field(default=4, ge=1)
    """How many moments to return."""
    search_type: SearchType = "similarity"
    """``"similarity"``, ``"mmr"`` or ``"similarity_score_threshold"``."""
    search_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Search options applied to every query (LangChain's or vrag's names)."""
    media_url: str | None = None
    """Served media URL template with ``{video_id}`` (None: ``file://`` URIs)."""

    _options: Translated = PrivateAttr()
    _opened: VideoIndex | None = PrivateAttr(default=None)

    def __init__(
        self,
        *,
        index: IndexLike,
        k: int | None = None,
        search_type: SearchType = "similarity",
        search_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        settings = dict(search_kwargs or {})
        if k is not None and settings.setdefault("k", k) != k:
            raise ConfigError(f"VideoRetriever: k={k} and search_kwargs k={settings['k']} disagree; give one")
        options = translate(
            {"k": 4, **settings}, search_type=search_type, owner="VideoRetriever search_kwargs"
        )
        super().__init__(  # type: ignore[call-arg]
            index=index_field(index), k=options.options.k, search_type=search_type, search_kwargs=settings,
            **kwargs,
        )  # fmt: skip
        self._options = options

    def search(self, query: str, **kwargs: Any) -> list[Hit]:
        """The vrag hits behind :meth:`invoke` (same keywords), e.g. for ``vrag.search.check_citations``."""
        base = self._options
        if self.k != base.options.k:  # the field was set after construction
            base = Translated(base.options.replace(k=self.k), base.score_threshold)
        wanted = translate(kwargs, base=base, owner="VideoRetriever.invoke") if kwargs else base
        hits = self.opened().search(query, options=wanted.options)
        if wanted.score_threshold is not None:
            hits = [h for h in hits if h.score >= wanted.score_threshold]
        return hits

    def opened(self) -> VideoIndex:
        """The open index (a folder is opened on the first call).

        Raises:
            ConfigError: no vrag index at the folder (says how to build one).
        """
        if self._opened is None:
            self._opened = open_index(self.index)
        return self._opened

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        kwargs.pop("verbose", None)  # a callback setting BaseRetriever.invoke also forwards
        return [to_document(hit, media_url=self.media_url) for hit in self.search(query, **kwargs)]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        # the base class runs the sync method in an executor too, but drops the invoke keywords (k, filters)
        return await run_in_executor(
            None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), **kwargs
        )
