"""Search: the :class:`Retriever` every entry point uses, its :class:`SearchOptions`, rerankers, MMR
diversity, temporal merging, and answers whose citations are checked.

Example:
    >>> from vrag.search import merge_hits
    >>> from vrag.types import Hit
    >>> hits = [Hit("a.mp4", "a", 10.0, 12.0, 0.9, "x"), Hit("a.mp4", "a", 12.0, 15.0, 0.5, "y")]
    >>> [(h.start, h.end, h.score) for h in merge_hits(hits)]
    [(10.0, 15.0, 0.9)]
"""

from vrag.search._answer import (
    Answer,
    Citation,
    answer_with_llm,
    check_citations,
    citation_marker,
    extractive_answer,
)
from vrag.search._merge import merge_hits
from vrag.search._mmr import mmr
from vrag.search._options import FIELDS, SearchOptions, parse_where
from vrag.search._rerank import RERANKERS, Ranked, Reranker, create_reranker, list_rerankers
from vrag.search._retriever import Query, Retriever

__all__ = [
    "FIELDS",
    "RERANKERS",
    "Answer",
    "Citation",
    "Query",
    "Ranked",
    "Reranker",
    "Retriever",
    "SearchOptions",
    "answer_with_llm",
    "check_citations",
    "citation_marker",
    "create_reranker",
    "extractive_answer",
    "list_rerankers",
    "merge_hits",
    "mmr",
    "parse_where",
]
