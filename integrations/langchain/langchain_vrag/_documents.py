"""``Hit`` ↔ ``Document``: the evidence text is the page content, the point id the Document's id, the rest of
``Hit.to_dict()`` the metadata."""

from __future__ import annotations

from collections.abc import Iterable

from langchain_core.documents import Document

from vrag import Hit

__all__ = ["to_document", "to_hit", "to_hits"]

SPAN_KEYS = ("video", "start", "end")
"""Metadata a Document needs to stand for a span of a video."""

NOT_METADATA = ("text", "id")
"""``Hit.to_dict()`` keys a Document holds elsewhere: the text is the page content, the id ``Document.id``."""


def to_document(hit: Hit, *, media_url: str | None = None) -> Document:
    """A search hit as a LangChain Document.

    Args:
        media_url: the URL the video is served at, with ``{video_id}`` for the hit's video (e.g.
            ``"http://localhost:8000/api/videos/{video_id}/media"``); default the file's ``file://`` URI.

    Returns:
        ``id`` = the segment's point id in the index, ``page_content`` = the transcript / on-screen text of
        the span (the evidence to quote), ``metadata`` = the rest of ``hit.to_dict()``: ``video``,
        ``video_id``, ``start``, ``end``, ``score`` (relevance in [0, 1]), ``raw_score``, ``keyframe``,
        ``channel_scores``, ``citation`` and ``url`` (playable, with a ``#t=start,end`` media fragment).
    """
    metadata = {k: v for k, v in hit.to_dict(media_base=media_url).items() if k not in NOT_METADATA}
    return Document(id=hit.id or None, page_content=hit.text, metadata=metadata)


def to_hit(document: Document) -> Hit:
    """The hit a Document stands for (the inverse of :func:`to_document`; the page content is the text).

    Documents read by LangChain's stock ``QdrantVectorStore`` from a vrag index convert too: they carry
    ``video``, ``start`` and ``end``.

    Raises:
        KeyError: the metadata has no ``video``, ``start`` or ``end``.
    """
    return Hit.from_dict({"id": document.id, **document.metadata}, text=document.page_content)


def to_hits(documents: Iterable[Document]) -> list[Hit]:
    """:func:`to_hit` for each document, e.g. to check an answer's citations with
    ``vrag.search.check_citations(answer, to_hits(documents))``."""
    return [to_hit(d) for d in documents]


def is_span(document: Document) -> bool:
    return all(key in document.metadata for key in SPAN_KEYS)
