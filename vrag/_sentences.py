"""Sentences: the one splitter the rerankers, the extractive answers and the subtitle reader share.

A text is cut at line breaks first (OCR lines and subtitle lines often carry no punctuation of their own),
then each line by ``sentencex`` (Wikimedia's rule-based segmenter, ~300 languages, Rust core): unlike a
punctuation regex it keeps "e.g. the", "Dr. Ebbinghaus" and "U.S. data" whole.

Example:
    >>> sentences("Dr. Ebbinghaus measured it in 1885. The curve drops fast!\\nSlide two: the curve")
    ['Dr. Ebbinghaus measured it in 1885.', 'The curve drops fast!', 'Slide two: the curve']
    >>> ends_sentence("and then it stops."), ends_sentence("and then it")
    (True, False)
"""

from __future__ import annotations

import re

__all__ = ["ends_sentence", "sentences"]

_END = re.compile(r"[.!?…。！？]['\"”’)\]»]*$")
"""Final punctuation, then any closing quotes or brackets."""


def sentences(text: str, language: str = "en") -> list[str]:
    """The non-empty sentences of ``text`` (line breaks always end one), stripped, in order.

    Args:
        text: evidence text (transcript, on-screen text).
        language: an ISO 639 code: abbreviations differ between languages (unknown codes fall back to
            sentencex's defaults).
    """
    from sentencex import segment

    lines = (line for line in text.splitlines() if line.strip())
    return [s.strip() for line in lines for s in segment(language, line) if s.strip()]


def ends_sentence(text: str) -> bool:
    """Whether ``text`` ends with final punctuation (``. ! ? …`` and CJK stops, closing quotes allowed)."""
    return _END.search(text.rstrip()) is not None
