"""Relations in time: "right after the part about X", "between X and Y", "the first time they mention X",
"in the last five minutes" — read from a query without a model, or by an LLM as validated JSON.

A :class:`TimeQuery` says which relation, its ``anchor`` (the part the relation is measured from), an
optional ``target`` (what to look for there; none: whatever is there), the second anchor of ``between``,
and the window of ``start`` / ``end``. The :class:`~vrag.search.Retriever` finds the anchor, applies the
relation inside the anchor's video, and ranks the targets (:mod:`vrag.search._relations`).

The parser is deliberately narrow: a relation word counts only with the shape of a question about a video
("the part about ...", "they mention ...", "what comes after ..."), so topic queries that merely contain
"before", "first" or "between" ("staying up all night before an exam") stay plain searches.

Example:
    >>> parse_time_query("what comes right after the part about gradient descent?").describe()
    "right after 'gradient descent'"
    >>> parse_time_query("what did they say about dropout before showing batch normalisation?").describe()
    "before 'batch normalisation', about 'dropout'"
    >>> parse_time_query("staying up all night before an exam") is None
    True
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

log = logging.getLogger(__name__)

__all__ = [
    "RELATIONS",
    "Relation",
    "TimeQuery",
    "clock_window",
    "decompose",
    "parse_llm_reply",
    "parse_time_query",
]

Relation = Literal["after", "before", "between", "first", "last", "start", "end"]
RELATIONS: tuple[str, ...] = ("after", "before", "between", "first", "last", "start", "end")
ANCHORED = frozenset({"after", "before", "between", "first", "last"})
"""Relations measured from an anchor found by search."""


@dataclass(frozen=True, slots=True)
class TimeQuery:
    """A query with a relation in time.

    Attributes:
        relation: ``after`` / ``before`` the anchor, ``between`` the anchor and ``until``, the ``first`` /
            ``last`` segment that mentions the anchor, or the ``start`` / ``end`` of a video.
        anchor: what the relation is measured from (``None`` for ``start`` / ``end``).
        target: what to find inside the relation's window (``None``: whatever is there, nearest first).
        until: the second anchor of ``between``.
        seconds: the window of ``start`` / ``end`` ("in the last five minutes": 300); ``None``: the first
            or last segment, or the first / last fifth of the video when a target is given.
        immediate: "right after", "just before": the nearest segment, not any later one.
    """

    relation: Relation
    anchor: str | None = None
    target: str | None = None
    until: str | None = None
    seconds: float | None = None
    immediate: bool = False

    def __post_init__(self) -> None:
        from vrag.errors import ConfigError

        if self.relation not in RELATIONS:
            raise ConfigError(f"relation must be one of {', '.join(RELATIONS)}, got {self.relation!r}")
        if (self.relation in ANCHORED) != bool(self.anchor):
            need = "needs" if self.relation in ANCHORED else "takes no"
            raise ConfigError(f"relation {self.relation!r} {need} an anchor")
        if (self.relation == "between") != bool(self.until):
            raise ConfigError("'between' needs both ends (anchor and until); other relations take no until")
        if self.seconds is not None and (
            self.relation not in ("start", "end") or not (math.isfinite(self.seconds) and self.seconds > 0)
        ):
            raise ConfigError("seconds is a positive window length for 'start' or 'end'")

    def describe(self) -> str:
        """A short human reading, e.g. ``right after 'gradient descent'``."""
        near = "right " if self.immediate and self.relation == "after" else ""
        near = "just " if self.immediate and self.relation == "before" else near
        if self.relation in ("after", "before"):
            text = f"{near}{self.relation} {self.anchor!r}"
        elif self.relation == "between":
            text = f"between {self.anchor!r} and {self.until!r}"
        elif self.relation in ("first", "last"):
            text = f"{self.relation} mention of {self.anchor!r}"
        else:
            edge = "start" if self.relation == "start" else "end"
            text = f"the {edge}" if self.seconds is None else f"the {'first' if edge == 'start' else 'last'} "
            text += "" if self.seconds is None else _duration(self.seconds)
        return text + (f", about {self.target!r}" if self.target else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "relation": self.relation, "anchor": self.anchor, "target": self.target, "until": self.until,
            "seconds": self.seconds, "immediate": self.immediate,
        }  # fmt: skip


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds:g} s"


# ---------------------------------------------------------------------------------------------- the parser

_MEDIA = (
    r"(?:talk|video|lecture|presentation|clip|recording|session|class|course|episode|film|movie|meeting|"
    r"webinar|seminar|tutorial|keynote|show|podcast|interview|demo)"
)
_SUBJ = rf"(?:they|he|she|we|you|someone|the (?:speaker|lecturer|presenter|teacher|host|narrator|{_MEDIA}))"
_VERB = (
    r"(?:talk(?:s|ed)? about|speak(?:s)? about|spoke about|discuss(?:es|ed)?|mention(?:s|ed)?|"
    r"show(?:s|ed|n)?|explain(?:s|ed)?|cover(?:s|ed)?|introduce[sd]?|present(?:s|ed)?|describe[sd]?|"
    r"bring(?:s)? up|brought up|say(?:s)?|said|get(?:s)? to|got to|go(?:es)? (?:over|through)|"
    r"went (?:over|through)|start(?:s|ed)? (?:talking about|discussing|explaining|showing)|"
    r"first (?:mention(?:s|ed)?|talk(?:s|ed)? about))"
)
_ING = (
    r"(?:talking about|speaking about|discussing|mentioning|showing|explaining|covering|introducing|"
    r"presenting|describing|bringing up|getting to|going (?:over|through))"
)
_PART = (
    r"(?:part|section|bit|segment|slide|moment|portion|passage|chapter|discussion|explanation|mention|"
    r"point|scene|shot|demo|topic)s?"
)
_LEAD = re.compile(
    rf"^(?:(?:the|that|this|a)\s+)?{_PART}\b\s*(?:(?:about|on|of|regarding|covering|with|where|when|that|"
    rf"which)\s+)?(?:{_SUBJ}\s+)?(?:{_VERB}\s+)?|^{_SUBJ}\s+{_VERB}\s+|^{_ING}\s+"
)
_QUESTION = re.compile(r"^(?:and\s+|so\s+)?(?:what|which|who|where|how|when)\b")
_SAYS = re.compile(rf"^(?:what|which|how|when|where|why)\b.*\b{_SUBJ}\s+(?:\w+\s+)?{_VERB}\b")

_ORDER = re.compile(
    r"\b(?:(?P<imm>right|just|immediately|directly|shortly|straight|next|soon)\s+)?"
    r"(?P<kw>after|before|following|preceding|prior to|earlier than|later than|ahead of|leading up to|"
    r"follows|followed|precedes|preceded)\s+(?P<rest>.+)$"
)
_AFTER_WORDS = frozenset({"after", "following", "later than", "follows", "followed"})
_VERB_KW = frozenset({"follows", "followed", "precedes", "preceded"})
_BETWEEN = re.compile(r"\bbetween\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$")
_MENTION = (
    re.compile(
        rf"\b(?:the\s+)?(?P<which>first|last|final|earliest|latest)\s+(?:time|mention|moment|place)\b\s*"
        rf"(?:(?:that|where|when)\s+)?(?:{_SUBJ}\s+)?(?:{_VERB}\s+)?(?P<x>.*)$"
    ),
    re.compile(rf"\b(?:do|does|did)\s+{_SUBJ}\s+(?P<which>first|last)\s+{_VERB}\s+(?P<x>.+)$"),
    re.compile(
        r"^(?:when|where)\s+(?:is|are|was|were)\s+(?P<x>.+?)\s+(?P<which>first|last)\s+(?:mentioned|"
        r"discussed|shown|explained|covered|introduced|brought up|talked about)$"
    ),
)
_EDGE = (
    re.compile(
        rf"\b(?:at|near|in|towards?|by|during|from)\s+the\s+(?:very\s+)?(?P<edge>start|beginning|opening|"
        rf"outset|end|ending|close|conclusion)\s+of\s+(?:the|this|that|her|his|their)\s+{_MEDIA}\b"
    ),
    re.compile(
        rf"\bhow\s+(?:does|did)\s+(?:the|this|that)\s+{_MEDIA}\s+(?P<edge>start|begin|open|end|finish|close|"
        r"conclude)\b"
    ),
)
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45,
    "fifty": 50, "sixty": 60, "ninety": 90, "few": 3, "couple of": 2, "half a": 0.5, "half an": 0.5,
}  # fmt: skip
_WINDOW = re.compile(
    r"\b(?:in|during|within|over|from)\s+the\s+(?P<edge>first|last|final|opening|closing)\s+"
    rf"(?:(?P<n>\d+(?:\.\d+)?|{'|'.join(sorted(_NUMBERS, key=len, reverse=True))})\s+)?"
    r"(?P<unit>seconds?|secs?|minutes?|mins?|hours?)\b"
)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_START_EDGES = frozenset({"start", "beginning", "opening", "outset", "begin", "open", "first"})

_FILLER = frozenset(
    re.findall(
        r"\w+",
        """what which who whom where when how why whether is are was were be been being do does did done
        they he she we you i it its there here the a an this that these those speaker lecturer presenter
        teacher host narrator video talk lecture presentation clip recording say says said saying tell
        tells told talks talked talking speak speaks spoke speaking discuss discusses discussed
        discussing mention mentions mentioned mentioning show shows showed shown showing explain
        explains explained explaining cover covers covered covering come comes came coming happen
        happens happened happening follow follows followed next part parts section sections bit bits
        segment segments slide slides moment moments portion about on of regarding concerning exactly
        anything something everything thing things topic topics subject get gets got go goes went over
        through up brought bring introduce introduced introduces introducing present presented presents
        presenting describe described describes describing can could would will me us please again then
        also any ever in at to for and so right just point points content contents discussion
        explanation""",
    )
)


def parse_time_query(text: str) -> TimeQuery | None:
    """The relation in time a query asks about, or ``None`` for a plain query (searched as it is).

    Understood: "(right/just) after / before / following / earlier than <the part about X | they mention
    X | showing X>", "what comes after X", "what did they say about T before showing X", "between X and
    Y", "the first / last time they mention X", "when do they first mention X", "at the start / end of
    the talk", "in the first / last N minutes / seconds".
    """
    t = _normal(text)
    if clock_window(t) is not None:  # "after 1:30" is a time on the clock, not a part to find
        return None
    for rule in (_mention, _between, _order, _window):
        found = rule(t)
        if found is not None:
            return found
    return None


_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?"
_CLOCK_AFTER = ("after", "since", "past", "from", "later than")
_CLOCK_BEFORE = ("before", "until", "till", "up to", "by", "earlier than")
_AT_CLOCK = re.compile(
    rf"\b(?P<kw>{'|'.join(_CLOCK_AFTER + _CLOCK_BEFORE)})\s+(?:the\s+)?(?P<t>{_CLOCK})(?:\s+mark)?(?![\d:])"
)
_CLOCK_SPAN = re.compile(
    rf"\b(?:between|from)\s+(?P<a>{_CLOCK})\s+(?:and|to|until)\s+(?P<b>{_CLOCK})(?![\d:])"
)


_DURATION = re.compile(r"[\d.]+(?:\s*(?:s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?))?")


def clock_window(text: str) -> tuple[float | None, float | None, str] | None:
    """Times on the video's clock a query names ("after 1:30", "before 12:00", "between 2:00 and 3:30"):
    ``(after, before, the query without them)`` in seconds, or ``None`` when it names none.

    Example:
        >>> clock_window("what do they say after 1:30?")
        (90.0, None, 'what do they say ?')
    """
    from vrag._format import parse_time

    span = _CLOCK_SPAN.search(text)
    if span is not None:
        words = " ".join((text[: span.start()] + text[span.end() :]).split())
        return parse_time(span["a"]), parse_time(span["b"]), words
    after: float | None = None
    before: float | None = None
    rest = text
    for m in reversed(list(_AT_CLOCK.finditer(text))):
        t = parse_time(m["t"])
        if m["kw"] in _CLOCK_AFTER:
            after = t if after is None else max(after, t)
        else:
            before = t if before is None else min(before, t)
        rest = rest[: m.start()] + rest[m.end() :]
    return None if after is None and before is None else (after, before, " ".join(rest.split()))


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split()).strip(" ?!.;:")


def _topic(text: str) -> str | None:
    """The topic words of a phrase: filler ("what do they say about", "the part on", "is mentioned") cut
    from both ends; ``None`` when nothing is left."""
    words = re.sub(r"[?!.,;:\"“”]+", " ", text).split()
    while words and words[0] in _FILLER:
        words.pop(0)
    while words and words[-1] in _FILLER:
        words.pop()
    return " ".join(words) or None


def _anchor(rest: str) -> tuple[str | None, bool, str]:
    """(the anchor's topic, whether a lead such as "the part about" introduced it, text after a comma)."""
    head, _, tail = rest.partition(",")
    lead = _LEAD.match(head)
    return _topic(head[lead.end() :] if lead else head), bool(lead and lead.end() > 0), tail


def _licensed(left: str, led: bool, target: str | None) -> bool:
    """A relation word counts when its anchor is introduced ("the part about", "showing"), or the query
    is a question about what is said or what comes there."""
    return led or (target is None and bool(_QUESTION.match(left))) or bool(_SAYS.match(left))


def _order(t: str) -> TimeQuery | None:
    for m in _ORDER.finditer(t):
        left, kw = t[: m.start()].strip(), m.group("kw")
        if kw in _VERB_KW and not _QUESTION.match(left):
            continue  # "followers", "the road followed by": only "what follows X" counts
        anchor, led, tail = _anchor(m.group("rest"))
        target = _topic(left) or _topic(tail)
        if anchor and _DURATION.fullmatch(anchor):
            continue  # "after 30 seconds": a length of time, not a part of the talk
        if anchor and _licensed(left, led, _topic(left)):
            relation: Relation = "after" if kw in _AFTER_WORDS else "before"
            immediate = m.group("imm") is not None or kw in _VERB_KW
            return TimeQuery(relation, anchor, target, immediate=immediate)
    return None


def _between(t: str) -> TimeQuery | None:
    m = _BETWEEN.search(t)
    if m is None:
        return None
    left = t[: m.start()].strip()
    first, led, _ = _anchor(m.group("a"))
    second, _, tail = _anchor(m.group("b"))
    target = _topic(left) or _topic(tail)
    if not (first and second and _licensed(left, led, _topic(left))):
        return None
    return TimeQuery("between", first, target, until=second)


def _mention(t: str) -> TimeQuery | None:
    for pattern in _MENTION:
        m = pattern.search(t)
        if m is None:
            continue
        anchor, _, _ = _anchor(m.group("x"))
        if anchor:
            return TimeQuery("first" if m.group("which") in ("first", "earliest") else "last", anchor)
    return None


def _window(t: str) -> TimeQuery | None:
    for pattern in (*_EDGE, _WINDOW):
        m = pattern.search(t)
        if m is None:
            continue
        edge: Relation = "start" if m.group("edge") in _START_EDGES else "end"
        seconds = _seconds(m) if pattern is _WINDOW else None
        return TimeQuery(edge, target=_topic(t[: m.start()] + " " + t[m.end() :]), seconds=seconds)
    return None


def _seconds(m: re.Match[str]) -> float:
    n = m.group("n")
    count = 1.0 if n is None else float(_NUMBERS[n]) if n in _NUMBERS else float(n)
    return count * _UNITS[m.group("unit")[0]]


# ---------------------------------------------------------------------------------------------- with an LLM

PROMPT = """Read a question about videos and say whether it asks about a relation in time.
Reply with one JSON object and nothing else, with these keys:
  "relation": one of "after", "before", "between", "first", "last", "start", "end", or null (no relation),
  "anchor": the topic the relation is measured from (after/before/between/first/last), else null,
  "target": what to find there, or null if the question asks for whatever is there,
  "until": the second topic of "between", else null,
  "seconds": the window of "start"/"end" in seconds (e.g. "last five minutes" = 300), else null,
  "immediate": true for "right after"/"just before", else false.
Topics are short noun phrases copied from the question.

Question: {question}
JSON:"""

_KEYS = frozenset({"relation", "anchor", "target", "until", "seconds", "immediate"})


def parse_llm_reply(reply: str) -> TimeQuery | None:
    """The :class:`TimeQuery` in a model's JSON reply (``None`` when it says there is no relation).

    Raises:
        ValueError: the reply is not one JSON object with exactly the expected keys and valid values.
    """
    match = re.search(r"\{.*\}", reply, flags=re.DOTALL)
    if match is None:
        raise ValueError("no JSON object in the reply")
    data = json.loads(match.group(0))
    if not isinstance(data, dict) or set(data) - _KEYS or "relation" not in data:
        raise ValueError(f"expected the keys {sorted(_KEYS)}, got {data!r}")
    if data["relation"] is None:
        return None
    fields = {k: _field(k, data.get(k)) for k in _KEYS}
    from vrag.errors import ConfigError

    try:
        return TimeQuery(**fields)
    except ConfigError as err:
        raise ValueError(str(err)) from err


def _field(key: str, value: Any) -> Any:
    if key == "immediate":
        if not isinstance(value, bool | None):
            raise ValueError(f"immediate must be true or false, got {value!r}")
        return bool(value)
    if key == "seconds":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"seconds must be a number, got {value!r}")
        return None if value is None else float(value)
    if key == "relation":
        if value not in RELATIONS:
            raise ValueError(f"unknown relation {value!r}")
        return cast(Relation, value)
    if value is not None and (not isinstance(value, str) or len(value) > 200):
        raise ValueError(f"{key} must be a short text, got {value!r}")
    return _topic(value.lower()) if value else None


_HINT = re.compile(
    r"\b(?:after|before|follow\w*|preced\w*|prior|earlier|later|between|first|last|final|start\w*|"
    r"begin\w*|end\w*|open\w*|clos\w*|conclu\w*|minutes?|seconds?|hours?|next|previous|then|until)\b",
    re.IGNORECASE,
)


def decompose(text: str, llm: Callable[[str], str] | None = None) -> TimeQuery | None:
    """The relation in ``text``: read by ``llm`` (a ``prompt -> text`` callable) when given and the text
    has a word about time in it, validated; by :func:`parse_time_query` otherwise, or when the model's
    reply is not valid or the model cannot be reached."""
    from vrag.errors import VragError

    if llm is not None and _HINT.search(text):
        try:
            return parse_llm_reply(str(llm(PROMPT.format(question=text.strip()))))
        except (ValueError, VragError) as err:  # invalid reply, or the model is down: the parser decides
            log.info("relation not read by the model (%s); using the parser", err)
    return parse_time_query(text)
