"""Rerankers: rescore a short list of retrieved spans with a heavier model, registered by name.

``create_reranker(name, **options)`` builds one; ``reranker.rerank(query, hits, k=...)`` returns copies of the
hits with the reranker's score as ``score`` (best first), the retrieval score kept as
``channel_scores["retrieval"]`` and the new one as ``channel_scores["rerank"]``.

- ``sentence``: offline; the bundled MiniLM scores each evidence *sentence*, a span scores its best one.
- ``cross-encoder``: any sentence-transformers ``CrossEncoder`` (hub id or directory) over (query, evidence).
- ``llm``: any ``prompt -> text`` callable rates each passage 0–10 (the LlamaIndex / LangChain adapters turn
  their LLMs into one).
- ``cascade``: re-decodes each span at denser sampling and rescores it with a text-aligned video encoder (the
  seed's "heavy model only on the top candidates").

Text rerankers judge the evidence text; a span without text scores lowest.

Example:
    >>> from vrag.search import create_reranker
    >>> from vrag.types import Hit
    >>> rate = lambda prompt: "1: 2\\n2: 9"
    >>> hits = [Hit("a.mp4", "a", 0.0, 4.0, 0.9, "the sky"), Hit("a.mp4", "a", 4.0, 8.0, 0.5, "an apple")]
    >>> [h.text for h in create_reranker("llm", llm=rate, blend=0.0).rerank("fruit", hits)]
    ['an apple', 'the sky']
"""

from __future__ import annotations

import itertools
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vrag._registry import Registry
from vrag._sentences import sentences
from vrag.errors import ConfigError, MediaError, ModelUnavailableError, WeightsUnavailableError
from vrag.types import Hit

if TYPE_CHECKING:
    from vrag.encoders import TextEncoder, VideoEncoder

log = logging.getLogger(__name__)

__all__ = [
    "RERANKERS",
    "CascadeReranker",
    "CrossEncoderReranker",
    "LLMReranker",
    "Ranked",
    "Reranker",
    "SentenceReranker",
    "create_reranker",
    "list_rerankers",
]

NO_EVIDENCE = -1.0
"""Score of a span a text reranker cannot judge (no text), below any real score."""


@dataclass(frozen=True, slots=True)
class Ranked:
    """One place in a reranked order: the hit's position in the input, its final score in [0, 1] and the
    reranker's own score."""

    index: int
    score: float
    rerank: float


class Reranker(ABC):
    """Rescores hits for a query. Subclasses implement :meth:`score`.

    Args:
        blend: weight of the retrieval score in the final one: both scores are min-max normalised over the
            candidates, then ``(1 - blend) * rerank + blend * retrieval``. 0: the reranker's order alone. The
            default 0.5 (equal weights) beat either score alone on our retrieval eval (BENCHMARKS.md): the
            reranker sees one passage at a time, retrieval saw every channel.
    """

    name: str = "reranker"

    def __init__(self, *, blend: float = 0.5) -> None:
        if not 0.0 <= blend <= 1.0:
            raise ConfigError(f"reranker blend must be within [0, 1], got {blend}")
        self.blend = blend

    def order(self, query: str, hits: Sequence[Hit], *, k: int | None = None) -> list[Ranked]:
        """The new order of ``hits``: positions into ``hits``, best first (ties keep retrieval order), each
        with its final score in [0, 1] and the reranker's own score. Adapters that hold their own objects
        (nodes, Documents) pick them by ``Ranked.index``.

        Args:
            query: the user's query text.
            hits: candidates, best retrieval score first.
            k: keep this many (default all).
        """
        if not query.strip():
            raise ConfigError("reranking needs a query text")
        if not hits:
            return []
        scores = self.score(query, hits)
        if len(scores) != len(hits):
            raise ConfigError(f"reranker {self.name!r} returned {len(scores)} scores for {len(hits)} hits")
        final = (1.0 - self.blend) * _unit_range(scores) + self.blend * _unit_range([h.score for h in hits])
        ranked = [Ranked(i, float(f), float(s)) for i, (s, f) in enumerate(zip(scores, final, strict=True))]
        ranked.sort(key=lambda r: -r.score)  # stable: ties keep retrieval order
        return ranked[: k if k is not None else None]

    def rerank(self, query: str, hits: Sequence[Hit], *, k: int | None = None) -> list[Hit]:
        """Copies of ``hits`` in :meth:`order`, each with its final score; the raw scores stay in
        ``channel_scores["rerank"]`` and ``channel_scores["retrieval"]``."""
        return [
            replace(
                hits[r.index],
                score=r.score,
                channel_scores={
                    **hits[r.index].channel_scores,
                    "retrieval": hits[r.index].score,
                    "rerank": r.rerank,
                },
            )
            for r in self.order(query, hits, k=k)
        ]

    @abstractmethod
    def score(self, query: str, hits: Sequence[Hit]) -> list[float]:
        """One score per hit, higher is better."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _unit_range(values: Sequence[float]) -> np.ndarray:
    """Min-max normalised to [0, 1] (all equal: all 1)."""
    arr = np.asarray(values, dtype=np.float64)
    span = float(arr.max() - arr.min())
    return (arr - arr.min()) / span if span > 0 else np.ones_like(arr)


class SentenceReranker(Reranker):
    """Scores a span by its evidence sentence closest to the query (bi-encoder MaxSim over sentences).

    A segment's stored text vector averages all its sentences; one sentence that answers the query is diluted
    by the rest. Scoring sentences one by one brings it back. Works offline with the bundled MiniLM.

    Args:
        encoder: a text encoder name, hub id (``hf:org/model``) or directory (default the bundled ``minilm``),
            or a loaded :class:`~vrag.encoders.TextEncoder`.
        device: where to run it.
    """

    name = "sentence"

    def __init__(
        self, encoder: str | TextEncoder = "minilm", *, device: str | None = None, blend: float = 0.5
    ) -> None:
        super().__init__(blend=blend)
        if isinstance(encoder, str):
            from vrag.encoders import create_encoder

            encoder = create_encoder(encoder, device=device)  # type: ignore[assignment]
        self.encoder: TextEncoder = encoder  # type: ignore[assignment]

    def score(self, query: str, hits: Sequence[Hit]) -> list[float]:
        parts = [sentences(h.text) for h in hits]
        flat = [s for p in parts for s in p]
        if not flat:
            return [NO_EVIDENCE] * len(hits)
        q = self.encoder.encode_query([query])[0]
        sims = self.encoder.encode_document(flat) @ q
        out, i = [], 0
        for p in parts:
            out.append(float(sims[i : i + len(p)].max()) if p else NO_EVIDENCE)
            i += len(p)
        return out


class CrossEncoderReranker(Reranker):
    """A sentence-transformers ``CrossEncoder`` reads (query, evidence) pairs and scores each.

    Args:
        model: hub id (e.g. ``cross-encoder/ms-marco-MiniLM-L6-v2``, downloaded on first use) or a directory.
        device: where to run it.
        batch_size: pairs per forward pass.
        max_chars: evidence is cut to this many characters (cross-encoders read ~512 tokens).

    Raises:
        WeightsUnavailableError: the model is neither cached nor downloadable (says how to fetch it).
        ModelUnavailableError: sentence-transformers is missing or the directory is not a cross-encoder.
    """

    name = "cross-encoder"

    def __init__(
        self,
        model: str = "cross-encoder/ms-marco-MiniLM-L6-v2",
        *,
        device: str | None = None,
        batch_size: int = 32,
        max_chars: int = 2000,
        blend: float = 0.5,
    ) -> None:
        super().__init__(blend=blend)
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as err:
            raise ModelUnavailableError(
                "the cross-encoder reranker needs sentence-transformers (a vrag-video dependency): "
                "pip install sentence-transformers"
            ) from err
        from vrag.encoders._loading import cache_dir, hub_file, is_offline, quiet_loading

        source = model.removeprefix("hf:")
        local = Path(source).expanduser().is_dir()
        if not local:
            hub_file(source, "config.json")  # a typed, fast error when offline and not cached
        try:
            with quiet_loading():
                self.model = CrossEncoder(
                    str(Path(source).expanduser()) if local else source,
                    device=device,
                    trust_remote_code=False,
                    local_files_only=local or is_offline(),
                )
        except OSError as err:
            if local:
                raise ModelUnavailableError(f"{source}: not a loadable cross-encoder ({err})") from err
            raise WeightsUnavailableError(source, cache_dir(), str(err).splitlines()[0]) from err
        self.source, self.batch_size, self.max_chars = source, batch_size, max_chars

    def score(self, query: str, hits: Sequence[Hit]) -> list[float]:
        judged = [i for i, h in enumerate(hits) if h.text.strip()]
        out = [NO_EVIDENCE] * len(hits)
        if judged:
            pairs = [(query, hits[i].text[: self.max_chars]) for i in judged]
            scores = np.asarray(
                self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False),
                dtype=np.float64,
            ).reshape(len(judged), -1)[:, -1]
            for i, s in zip(judged, scores, strict=True):
                out[i] = float(s)
        return out


_RATING = re.compile(
    r"^[\s>*#\-•]*(?:passage\s*)?\**\[?(\d+)\]?\**\s*[:=)\-–.]\s*\**(\d+(?:\.\d+)?)",
    re.MULTILINE | re.IGNORECASE,
)

LLM_PROMPT = """Rate how well each passage from a video answers the query, from 0 (unrelated) to 10 \
(answers it exactly).
Reply with one line per passage in the form `NUMBER: RATING` and nothing else.

Query: {query}

{passages}
"""


class LLMReranker(Reranker):
    """Asks an LLM to rate each passage 0–10 (one call per rerank). Passages it does not rate score lowest
    and keep their retrieval order.

    Args:
        llm: a ``prompt -> text`` callable (wrap a LlamaIndex LLM as ``lambda p: llm.complete(p).text`` or a
            LangChain chat model as ``lambda p: model.invoke(p).content``).
        max_chars: each passage is cut to this many characters in the prompt.
        prompt: the template (``{query}``, ``{passages}``).
    """

    name = "llm"

    def __init__(
        self, llm: Callable[[str], str], *, max_chars: int = 500, prompt: str = LLM_PROMPT, blend: float = 0.5
    ) -> None:
        super().__init__(blend=blend)
        if not callable(llm):
            raise ConfigError("the llm reranker needs llm=<a prompt -> text callable>")
        self.llm, self.max_chars, self.prompt = llm, max_chars, prompt

    def score(self, query: str, hits: Sequence[Hit]) -> list[float]:
        passages = "\n\n".join(
            f"{i}. {h.segment_citation} {' '.join(h.text.split())[: self.max_chars] or '(no text)'}"
            for i, h in enumerate(hits, 1)
        )
        reply = str(self.llm(self.prompt.format(query=query, passages=passages)))
        ratings: dict[int, float] = {}
        for number, rating in _RATING.findall(reply):
            if 0.0 <= float(rating) <= 10.0:  # "2: 2019 was the year" is not a rating
                ratings.setdefault(int(number), float(rating))
        if not ratings:
            log.warning("llm reranker: the reply rated no passage; retrieval order kept: %.200r", reply)
        return [ratings.get(i, NO_EVIDENCE) for i in range(1, len(hits) + 1)]


class CascadeReranker(Reranker):
    """Re-decodes each candidate span densely and rescores it with a text-aligned video encoder.

    The span is cut into ``clips`` equal parts; each part is decoded at the encoder's own sampling and
    encoded; the span scores its best part's cosine to the query. A heavier encoder than the index's (or the
    same at more clips) thus runs on the top candidates only.

    Args:
        encoder: a video encoder name / hub id / directory with a text tower (X-CLIP, VideoPrism-LvT, SigLIP
            frames, ...), or a loaded :class:`~vrag.encoders.VideoEncoder`.
        clips: clips per span.
        device, dtype: where and how to run the encoder.
        allow_test_encoders: accept ``*-test`` encoders (random weights; tests only).
    """

    name = "cascade"

    def __init__(
        self,
        encoder: str | VideoEncoder = "xclip-base-patch32",
        *,
        clips: int = 3,
        device: str | None = None,
        dtype: str | None = None,
        allow_test_encoders: bool = False,
        blend: float = 0.5,
    ) -> None:
        super().__init__(blend=blend)
        if isinstance(encoder, str):
            from vrag.encoders import create_encoder

            encoder = create_encoder(encoder, device=device, dtype=dtype)  # type: ignore[assignment]
        spec = encoder.spec  # type: ignore[union-attr]
        if spec.modality == "text" or not spec.has_text:
            raise ConfigError(
                f"cascade reranker: {spec.name!r} has no text tower to score a query; use a text-aligned "
                "video encoder (e.g. xclip-base-patch32, videoprism-lvt-base)"
            )
        if spec.test_only and not allow_test_encoders:
            raise ConfigError(f"cascade reranker: {spec.name!r} has random test weights; pick a real encoder")
        if clips < 1:
            raise ConfigError(f"cascade reranker: clips must be at least 1, got {clips}")
        self.encoder: VideoEncoder = encoder  # type: ignore[assignment]
        self.clips = clips

    def score(self, query: str, hits: Sequence[Hit]) -> list[float]:
        q = self.encoder.encode_text([query])[0]
        return [self._score_span(h, q) for h in hits]

    def _score_span(self, hit: Hit, q: np.ndarray) -> float:
        from vrag.media import open_video

        spec = self.encoder.spec
        edges = np.linspace(hit.start, hit.end, self.clips + 1)
        try:
            with open_video(hit.video) as video:
                times = np.concatenate([spec.clip_times(a, b) for a, b in itertools.pairwise(edges)])
                frames = video.frames_at(times, size=spec.decode_size(video.width, video.height)).data
        except MediaError as err:
            log.warning("cascade reranker: %s", err)
            return NO_EVIDENCE
        clips = frames.reshape(self.clips, spec.frames, *frames.shape[1:])
        return float((self.encoder.encode_video(clips) @ q).max())


RERANKERS: Registry[Reranker] = Registry("reranker")


def _register() -> None:
    from vrag.search._rerank_qwen3vl import Qwen3VLReranker  # subclasses Reranker (defined above)

    for cls in (SentenceReranker, CrossEncoderReranker, LLMReranker, CascadeReranker, Qwen3VLReranker):
        RERANKERS.register(cls.name, cls, description=(cls.__doc__ or "").splitlines()[0])


_register()


def create_reranker(name: str, **options: Any) -> Reranker:
    """A registered reranker by name (``sentence``, ``cross-encoder``, ``llm``, ``cascade``) with its options.

    Raises:
        UnknownNameError: no such reranker (suggests close names).
        ConfigError: an option the reranker does not take.
    """
    return RERANKERS.create(name, **options)


def list_rerankers() -> list[str]:
    return RERANKERS.names()
