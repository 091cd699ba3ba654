"""Answers with ``[video mm:ss–mm:ss]`` citations, every one checked against the retrieved evidence.

With no LLM the answer is extractive: the moments (cues) of the evidence that answer the question, each
followed by the marker of its exact span. With an LLM (any ``prompt -> text`` callable, e.g. a LlamaIndex
LLM's ``complete`` or a LangChain chat model's ``invoke`` wrapped to return text), the model writes the
answer from the same markers; a citation that matches no evidence span is removed and reported, and so is a
sentence left without a verified citation.

Both abstain ("Not found in the indexed videos.", no citation) when the best moment of the evidence matches
the question less than :data:`MIN_SUPPORT` (a cosine of the index's text encoder, comparable across
questions), and neither pads an answer with a passage that does not match.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vrag._sentences import sentences
from vrag.search._relations import Step
from vrag.types import Hit

__all__ = [
    "MIN_SUPPORT",
    "NOTHING",
    "Answer",
    "Citation",
    "abstain",
    "answer_with_llm",
    "check_citations",
    "citation_marker",
    "evidence_line",
    "extractive_answer",
    "support",
]

_TIME = r"(\d+(?::\d{2}){1,2}(?:\.\d+)?)"
_MARKER = re.compile(rf"\[([^\[\]]+?)\s+{_TIME}\s*[–—-]\s*{_TIME}\]")
_TOLERANCE = 0.051  # markers carry 0.1 s resolution
_LEADING_MARKERS = re.compile(rf"^(?:{_MARKER.pattern}[\s.,;:]*)+")

NOTHING = "Not found in the indexed videos."
MIN_SUPPORT = 0.373
"""Answers abstain when no evidence moment matches the question at least this well (cosine of the bundled
MiniLM text encoder; a moment holding every content word of the question counts 1.0). Chosen on the training
split of ``vrag eval timeaware`` (the threshold with the best balanced abstention accuracy there, reported as
``calibration.abstention.moment``; held-out figures in BENCHMARKS.md). Another text encoder has another
scale: pass ``min_support`` (``ask(..., min_support=...)``)."""
PASSAGE_MARGIN = 0.0
"""A further passage joins an extractive answer only when its moment scores within this much of the best
(0: only passages as good as the best, e.g. each moment that names every word of the question). Chosen on
the training split of ``vrag eval timeaware`` (citation F1 at margins 0 / 0.02 / 0.05 / 0.1 / 0.2, reported
as ``calibration.passage_margin``)."""


@dataclass(frozen=True, slots=True)
class Citation:
    """A cited span (an evidence segment, or a moment inside one): the video's path and its seconds."""

    video: str
    start: float
    end: float

    @property
    def marker(self) -> str:
        """``[name.mp4 mm:ss.s–mm:ss.s]``, as the answer text writes it."""
        return Hit(self.video, "", self.start, self.end, 0.0).citation

    def media_url(self, base: str | None = None) -> str:
        """A playable URL of the cited seconds (see :meth:`vrag.types.Hit.media_url`)."""
        return Hit(self.video, "", self.start, self.end, 0.0).media_url(base)


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer and how it was reached.

    Attributes:
        text: the answer, with ``[video mm:ss–mm:ss]`` markers (or :data:`NOTHING`).
        citations: the spans it cites (all checked against the evidence).
        evidence: the hits it was written from.
        dropped: citations removed because no evidence span matched them.
        removed: sentences of a model's answer removed because no verified citation backed them.
        abstained: whether it says the videos do not answer the question.
        support: the best evidence moment's score (what abstention is judged on), if known.
        trace: the searches made (for ``ask(..., steps=N)`` and questions with a relation in time).
    """

    text: str
    citations: tuple[Citation, ...]
    evidence: tuple[Hit, ...]
    dropped: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    abstained: bool = False
    support: float | None = None
    trace: tuple[Step, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields: the answer, its citations, the evidence (with each hit's moment and relation),
        the removed citations, whether it abstained, the support it was judged on, and the search steps."""
        evidence = [
            {
                "video": h.video, "start": h.start, "end": h.end, "score": h.score, "text": h.text,
                "moment": h.moment.to_dict() if h.moment is not None else None, "relation": h.relation,
            }
            for h in self.evidence
        ]  # fmt: skip
        return {
            "answer": self.text,
            "citations": [{"video": c.video, "start": c.start, "end": c.end} for c in self.citations],
            "evidence": evidence,
            "dropped_citations": list(self.dropped),
            "removed_claims": list(self.removed),
            "abstained": self.abstained,
            "support": self.support,
            "trace": [step.to_dict() for step in self.trace],
        }


def citation_marker(hit: Hit) -> str:
    """``[name.mp4 mm:ss.s–mm:ss.s]`` for a hit."""
    return hit.citation


def check_citations(text: str, evidence: Sequence[Hit]) -> tuple[str, tuple[Citation, ...], tuple[str, ...]]:
    """Keep the markers in ``text`` that fall inside an evidence span of the same video; remove the rest.

    Returns:
        The text without the removed markers, the kept citations (each cited span once, with the exact times
        of the hit's moment or span it names; else the marker's own times), and the removed markers as
        written.
    """
    kept: dict[tuple[str, float, float], Citation] = {}
    dropped: list[str] = []

    def judge(match: re.Match[str]) -> str:
        name, start, end = match.group(1).strip(), _seconds(match.group(2)), _seconds(match.group(3))
        hit = next((h for h in evidence if _inside(h, name, start, end)), None)
        if hit is None:
            dropped.append(match.group(0))
            return ""
        exact = _exact(hit, start, end)
        kept.setdefault((hit.video, *exact), Citation(hit.video, *exact))
        return match.group(0)

    cleaned = _MARKER.sub(judge, text)
    return (
        re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip(),
        tuple(kept.values()),
        tuple(dropped),
    )


def _exact(hit: Hit, start: float, end: float) -> tuple[float, float]:
    """The exact span a marker (0.1 s resolution) names: the hit's moment or its whole span when the
    marker is theirs, else the marker's own times."""
    spans = [hit.cited, (hit.start, hit.end)]
    return next(
        (s for s in spans if abs(s[0] - start) <= _TOLERANCE and abs(s[1] - end) <= _TOLERANCE), (start, end)
    )


def _inside(hit: Hit, name: str, start: float, end: float) -> bool:
    same_video = os.path.basename(hit.video) == os.path.basename(name)
    return same_video and hit.start - _TOLERANCE <= start < end <= hit.end + _TOLERANCE


def _seconds(stamp: str) -> float:
    total = 0.0
    for part in stamp.split(":"):
        total = total * 60 + float(part)
    return total


def support(hits: Sequence[Hit]) -> float | None:
    """How well the evidence answers: the best moment score among ``hits`` (``None`` when none has a
    moment, e.g. hits made by hand or an index without a text encoder)."""
    scores = [h.moment.score for h in hits if h.moment is not None]
    return max(scores) if scores else None


def abstain(hits: Sequence[Hit], best: float | None = None) -> Answer:
    """The answer that says the videos do not answer: no citation."""
    return Answer(NOTHING, (), tuple(hits), abstained=True, support=best)


def extractive_answer(
    question: str, hits: Sequence[Hit], *, passages: int = 3, min_support: float = MIN_SUPPORT,
    margin: float = PASSAGE_MARGIN,
) -> Answer:  # fmt: skip
    """Quote the moments that answer ``question``, each with the marker of its exact span.

    With moments (what ``search`` gives): abstains when the best moment scores below ``min_support``;
    otherwise quotes, best first, the moments within ``margin`` of the best (at most
    ``passages``; one for hits ranked by a relation in time). Without moments: the sentence of each hit
    sharing most words with the question; abstains when no sentence shares one.
    """
    best = support(hits)
    if best is None:
        return _lexical_answer(question, hits, passages)
    if best < min_support:
        return abstain(hits, best)
    floor = max(min_support, best - margin)
    chosen = sorted(
        (h for h in hits if h.moment is not None and h.moment.score >= floor and h.moment.text.strip()),
        key=lambda h: -(h.moment.score if h.moment is not None else 0.0),
    )
    if hits[0].relation is not None:
        chosen = chosen[:1]  # a relation ranked its hits (nearest, first mention): quote its answer only
    quotes = (f"{h.moment.text.strip()} {h.citation}" for h in chosen if h.moment is not None)
    lines = list(dict.fromkeys(quotes))[:passages]
    text, citations, dropped = check_citations(" ".join(lines), hits)
    return Answer(text, citations, tuple(hits), dropped, support=best)


def _lexical_answer(question: str, hits: Sequence[Hit], passages: int) -> Answer:
    from vrag.chunking._text import content_words

    asked = set(content_words(question))
    lines = []
    for hit in (h for h in hits if h.text.strip()):
        overlap, best = max((len(asked & set(content_words(s))), s) for s in reversed(sentences(hit.text)))
        if overlap:
            lines.append(f"{best} {citation_marker(hit)}")
        if len(lines) == passages:
            break
    if not lines:
        return abstain(hits)
    text, citations, dropped = check_citations(" ".join(lines), hits)
    return Answer(text, citations, tuple(hits), dropped)


PROMPT = """Answer the question using only the evidence below. After each claim, copy the marker of the
evidence it comes from exactly as written, e.g. {example}; when the claim comes from a "best match" line,
copy that line's marker. If the evidence does not answer the question, say so.

Evidence:
{evidence}

Question: {question}
Answer:"""


def _claims(text: str) -> list[str]:
    """The sentences of an answer, markers written after a sentence's full stop kept with that sentence
    ("Claim. [a.mp4 00:01.0–00:02.0]")."""
    claims: list[str] = []
    for part in sentences(text):
        lead = _LEADING_MARKERS.match(part)
        if lead and claims:
            claims[-1] += " " + lead.group(0).strip()
            part = part[lead.end() :].strip()
        if part:
            claims.append(part)
    return claims


def evidence_line(hit: Hit, *, relation: bool = False, empty: str = "(no text)") -> str:
    """A hit as a model should read it: its text under the whole span's marker, then its moment (the part
    that answers) under the moment's own marker, and with ``relation`` the relation that produced it.

    Example:
        >>> from vrag.types import Hit, Moment
        >>> moment = Moment(5.0, 8.0, "Dogs bark.", 0.7)
        >>> hit = Hit("a.mp4", "a", 0.0, 9.0, 0.8, "Cats purr. Dogs bark.", moment=moment)
        >>> print(evidence_line(hit))
        [a.mp4 00:00.0–00:09.0] Cats purr. Dogs bark.
          best match [a.mp4 00:05.0–00:08.0] Dogs bark.
    """
    line = f"{hit.segment_citation} {' '.join(hit.text.split()) or empty}"
    moment = hit.moment
    if moment is not None and (moment.start, moment.end) != (hit.start, hit.end) and moment.text.strip():
        line += f"\n  best match {hit.citation} {' '.join(moment.text.split())}"
    if relation and hit.relation:
        line += f"\n  ({hit.relation})"
    return line


def answer_with_llm(
    question: str, hits: Sequence[Hit], llm: Callable[[str], str], *, min_support: float = MIN_SUPPORT
) -> Answer:
    """Let ``llm`` write the answer from the cited evidence. Citations that match no evidence are removed,
    and so is every sentence left without a verified citation (nothing left: the answer abstains). When the
    evidence's best moment scores below ``min_support`` the model is not asked: the answer abstains."""
    best = support(hits)
    if not hits or (best is not None and best < min_support):
        return abstain(hits, best)
    evidence = "\n".join(evidence_line(h) for h in hits)
    prompt = PROMPT.format(example=hits[0].segment_citation, evidence=evidence, question=question)
    text, citations, dropped = check_citations(str(llm(prompt)), hits)
    claims = _claims(text)
    cited = [s for s in claims if _MARKER.search(s)]
    removed = tuple(s for s in claims if not _MARKER.search(s))
    if not cited:
        return Answer(NOTHING, (), tuple(hits), dropped, removed, abstained=True, support=best)
    return Answer(" ".join(cited), citations, tuple(hits), dropped, removed, support=best)
