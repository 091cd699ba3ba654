"""``VideoReranker``: a vrag reranker (``vrag.search.create_reranker``) as a LlamaIndex node postprocessor.

The scoring is vrag's; this module converts nodes to ``Hit`` objects and back. Nodes from
``llama_index.retrievers.vrag`` round-trip exactly; other text nodes are judged by their text alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CallbackManager
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import BaseNode, ImageNode, NodeWithScore, QueryBundle

from vrag import Hit
from vrag.errors import ConfigError
from vrag.search import Ranked, Reranker, create_reranker

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

__all__ = ["VideoReranker", "llm_as_callable"]

dispatcher = get_dispatcher(__name__)

_SPAN_KEYS = ("video", "start", "end")


def llm_as_callable(llm: LLM) -> Callable[[str], str]:
    """A LlamaIndex LLM as the ``prompt -> text`` callable vrag's ``llm`` reranker and answers take."""

    def complete(prompt: str) -> str:
        return llm.complete(prompt).text

    return complete


def _resolve(reranker: str | Reranker | None, llm: LLM | None, options: dict[str, Any]) -> Reranker:
    if llm is not None:
        if reranker not in (None, "llm"):
            raise ConfigError(f"VideoReranker: llm= goes with the 'llm' reranker, not {reranker!r}")
        reranker, options = "llm", {**options, "llm": llm_as_callable(llm)}
    if isinstance(reranker, Reranker):
        if options:
            raise ConfigError(
                f"VideoReranker: options {sorted(options)} apply to a reranker name, not an object"
            )
        return reranker
    return create_reranker(reranker or "sentence", **options)


def _span(node: BaseNode) -> tuple[Any, ...] | None:
    meta = node.metadata
    return tuple(meta[key] for key in _SPAN_KEYS) if all(key in meta for key in _SPAN_KEYS) else None


def _as_hit(result: NodeWithScore) -> Hit:
    """The hit a node stands for (its retrieval score is the node's)."""
    node, score = result.node, float(result.score or 0.0)
    if _span(node) is not None:
        return replace(Hit.from_dict(node.metadata, text=node.get_content()), score=score)
    return Hit(
        video=node.node_id, video_id=node.node_id, start=0.0, end=0.0, score=score, text=node.get_content()
    )


def _rescored(result: NodeWithScore, ranked: Ranked) -> BaseNode:
    """A copy of a span node with its new score in the metadata (the retrieval score and the reranker's own
    score kept in ``channel_scores``, as ``Reranker.rerank`` keeps them)."""
    node = result.node
    if _span(node) is None:
        return node
    scores = {
        **node.metadata.get("channel_scores", {}),
        "retrieval": result.score,
        "rerank": ranked.rerank,
    }
    return node.model_copy(
        update={"metadata": {**node.metadata, "score": ranked.score, "channel_scores": scores}}
    )


class VideoReranker(BaseNodePostprocessor):
    """Reorders retrieved nodes with a vrag reranker, best first.

    ``ImageNode`` keyframes (``VideoRetriever(keyframes=True)``) are not judged: each follows its span's text
    node, after all text nodes, with the same new score, and is dropped with it.

    Args:
        reranker: a reranker name (``"sentence"`` — offline, the bundled MiniLM; ``"cross-encoder"``,
            ``"llm"``, ``"cascade"``) or a ``vrag.search.Reranker``. Default: ``"llm"`` when ``llm`` is
            given, else ``"sentence"``.
        top_n: keep this many text nodes (default all).
        llm: a LlamaIndex LLM for the ``"llm"`` reranker (it rates each passage 0–10).
        callback_manager: LlamaIndex callbacks.
        **options: the reranker's own options (e.g. ``model=`` for ``"cross-encoder"``).

    Raises:
        UnknownNameError: no such reranker (close names are suggested).
        ConfigError: an option the reranker does not take, or ``llm`` with another reranker.

    Example:
        >>> from llama_index.postprocessor.vrag_rerank import VideoReranker
        >>> reranker = VideoReranker("sentence", top_n=3)                            # doctest: +SKIP
        >>> best = reranker.postprocess_nodes(nodes, query_str="gradient descent")    # doctest: +SKIP
    """

    reranker: str = Field(description="Name of the vrag reranker.")
    top_n: int | None = Field(default=None, description="Text nodes to keep (None: all).")
    _reranker: Reranker = PrivateAttr()

    def __init__(
        self,
        reranker: str | Reranker | None = None,
        *,
        top_n: int | None = None,
        llm: LLM | None = None,
        callback_manager: CallbackManager | None = None,
        **options: Any,
    ) -> None:
        if top_n is not None and top_n < 1:
            raise ConfigError(f"VideoReranker: top_n must be at least 1, got {top_n}")
        engine = _resolve(reranker, llm, options)
        # pydantic fields (mypy runs without the pydantic plugin here)
        super().__init__(  # type: ignore[call-arg]
            reranker=engine.name, top_n=top_n, callback_manager=callback_manager or CallbackManager()
        )
        self._reranker = engine

    @classmethod
    def class_name(cls) -> str:
        return "VideoReranker"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if query_bundle is None or not query_bundle.query_str.strip():
            raise ConfigError(
                "VideoReranker needs the query text: pass query_str= or a QueryBundle with text"
            )
        dispatcher.event(
            ReRankStartEvent(
                query=query_bundle, nodes=nodes, top_n=self.top_n or len(nodes), model_name=self.reranker
            )
        )
        texts = [n for n in nodes if not isinstance(n.node, ImageNode)]
        ranked = self._reranker.order(query_bundle.query_str, [_as_hit(n) for n in texts], k=self.top_n)
        out = [NodeWithScore(node=_rescored(texts[r.index], r), score=r.score) for r in ranked]
        out += _keyframes_after(nodes, out)
        dispatcher.event(ReRankEndEvent(nodes=out))
        return out


def _keyframes_after(nodes: list[NodeWithScore], kept: list[NodeWithScore]) -> list[NodeWithScore]:
    """The keyframe nodes of the kept spans, in the kept order, with their span's new score."""
    images: dict[tuple[Any, ...], list[BaseNode]] = defaultdict(list)
    for result in nodes:
        span = _span(result.node)
        if isinstance(result.node, ImageNode) and span is not None:
            images[span].append(result.node)
    return [
        NodeWithScore(node=image, score=result.score)
        for result in kept
        for image in images.pop(_span(result.node) or (), [])
    ]
