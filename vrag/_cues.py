"""Per-cue timings kept with a segment, so search can point at the moment inside it that answers a query.

A segment's payload stores its transcript as one text (``extra.speech``: the cues' texts joined by spaces,
as the chunkers join them). ``extra.cues`` adds, per cue, ``[start_s, end_s, stop]``: the cue's times and
the character offset in ``extra.speech`` where its text ends, so the cue texts are not stored twice.
At most :data:`MAX_CUES` entries: a segment with more has neighbouring cues joined (coarser, never wrong).

Example:
    >>> from vrag.types import Cue
    >>> cues = (Cue(1.0, 2.5, "Hello there."), Cue(3.0, 4.0, "Next point."))
    >>> packed = pack_cues(cues, "Hello there. Next point.")
    >>> packed
    [[1.0, 2.5, 12], [3.0, 4.0, 24]]
    >>> unpack_cues({"speech": "Hello there. Next point.", "cues": packed})
    [(1.0, 2.5, 'Hello there.'), (3.0, 4.0, 'Next point.')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vrag.types import Cue

__all__ = ["MAX_CUES", "pack_cues", "unpack_cues"]

MAX_CUES = 64
"""Cue entries kept per segment (payload size: ~25 bytes each)."""

TimedText = tuple[float, float, str]


def pack_cues(cues: Sequence[Cue], text: str, *, limit: int = MAX_CUES) -> list[list[float | int]]:
    """``[[start, end, stop], ...]`` for the cues behind ``text`` (``[]`` when they are not found in it)."""
    spans: list[list[float | int]] = []
    at = 0
    for cue in cues:
        words = cue.text.strip()
        if not words:
            continue
        found = text.find(words, at)
        if found < 0:
            return []  # text not made from these cues: store nothing rather than wrong offsets
        at = found + len(words)
        spans.append([round(cue.start, 3), round(cue.end, 3), at])
    while len(spans) > limit:  # join neighbours pairwise until it fits
        spans = [_join(spans[i : i + 2]) for i in range(0, len(spans), 2)]
    return spans


def _join(pair: list[list[float | int]]) -> list[float | int]:
    return [pair[0][0], max(p[1] for p in pair), pair[-1][2]]


def unpack_cues(extra: Mapping[str, Any]) -> list[TimedText]:
    """``(start, end, text)`` of each stored cue of a segment (``[]`` for segments stored without cues,
    e.g. by an older vrag, or with malformed entries)."""
    speech, spans = extra.get("speech"), extra.get("cues")
    if not isinstance(speech, str) or not isinstance(spans, list):
        return []
    out: list[TimedText] = []
    at = 0
    try:
        for start, end, stop in spans:
            words = speech[at : int(stop)].strip()
            at = int(stop)
            if words and float(end) >= float(start):
                out.append((float(start), float(end), words))
    except (TypeError, ValueError):
        return []
    return out
