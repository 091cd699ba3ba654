"""Answers with ``[video mm:ss–mm:ss]`` citations, every one checked against the retrieved evidence.

With no LLM the answer is extractive: the evidence sentences that best match the question, each followed by
the marker of the span it comes from. With an LLM (any ``prompt -> text`` callable, e.g. a LlamaIndex LLM's
``complete`` or a LangChain chat model's ``invoke`` wrapped to return text), the model writes the answer from
the same markers; a citation that matches no evidence span is removed and reported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vrag._sentences import sentences
from vrag.types import Hit

__all__ = ["Answer", "Citation", "answer_with_llm", "check_citations", "citation_marker", "extractive_answer"]

_TIME = r"(\d+(?::\d{2}){1,2}(?:\.\d+)?)"
_MARKER = re.compile(rf"\[([^\[\]]+?)\s+{_TIME}\s*[–—-]\s*{_TIME}\]")
_TOLERANCE = 0.051  # markers carry 0.1 s resolution

NOTHING = "The indexed videos do not say anything about that."
CLOSEST = "No passage answers this directly; the closest moment says:"


@dataclass(frozen=True, slots=True)
class Citation:
    """A cited span: the video's path and the seconds it covers."""

    video: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer, the citations in it (all checked), the evidence it was written from, and the citations
    that were removed because no evidence span matched them."""

    text: str
    citations: tuple[Citation, ...]
    evidence: tuple[Hit, ...]
    dropped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "citations": [{"video": c.video, "start": c.start, "end": c.end} for c in self.citations],
            "evidence": [
                {"video": h.video, "start": h.start, "end": h.end, "score": h.score, "text": h.text}
                for h in self.evidence
            ],
            "dropped_citations": list(self.dropped),
        }


def citation_marker(hit: Hit) -> str:
    """``[name.mp4 mm:ss.s–mm:ss.s]`` for a hit."""
    return hit.citation


def check_citations(text: str, evidence: Sequence[Hit]) -> tuple[str, tuple[Citation, ...], tuple[str, ...]]:
    """Keep the markers in ``text`` that fall inside an evidence span of the same video; remove the rest.

    Returns:
        The text without the removed markers, the kept citations (each evidence span once), and the removed
        markers as written.
    """
    kept: dict[tuple[str, float, float], Citation] = {}
    dropped: list[str] = []

    def judge(match: re.Match[str]) -> str:
        name, start, end = match.group(1).strip(), _seconds(match.group(2)), _seconds(match.group(3))
        hit = next((h for h in evidence if _inside(h, name, start, end)), None)
        if hit is None:
            dropped.append(match.group(0))
            return ""
        kept.setdefault((hit.video, hit.start, hit.end), Citation(hit.video, hit.start, hit.end))
        return match.group(0)

    cleaned = _MARKER.sub(judge, text)
    return (
        re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip(),
        tuple(kept.values()),
        tuple(dropped),
    )


def _inside(hit: Hit, name: str, start: float, end: float) -> bool:
    same_video = os.path.basename(hit.video) == os.path.basename(name)
    return same_video and hit.start - _TOLERANCE <= start < end <= hit.end + _TOLERANCE


def _seconds(stamp: str) -> float:
    total = 0.0
    for part in stamp.split(":"):
        total = total * 60 + float(part)
    return total


def extractive_answer(question: str, hits: Sequence[Hit], *, passages: int = 3) -> Answer:
    """Quote, from each of the best hits, the sentence sharing most words with the question, with its marker.

    Hits whose sentences share no word with the question are passed over, so weak matches do not pad the
    answer; at most ``passages`` sentences. When no sentence shares a word, the answer says so and points to
    the closest moment instead of pretending it answers.
    """
    from vrag.chunking._text import content_words

    asked = set(content_words(question))
    texts = [h for h in hits if h.text.strip()]
    lines = []
    for hit in texts:
        overlap, best = max((len(asked & set(content_words(s))), s) for s in reversed(sentences(hit.text)))
        if overlap:
            lines.append(f"{best} {citation_marker(hit)}")
        if len(lines) == passages:
            break
    if not lines and texts:
        first = sentences(texts[0].text)[0]
        lines.append(f"{CLOSEST} {first} {citation_marker(texts[0])}")
    if not lines:
        return Answer(NOTHING, (), tuple(hits))
    text, citations, dropped = check_citations(" ".join(lines), hits)
    return Answer(text, citations, tuple(hits), dropped)


PROMPT = """Answer the question using only the evidence below. After each claim, copy the marker of the
evidence it comes from exactly as written, e.g. {example}. If the evidence does not answer the question,
say so.

Evidence:
{evidence}

Question: {question}
Answer:"""


def answer_with_llm(question: str, hits: Sequence[Hit], llm: Callable[[str], str]) -> Answer:
    """Let ``llm`` write the answer from the cited evidence; citations that match no evidence are removed."""
    if not hits:
        return Answer(NOTHING, (), ())
    evidence = "\n".join(f"{citation_marker(h)} {' '.join(h.text.split())}" for h in hits)
    prompt = PROMPT.format(example=citation_marker(hits[0]), evidence=evidence, question=question)
    text, citations, dropped = check_citations(str(llm(prompt)), hits)
    return Answer(text, citations, tuple(hits), dropped)
