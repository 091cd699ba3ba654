"""``Hit`` ↔ ``Document``: the evidence text is the page content, ``Hit.to_dict()`` the metadata."""

from __future__ import annotations

from collections.abc import Iterable

from langchain_core.documents import Document

from vrag import Hit

__all__ = ["to_document", "to_hit", "to_hits"]

SPAN_KEYS = ("video", "start", "end")
"""Metadata a Document needs to stand for a span of a video."""


def to_document(hit: Hit) -> Document:
    """A search hit as a LangChain Document.

    Returns:
        ``page_content`` = the transcript / on-screen text of the span (the evidence to quote),
        ``metadata`` = ``hit.to_dict()`` (``video``, ``video_id``, ``start``, ``end``, ``score``,
        ``keyframe``, ``channel_scores``, ``citation``).
    """
    return Document(page_content=hit.text, metadata=hit.to_dict())


def to_hit(document: Document) -> Hit:
    """The hit a Document stands for (the inverse of :func:`to_document`; the page content is the text).

    Documents read by LangChain's stock ``QdrantVectorStore`` from a vrag index convert too: they carry
    ``video``, ``start`` and ``end``.

    Raises:
        KeyError: the metadata has no ``video``, ``start`` or ``end``.
    """
    return Hit.from_dict(document.metadata, text=document.page_content)


def to_hits(documents: Iterable[Document]) -> list[Hit]:
    """:func:`to_hit` for each document, e.g. to check an answer's citations with
    ``vrag.search.check_citations(answer, to_hits(documents))``."""
    return [to_hit(d) for d in documents]


def is_span(document: Document) -> bool:
    return all(key in document.metadata for key in SPAN_KEYS)
