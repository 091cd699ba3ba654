"""Search: the :class:`Retriever` every entry point uses, its :class:`SearchOptions`, relations in time
(:func:`parse_time_query`), moments inside hits, rerankers, MMR diversity, temporal merging, multi-step
evidence gathering (:func:`gather`), and answers whose citations are checked (abstaining when the evidence
does not answer).

Example:
    >>> from vrag.search import merge_hits
    >>> from vrag.types import Hit
    >>> hits = [Hit("a.mp4", "a", 10.0, 12.0, 0.9, "x"), Hit("a.mp4", "a", 12.0, 15.0, 0.5, "y")]
    >>> [(h.start, h.end, h.score) for h in merge_hits(hits)]
    [(10.0, 15.0, 0.9)]
"""

from vrag.search._answer import (
    MIN_SUPPORT,
    Answer,
    Citation,
    answer_with_llm,
    check_citations,
    citation_marker,
    evidence_line,
    extractive_answer,
)
from vrag.search._merge import merge_hits
from vrag.search._mmr import mmr
from vrag.search._options import FIELDS, SearchOptions, parse_where
from vrag.search._relations import Step
from vrag.search._rerank import RERANKERS, Ranked, Reranker, create_reranker, list_rerankers
from vrag.search._retriever import Found, Query, Retriever
from vrag.search._steps import gather
from vrag.search._temporal import TimeQuery, parse_time_query

__all__ = [
    "FIELDS",
    "MIN_SUPPORT",
    "RERANKERS",
    "Answer",
    "Citation",
    "Found",
    "Query",
    "Ranked",
    "Reranker",
    "Retriever",
    "SearchOptions",
    "Step",
    "TimeQuery",
    "answer_with_llm",
    "check_citations",
    "citation_marker",
    "create_reranker",
    "evidence_line",
    "extractive_answer",
    "gather",
    "list_rerankers",
    "merge_hits",
    "mmr",
    "parse_time_query",
    "parse_where",
]
