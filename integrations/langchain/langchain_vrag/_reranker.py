"""``VideoReranker``: a vrag reranker (``vrag.search.create_reranker``) as a LangChain document compressor."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import Document
from langchain_core.documents.compressor import BaseDocumentCompressor
from langchain_core.language_models import BaseLanguageModel
from langchain_core.messages import BaseMessage
from pydantic import ConfigDict, Field, PrivateAttr

from langchain_vrag._documents import is_span, to_hit
from vrag import Hit
from vrag.errors import ConfigError
from vrag.search import RERANKERS, Reranker, create_reranker

__all__ = ["VideoReranker", "llm_as_callable"]


def llm_as_callable(llm: BaseLanguageModel[Any], *, callbacks: Callbacks = None) -> Callable[[str], str]:
    """A LangChain chat model (or LLM) as the ``prompt -> text`` callable vrag's ``llm`` reranker and
    ``VideoIndex.ask`` take."""

    def complete(prompt: str) -> str:
        reply = llm.invoke(prompt, config={"callbacks": callbacks})
        return reply.text if isinstance(reply, BaseMessage) else str(reply)

    return complete


class VideoReranker(BaseDocumentCompressor):
    """Reorders retrieved video moments with a vrag reranker, best first, each with its ``relevance_score``.

    Returns copies: each keeps its metadata and gains ``metadata["relevance_score"]`` (in [0, 1], higher is
    better: the reranker's score blended with the retrieval ``score``, see ``vrag.search.Reranker``) and
    ``metadata["rerank_score"]`` (the reranker's own score); the input Documents are left as they were.
    Documents that are not video spans (no ``video`` / ``start`` / ``end`` metadata) are judged by their text
    alone.

    Args:
        reranker: a reranker name — ``"sentence"`` (offline, the bundled MiniLM), ``"cross-encoder"``,
            ``"llm"``, ``"cascade"`` — or a ``vrag.search.Reranker``. Default: ``"llm"`` when ``llm`` is
            given, else ``"sentence"``.
        llm: a LangChain chat model (or LLM) for the ``"llm"`` reranker; it rates each passage 0–10.
        top_n: keep the best this many (default all).
        options: the reranker's own options, e.g. ``{"model": "cross-encoder/ms-marco-MiniLM-L-6-v2"}``.

    The reranker is built on first use (models load then, not in the constructor).

    Raises:
        UnknownNameError: no such reranker (close names are suggested).
        ConfigError: ``llm`` with another reranker, options with a reranker object, ``top_n`` below 1.

    Example:
        >>> from langchain_vrag import VideoReranker
        >>> reranker = VideoReranker(reranker="sentence", top_n=3)
        >>> best = reranker.compress_documents(docs, "why does the loss diverge")    # doctest: +SKIP
        >>> best[0].metadata["citation"]                                             # doctest: +SKIP
        '[intro_to_ml.mp4 00:12.0–00:24.0]'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reranker: str | Reranker = "sentence"
    """The vrag reranker (name or object)."""
    llm: BaseLanguageModel | None = None  # unparameterized: pydantic cannot check the generic
    """Chat model for the ``"llm"`` reranker."""
    top_n: int | None = Field(default=None, ge=1)
    """How many Documents to keep (None: all)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Options for ``vrag.search.create_reranker``."""

    _engine: Reranker | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(
        self,
        *,
        reranker: str | Reranker | None = None,
        llm: BaseLanguageModel[Any] | None = None,
        top_n: int | None = None,
        options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        options = dict(options or {})
        if llm is not None and reranker not in (None, "llm"):
            raise ConfigError(f"VideoReranker: llm= goes with reranker='llm', not {reranker!r}")
        name = reranker if reranker is not None else "llm" if llm is not None else "sentence"
        if isinstance(name, str):
            RERANKERS.entry(name)  # unknown names fail here, with suggestions
            if name == "llm" and llm is None and "llm" not in options:
                raise ConfigError("VideoReranker: the 'llm' reranker needs llm=<a LangChain chat model>")
        elif options:
            raise ConfigError(
                f"VideoReranker: options {sorted(options)} go with a reranker name, not an object"
            )
        if top_n is not None and top_n < 1:
            raise ConfigError(f"VideoReranker: top_n must be at least 1, got {top_n}")
        super().__init__(reranker=name, llm=llm, top_n=top_n, options=options, **kwargs)  # type: ignore[call-arg]

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """The documents reordered by relevance to ``query`` (copies with ``relevance_score``), best first."""
        hits = [self._as_hit(d) for d in documents]
        out = []
        for r in self._reranker(callbacks).order(query, hits, k=self.top_n):
            doc = documents[r.index]
            scores = {"relevance_score": r.score, "rerank_score": r.rerank}
            metadata = copy.deepcopy(doc.metadata) | scores  # inputs stay untouched
            out.append(doc.model_copy(update={"metadata": metadata}))
        return out

    def _reranker(self, callbacks: Callbacks | None) -> Reranker:
        if isinstance(self.reranker, Reranker):
            return self.reranker
        if self.llm is not None:  # cheap to build; built per call so the model sees this call's callbacks
            return create_reranker(
                "llm", **{**self.options, "llm": llm_as_callable(self.llm, callbacks=callbacks)}
            )
        with self._lock:
            if self._engine is None:
                self._engine = create_reranker(self.reranker, **self.options)
            return self._engine

    @staticmethod
    def _as_hit(document: Document) -> Hit:
        if is_span(document):
            return to_hit(document)
        return Hit(str(document.id or "document"), "", 0.0, 0.0, 0.0, document.page_content)
