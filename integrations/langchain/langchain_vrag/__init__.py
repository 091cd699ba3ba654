"""LangChain integration for vrag: video moments as Documents, with exact times to cite.

- :class:`VideoRetriever` — a ``BaseRetriever`` over a vrag index (``search_type`` and ``search_kwargs`` —
  ``k``, ``filter``, ``fetch_k``, ``lambda_mult``, ``score_threshold`` — as the vector-store retrievers take
  them, plus any ``vrag.search.SearchOptions`` field; also as invoke keywords).
- :class:`VideoReranker` — a ``BaseDocumentCompressor`` running a vrag reranker (``relevance_score`` on
  copies).
- :class:`VideoSearchTool` — a ``BaseTool`` returning cited moments as content and Documents as artifact.

Documents carry ``id`` = the segment's point id, ``page_content`` = the span's text and ``metadata`` = the
rest of ``Hit.to_dict()`` (a relevance ``score`` in [0, 1], a playable ``url`` with ``#t=start,end``, the
``citation``, ...); :func:`to_hits` turns them back into ``vrag.Hit`` objects (e.g. for
``vrag.search.check_citations``).

Example:
    >>> from langchain_vrag import VideoRetriever
    >>> retriever = VideoRetriever(index=".vrag", search_kwargs={"k": 3})
    >>> [d.metadata["citation"] for d in retriever.invoke("chain rule")]    # doctest: +SKIP
    ['[neural_networks.mkv 00:12.0–00:24.0]', ...]
"""

from langchain_vrag._documents import to_document, to_hit, to_hits
from langchain_vrag._reranker import VideoReranker, llm_as_callable
from langchain_vrag._retriever import VideoRetriever
from langchain_vrag._tool import VideoSearchInput, VideoSearchTool

__all__ = [
    "VideoReranker",
    "VideoRetriever",
    "VideoSearchInput",
    "VideoSearchTool",
    "llm_as_callable",
    "to_document",
    "to_hit",
    "to_hits",
]
