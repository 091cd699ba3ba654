"""``SearchOptions``: every search setting in one frozen, keyword-only value, validated once.

The CLI, the service and the framework adapters translate their own words into these fields and let this
class judge them; nothing downstream re-checks.

Example:
    >>> from vrag.search import SearchOptions
    >>> opts = SearchOptions(k=3, video="talk.mp4", after="1:30")
    >>> opts.video, opts.after
    (('talk.mp4',), 90.0)
    >>> SearchOptions.from_mapping({"k": 2, "per_vidoe": 1})
    Traceback (most recent call last):
    ...
    vrag.errors.ConfigError: unknown search option 'per_vidoe' (did you mean 'per_video'?); ...
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from vrag._format import parse_time
from vrag.errors import ConfigError
from vrag.store._filters import check_payload_filter
from vrag.store._query import Fusion

if TYPE_CHECKING:
    from vrag.search._rerank import Reranker

__all__ = ["SearchOptions", "parse_where"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchOptions:
    """How to search: how many hits, which videos and times, which channels, and what to do with the hits.

    Attributes:
        k: how many hits.
        video: only these videos (indexed paths, file names as citations show them, or video ids).
        after: only segments starting at or after this time (seconds, or ``"m:ss"``).
        before: only segments ending at or before this time.
        where: payload filter, field → value or list of values (any matches): ``video_id``, ``video`` or
            a field stored with the segments (``speech``, ``ocr``, ...). Values are str or int.
        channels: search only these channels (``vrag info`` lists them), e.g. ``("bm25",)``.
        weights: channel → RRF weight (Qdrant's meaning: a channel's ranks are divided by its weight).
        fusion: ``"dbsf"`` (the default: each channel's scores standardised, then summed; measured better
            than RRF on our retrieval eval) or ``"rrf"`` (the default when ``weights`` are given).
        hierarchical: pick videos by their video-level vectors first (``None``: when the index has them
            for every video, holds more than ``top_videos`` videos and no payload/time filter is set).
        top_videos: videos each channel nominates in the hierarchical first stage.
        rerank: a reranker name (``vrag.search.list_rerankers()``) or instance; rescores the candidates.
        mmr: diversity in [0, 1] (maximal marginal relevance over the candidates).
        per_video: at most this many hits from one video.
        candidates: hits fetched before rerank / MMR / per-video caps (default ``max(3k, 30)`` when one of
            those is on, else ``k``).
        expand: widen each hit by this many neighbour segments on each side (context for answers).
        merge: join hits of one video that touch or overlap into one span.
        temporal: read relations in time from a text query ("right after the part about X", "the first
            time they mention X", "in the last five minutes"; see ``vrag.search.parse_time_query``) and
            answer them inside the anchor's video. ``False``: search the words as they are.
        decomposer: a ``prompt -> text`` callable (an LLM, e.g. ``vrag.llm.ChatClient``) that reads the
            relation as JSON (validated; the built-in parser decides when the reply is invalid). Asked
            only for queries with a word about time in them.
        moments: find each hit's :class:`~vrag.types.Moment` (the cue that best matches, with the index's
            text encoder; ~1 ms per hit once its cues are cached).
    """

    k: int = 10
    video: tuple[str, ...] | None = None
    after: float | None = None
    before: float | None = None
    where: Mapping[str, Any] | None = None
    channels: tuple[str, ...] | None = None
    weights: Mapping[str, float] | None = None
    fusion: Fusion | None = None
    hierarchical: bool | None = None
    top_videos: int = 20
    rerank: str | Reranker | None = None
    mmr: float | None = None
    per_video: int | None = None
    candidates: int | None = None
    expand: int = 0
    merge: bool = False
    temporal: bool = True
    decomposer: Callable[[str], str] | None = None
    moments: bool = True

    def __post_init__(self) -> None:
        fix = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        fix("k", _count("k", self.k))
        fix("top_videos", _count("top_videos", self.top_videos))
        fix("video", _names("video", self.video))
        fix("channels", _names("channels", self.channels))
        for name in ("after", "before"):
            value = getattr(self, name)
            fix(name, None if value is None else parse_time(value, what=name))
        if self.after is not None and self.before is not None and self.after >= self.before:
            raise ConfigError(f"after ({self.after:g} s) must be earlier than before ({self.before:g} s)")
        if self.where is not None:
            fix("where", MappingProxyType(dict(check_payload_filter(self.where))))
        if self.weights is not None:
            fix("weights", MappingProxyType(_weights(self.weights)))
        _fusion(self.fusion, self.weights)  # checked here, kept as given: see fused_by
        fix("fusion", None if self.fusion is None else Fusion(self.fusion))
        fix("rerank", _reranker(self.rerank))
        if self.mmr is not None and not (_number(self.mmr) and 0.0 <= self.mmr <= 1.0):
            raise ConfigError(f"mmr is a diversity within [0, 1], got {self.mmr!r}")
        if self.per_video is not None:
            fix("per_video", _count("per_video", self.per_video))
        if self.candidates is not None and _count("candidates", self.candidates) < self.k:
            raise ConfigError(f"candidates ({self.candidates}) must be at least k ({self.k})")
        if isinstance(self.expand, bool) or not isinstance(self.expand, int) or self.expand < 0:
            raise ConfigError(f"expand is a number of neighbour segments (0 or more), got {self.expand!r}")
        if not isinstance(self.merge, bool) or not isinstance(self.hierarchical, bool | None):
            raise ConfigError("merge and hierarchical take true or false")
        if not isinstance(self.temporal, bool) or not isinstance(self.moments, bool):
            raise ConfigError("temporal and moments take true or false")
        if self.decomposer is not None and not callable(self.decomposer):
            raise ConfigError(
                "decomposer is a prompt -> text callable (e.g. vrag.llm.resolve_llm(...)), got "
                f"{self.decomposer!r}"
            )

    @classmethod
    def from_mapping(
        cls, options: Mapping[str, Any], *, base: SearchOptions | None = None, owner: str = "search"
    ) -> SearchOptions:
        """Options from a mapping of field names (``None`` values are left at ``base``'s / the default).

        Raises:
            ConfigError: an unknown name (close names are suggested) or an invalid value.
        """
        names = set(FIELDS)
        unknown = sorted(set(options) - names)
        if unknown:
            name = unknown[0]
            close = difflib.get_close_matches(name, sorted(names), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"unknown {owner} option {name!r}{hint}; the options are {', '.join(sorted(names))}"
            )
        changes = {k: v for k, v in options.items() if v is not None}
        return dataclasses.replace(base, **changes) if base is not None else cls(**changes)

    def replace(self, **changes: Any) -> SearchOptions:
        """A copy with ``changes`` applied (validated like the constructor)."""
        return SearchOptions.from_mapping(changes, base=self)

    @property
    def fused_by(self) -> Fusion:
        """The fusion a search uses: ``fusion`` when given, else RRF with ``weights`` and DBSF without (so
        options given weights later, e.g. by ``replace``, fuse by RRF)."""
        return _fusion(self.fusion, self.weights)

    @property
    def pool(self) -> int:
        """Candidates to fetch from the store before reranking, MMR and per-video caps."""
        extra = self.rerank is not None or bool(self.mmr) or self.per_video is not None
        return self.candidates or (max(3 * self.k, 30) if extra else self.k)

    @property
    def filtered(self) -> bool:
        """Whether a payload or time filter is set (the video-level stage cannot apply those)."""
        return bool(self.where) or self.after is not None or self.before is not None


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SearchOptions))
"""The option names, e.g. for a tool's argument list."""


MAX_COUNT = 10_000
"""The most hits, videos or candidates one search asks for: a bigger ask is refused, not sent on."""


def parse_where(items: Sequence[str] | None, *, what: str = "--where") -> dict[str, Any] | None:
    """``KEY=VALUE`` items (CLI flags, query parameters) → a payload filter for ``where``: a key given twice
    matches any of its values; whole numbers become ints (``"007"`` stays a string).

    Raises:
        ConfigError: an item without ``=`` or key.
    """
    if not items:
        return None
    where: dict[str, list[Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {item!r}: write KEY=VALUE")
        number = value.lstrip("-").isdigit() and str(int(value)) == value
        where.setdefault(key, []).append(int(value) if number else value)
    return {k: v[0] if len(v) == 1 else v for k, v in where.items()}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise ConfigError(f"{name} must be a whole number from 1 to {MAX_COUNT}, got {value!r}")
    return value


def _names(name: str, value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise ConfigError(f"{name} takes one or more names, got {value!r}")
    return items


def _weights(weights: Mapping[str, Any]) -> dict[str, float]:
    bad = {k: v for k, v in weights.items() if not (_number(v) and v > 0)}
    if bad:
        raise ConfigError(f"channel weights must be positive numbers, got {bad}")
    return {str(k): float(v) for k, v in weights.items()}


def _fusion(fusion: Fusion | str | None, weights: Mapping[str, float] | None) -> Fusion:
    if fusion is None:
        return Fusion.RRF if weights else Fusion.DBSF
    try:
        chosen = Fusion(fusion)
    except ValueError as err:
        raise ConfigError(f"fusion is 'dbsf' or 'rrf', got {fusion!r}") from err
    if weights and chosen is not Fusion.RRF:
        raise ConfigError("channel weights need fusion='rrf' (DBSF has no weights)")
    return chosen


def _reranker(rerank: Any) -> Any:
    if rerank is None or not isinstance(rerank, str):
        return rerank
    from vrag.search._rerank import RERANKERS

    RERANKERS.entry(rerank)  # unknown names raise with close matches
    if rerank == "llm":
        raise ConfigError(
            "the llm reranker needs a model: pass rerank=vrag.search.create_reranker('llm', llm=...) "
            "(in the CLI: vrag ask --llm MODEL --rerank llm)"
        )
    return rerank
