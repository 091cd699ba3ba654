"""``qwen3-vl`` reranker: Qwen3-VL-Reranker reads the query with each candidate span's frames and text.

A cross-encoder: one forward pass per (query, span) pair, so it runs on the few candidates retrieval found
(the ``cascade`` idea: the heavy model only on the top). Each span is decoded as the embedder decodes a clip
(``frames`` frames spread over it, at the reference's pixel budget) and, with ``with_text``, shown with its
transcript / on-screen text; the score is the model's probability of answering "yes".

Example:
    >>> from vrag.search import create_reranker
    >>> reranker = create_reranker("qwen3-vl", model="test", allow_test_encoders=True)  # tiny random weights
    >>> reranker.name
    'qwen3-vl'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vrag.errors import ConfigError, MediaError
from vrag.search._rerank import NO_EVIDENCE, Reranker
from vrag.types import Hit

if TYPE_CHECKING:
    from vrag.encoders._qwen3vl import Qwen3VLScorer

log = logging.getLogger(__name__)

__all__ = ["Qwen3VLReranker"]

MODELS = {"2b": "Qwen/Qwen3-VL-Reranker-2B", "8b": "Qwen/Qwen3-VL-Reranker-8B"}
TEST_MODEL = "test"


class Qwen3VLReranker(Reranker):
    """Qwen3-VL-Reranker scores each candidate's frames and text against the query (a video cross-encoder).

    Args:
        model: ``"2b"`` / ``"8b"``, a hub id (``Qwen/Qwen3-VL-Reranker-2B``), ``hf:<id>``, a directory, or
            ``"test"`` (tiny random weights; needs ``allow_test_encoders``).
        frames: frames decoded per span, spread over it (2 to 64).
        with_text: show the span's transcript / on-screen text to the model too.
        max_chars: the text is cut to this many characters (the pair must fit the model's 8,192 tokens).
        instruction: what relevance means (default the reference's: "Given a search query, retrieve relevant
            candidates that answer the query.").
        device, dtype: where and how to run it (default CUDA + bf16 when present).
        batch_size: pairs per forward pass.
        allow_test_encoders: accept ``model="test"``.
        blend: weight of the retrieval score (see :class:`~vrag.search.Reranker`).

    Raises:
        WeightsUnavailableError: the model is neither cached nor downloadable (says how to fetch it).
        ConfigError: test weights without ``allow_test_encoders``, or ``frames`` out of range.
    """

    name = "qwen3-vl"

    def __init__(
        self,
        model: str = "2b",
        *,
        frames: int = 16,
        with_text: bool = True,
        max_chars: int = 4000,
        instruction: str | None = None,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int | None = None,
        allow_test_encoders: bool = False,
        blend: float = 0.5,
    ) -> None:
        super().__init__(blend=blend)
        self.scorer = _load(
            model,
            frames=frames,
            device=device,
            dtype=dtype,
            batch_size=batch_size,
            allow_test=allow_test_encoders,
        )
        self.with_text, self.max_chars, self.instruction = with_text, max_chars, instruction

    def score(self, query: str, hits: Sequence[Hit]) -> list[float]:
        docs = [self._document(h) for h in hits]
        pairs = [d for d in docs if d is not None]
        scores = iter(self.scorer.score(query, pairs, instruction=self.instruction) if pairs else [])
        return [NO_EVIDENCE if d is None else float(next(scores)) for d in docs]

    def _document(self, hit: Hit) -> tuple[np.ndarray | None, str] | None:
        """The span's frames (``None`` if it cannot be decoded) and text; ``None`` when there is neither."""
        text = hit.text.strip()[: self.max_chars] if self.with_text else ""
        try:
            clip = self.span_frames(hit)
        except MediaError as err:
            log.warning("qwen3-vl reranker: %s", err)
            clip = None
        return None if clip is None and not text else (clip, text)

    def span_frames(self, hit: Hit) -> np.ndarray:
        """uint8 ``[T, H, W, 3]`` of a hit's span, decoded as the scorer's spec asks."""
        from vrag.media import open_video

        spec = self.scorer.spec
        with open_video(hit.video) as video:
            times = spec.clip_times(hit.start, max(hit.end, hit.start + 1e-3))
            return video.frames_at(times, size=spec.decode_size(video.width, video.height)).data


def _load(
    model: str,
    *,
    frames: int,
    device: str | None,
    dtype: str | None,
    batch_size: int | None,
    allow_test: bool,
) -> Qwen3VLScorer:
    from vrag.encoders import _qwen3vl, _qwen3vl_tiny
    from vrag.encoders._base import resolve_runtime

    runtime = resolve_runtime(device, dtype, batch_size, default_batch=_qwen3vl.DEFAULT_BATCH)
    if model == TEST_MODEL:
        if not allow_test:
            raise ConfigError(
                "qwen3-vl reranker: model='test' has random weights; pass a real model ('2b', '8b', a hub id "
                "or a directory), or allow_test_encoders=True in tests"
            )
        return _qwen3vl_tiny.create_tiny_scorer(runtime, frames=frames)
    source = MODELS.get(model.lower(), model).removeprefix("hf:")
    local = Path(source).expanduser().is_dir()
    source = str(Path(source).expanduser()) if local else source
    options: dict[str, Any] = {"local": local, "frames": frames}
    return _qwen3vl.load_scorer(source, runtime, **options)
