"""Lexical similarity of what is said in two stretches of a video: TF-IDF over content words, no dependencies.

The semantic chunker asks it whether two look-alike shots also talk about the same thing: two slides of one
template look the same to a colour embedding, but their narration shares few content words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from vrag.types import Cue

__all__ = ["TextIndex", "content_words"]

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

# English function words and filler common in speech; content words are what is left.
_STOP_TEXT = """
a about above across after again against all almost along already also although always am among an and
another any anyone anything are around as at away back be became because become been before being below
between both but by can cannot could did do does doing done down during each either else enough even ever
every few first for from further get gets getting go goes going gonna got had has have having he her here
hers herself him himself his how however i if in into is it its itself just keep know last less let lets
like look lot made make makes many may maybe me might mine more most much must my myself need never new
next no none nor not now of off often oh ok okay on once one only onto or other others our ours ourselves
out over own part per put quite rather really right said same say says see seen shall she should show
since so some something still such sure take than that the their theirs them themselves then there these
they thing things think this those through thus to today together too two under until up upon us use
used uses using very want was way we well were what whatever when where whether which while who whom
whose why will with within without would yeah yes yet you your yours yourself yourselves
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())


def content_words(text: str) -> list[str]:
    """The content words of ``text``: lower-cased, stop words and one- or two-letter words dropped, and
    reduced to a crude stem (plural and possessive endings cut) so "layers" matches "layer".

    Example:
        >>> content_words("The neurons stack into layers, and the layer's weights change.")
        ['neuron', 'stack', 'layer', 'layer', 'weight', 'change']
    """
    words = (_stem(w) for w in _WORD.findall(text.lower()))
    return [w for w in words if len(w) > 2 and w not in _STOP_WORDS]


def _stem(word: str) -> str:
    """Cut a possessive ``'s`` and a plural ending (``-ies`` → ``-y``, ``-es`` after s/x/ch/sh, ``-s``)."""
    word = word.split("'")[0]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@dataclass(frozen=True, slots=True)
class TextIndex:
    """The content words of a video's cues, with inverse document frequencies over those cues.

    A word that recurs in many of the video's sentences (the lecture's subject) weighs little; one that
    belongs to a single passage weighs a lot.

    Example:
        >>> from vrag.types import Cue
        >>> index = TextIndex.of([Cue(0, 4, "Gradient descent follows the slope."), Cue(5, 9, "Slope down.")])
        >>> round(index.similarity(index.words(0, 4.5), index.words(4.5, 9)), 2)
        0.38
    """

    cues: tuple[tuple[float, Counter[str]], ...]  # (midpoint, content words) per cue
    idf: dict[str, float]

    @classmethod
    def of(cls, cues: Sequence[Cue]) -> TextIndex:
        """Index ``cues`` (each cue is one document for the inverse document frequencies)."""
        bags = tuple(((c.start + c.end) / 2, Counter(content_words(c.text))) for c in cues)
        df: Counter[str] = Counter(w for _, bag in bags for w in bag)
        n = len(bags)
        return cls(bags, {w: math.log((1 + n) / (1 + k)) + 1.0 for w, k in df.items()})

    def words(self, start: float, end: float) -> Counter[str]:
        """Content words of the cues whose midpoint lies in ``[start, end)`` (seconds)."""
        out: Counter[str] = Counter()
        for mid, bag in self.cues:
            if start <= mid < end:
                out.update(bag)
        return out

    def similarity(self, a: Counter[str], b: Counter[str]) -> float:
        """Cosine similarity of the TF-IDF vectors of two bags of words, in [0, 1] (0 when one is empty)."""
        va = {w: k * self.idf.get(w, 1.0) for w, k in a.items()}
        vb = {w: k * self.idf.get(w, 1.0) for w, k in b.items()}
        dot = sum(x * vb.get(w, 0.0) for w, x in va.items())
        norm = math.sqrt(sum(x * x for x in va.values()) * sum(x * x for x in vb.values()))
        return dot / norm if norm > 0 else 0.0
