"""Multi-step search for answers: when the first evidence does not answer the question, search again with
sub-queries, keeping a trace of every search; bounded in steps and in time.

Step 1 searches the question itself (a relation in time in it — "what did they say about X before showing
Y?" — is already two searches: the anchor Y, then X before it; both are in the trace). While the evidence's
best moment scores below the answer threshold, and steps and time are left, the next sub-query is searched
and its hits join the evidence. Sub-queries come from the model (any ``prompt -> text`` callable) as a
JSON list, validated, or, without one or on an invalid reply, from the question: the same relation with
its target and anchor cut to their content words, or the question's parts ("X and Y") and its content
words alone.

Example:
    >>> sub_queries("what is a b-tree index and why do inserts slow down?")
    ['what is a b-tree index', 'why do inserts slow down', 'tree index insert slow']
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from vrag.errors import ConfigError, VragError
from vrag.search._answer import MIN_SUPPORT, support
from vrag.search._relations import Step
from vrag.search._temporal import TimeQuery
from vrag.types import Hit

if TYPE_CHECKING:
    from vrag.search._options import SearchOptions
    from vrag.search._retriever import Retriever

__all__ = ["MAX_STEPS", "gather", "relation_variants", "sub_queries"]

MAX_STEPS = 6
"""The most search steps one question may take."""
BUDGET_S = 30.0
"""Default time for all steps of one question; no new step starts after it."""

_PARTS = re.compile(
    r"\s*(?:;|\?|,?\s+and\s+(?=(?:what|why|how|when|where|which|who|is|are|do|does|did)\b))\s*"
)

PROMPT = """Split a question about videos into at most {n} short search queries, each findable on its own
in a transcript (no question words needed). Reply with one JSON object and nothing else:
{{"queries": ["...", "..."]}}

Question: {question}
JSON:"""


def gather(
    retriever: Retriever,
    question: str,
    options: SearchOptions,
    *,
    steps: int = 1,
    llm: Callable[[str], str] | None = None,
    budget_s: float = BUDGET_S,
    min_support: float = MIN_SUPPORT,
) -> tuple[list[Hit], tuple[Step, ...]]:
    """The evidence for ``question`` (at most ``options.k`` hits, best supported first) and the trace.

    Args:
        retriever: the index's retriever.
        question: what to answer.
        options: search options for every step (``k``, filters, rerank, ...).
        steps: search steps allowed (1: the question alone).
        llm: proposes sub-queries (validated JSON); without one they come from the question.
        budget_s: no step starts after this many seconds.
        min_support: evidence whose best moment scores this well is sufficient.

    Raises:
        ConfigError: ``steps`` outside 1..:data:`MAX_STEPS` or a non-positive budget.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ConfigError(f"steps must be a whole number within 1..{MAX_STEPS}, got {steps!r}")
    if not budget_s > 0:
        raise ConfigError(f"budget_s must be positive, got {budget_s!r}")
    started = time.perf_counter()
    trace: list[Step] = []
    found = retriever.search_traced(question, options)
    evidence = list(found.hits)
    best = support(evidence)
    trace += [*found.steps, _summary(question, "question", evidence, started, best, min_support)]
    queue = _plan(question, found.relation, llm, steps - 1) if steps > 1 else []
    for query, relation in queue[: steps - 1]:
        if best is not None and best >= min_support:
            break
        if time.perf_counter() - started > budget_s:
            trace.append(Step(query, "sub-query", note=f"not searched: the {budget_s:g} s budget is spent"))
            break
        t0 = time.perf_counter()
        more = retriever.search_traced(query, options, relation=relation)
        evidence = _merge(evidence, more.hits, options.k)
        best = support(evidence)
        trace += [*more.steps, _summary(query, "sub-query", list(more.hits), t0, best, min_support)]
    return evidence, tuple(trace)


def _summary(
    query: str, purpose: str, hits: list[Hit], since: float, best: float | None, floor: float
) -> Step:
    if best is None:
        note = "no evidence moments"
    else:
        note = f"{'sufficient' if best >= floor else 'insufficient'} evidence ({best:.2f} vs {floor:.2f})"
    return Step.of(query, purpose, hits, time.perf_counter() - since, note=note)


def _merge(evidence: Sequence[Hit], more: Sequence[Hit], k: int) -> list[Hit]:
    """Both lists, each segment once (its better-supported copy), best supported first, at most ``k``."""
    by_id: dict[str, Hit] = {}
    for hit in (*evidence, *more):
        key = hit.id or f"{hit.video_id}:{hit.start}:{hit.end}"
        old = by_id.get(key)
        if old is None or _key(hit) > _key(old):
            by_id[key] = hit
    return sorted(by_id.values(), key=_key, reverse=True)[:k]


def _key(hit: Hit) -> tuple[float, float]:
    return (hit.moment.score if hit.moment is not None else -1.0, hit.score)


def _plan(
    question: str, relation: TimeQuery | None, llm: Callable[[str], str] | None, n: int
) -> list[tuple[str, TimeQuery | None]]:
    """The searches after the first: the model's sub-queries; else, for a question with a relation in
    time, the same relation with its topics cut to their content words; else the question's parts."""
    if llm is None and relation is not None:
        return [(v.describe(), v) for v in relation_variants(relation)]
    return [(q, None) for q in sub_queries(question, llm, n=n)]


def relation_variants(relation: TimeQuery) -> list[TimeQuery]:
    """The relation again with its target, then its anchor, cut to their content words (a paraphrase that
    matched weakly as a phrase may match by its words)."""
    from dataclasses import replace

    from vrag.chunking._text import content_words

    def words(text: str | None) -> str | None:
        cut = " ".join(dict.fromkeys(content_words(text or "")))
        return cut if cut and cut != text else None

    target, anchor = words(relation.target), words(relation.anchor)
    return [
        *([replace(relation, target=target)] if target else []),
        *([replace(relation, anchor=anchor)] if anchor else []),
    ]


def sub_queries(question: str, llm: Callable[[str], str] | None = None, *, n: int = 3) -> list[str]:
    """Queries to search after the question itself: from ``llm`` (JSON, validated) or from the question."""
    if llm is not None:
        try:
            return _llm_queries(str(llm(PROMPT.format(n=n, question=question.strip()))), n)
        except (ValueError, VragError):
            pass  # an invalid reply or an unreachable model: split the question instead
    return _split(question)


def _llm_queries(reply: str, n: int) -> list[str]:
    match = re.search(r"\{.*\}", reply, flags=re.DOTALL)
    if match is None:
        raise ValueError("no JSON object in the reply")
    data = json.loads(match.group(0))
    queries = data.get("queries") if isinstance(data, dict) else None
    if set(data) != {"queries"} or not isinstance(queries, list) or not queries:
        raise ValueError(f"expected {{'queries': [...]}}, got {data!r}")
    if not all(isinstance(q, str) and q.strip() and len(q) <= 200 for q in queries):
        raise ValueError("each query must be a short non-empty text")
    return list(dict.fromkeys(q.strip() for q in queries))[:n]


def _split(question: str) -> list[str]:
    from vrag.chunking._text import content_words

    text = question.strip()
    parts = [p.strip(" ,.") for p in _PARTS.split(text) if len(content_words(p)) >= 2]
    out = parts if len(parts) > 1 else []
    words = " ".join(dict.fromkeys(content_words(text)))
    if words and words != text.lower():
        out.append(words)
    return [q for q in dict.fromkeys(out) if q.lower() != text.lower()]
