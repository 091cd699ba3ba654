"""How an index is built: frozen pydantic models, loaded from TOML, environment variables or keywords.

Example:
    >>> from vrag.config import IndexConfig
    >>> cfg = IndexConfig(visual_encoders=["xclip-base-patch32"], chunker="semantic")
    >>> cfg.text_encoder, cfg.ocr
    ('minilm', 'auto')
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vrag.errors import ConfigError

__all__ = ["DEFAULT_VISUAL_ENCODERS", "IndexConfig", "load_config"]

DEFAULT_VISUAL_ENCODERS = ("xclip-base-patch32",)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IndexConfig(_Frozen):
    """Everything that decides what goes into an index (and so its schema fingerprint).

    Attributes:
        visual_encoders: registry names, ``hf:<id>`` or local dirs of video/frame encoders. One whose
            weights are not available here is skipped with one log line (the index is built without it).
        text_encoder: encoder for transcript and on-screen text (the bundled MiniLM works offline).
        chunker: chunker registry name; ``chunk_options`` are passed to it.
        ocr: read on-screen text at each segment's keyframes: ``"auto"`` when RapidOCR is installed.
        asr: speech recognition when there are no subtitles: ``"auto"`` when faster-whisper and its model
            are available.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when present).
        dtype: compute dtype of the visual encoders (default: bf16 on CUDA, fp32 on CPU; ``"bfloat16"`` is
            about 2x faster on CPUs with bf16 instructions, cosine to fp32 > 0.9999 — see BENCHMARKS.md).
        encode_batch: clips per encoder forward pass.
        workers: decode/chunk worker processes (0 = in the main process); ``None`` picks: none for less
            than 5 minutes of video (starting a process costs seconds), else one per spare core (max 4).
        aggregator: how each video's segment vectors become its K video-level vectors (``mean``, ``kmeans``,
            ``lvmae``; ``None``: no video vectors, no hierarchical search). A trained ``lvmae`` checkpoint in
            the index folder (``vrag train aggregator``) is used for its channel instead.
        aggregator_options: passed to the aggregator (e.g. ``{"k": 8}``).
        allow_test_encoders: permit random-weight ``*-test`` encoders (for tests only: their vectors mean
            nothing).
    """

    visual_encoders: tuple[str, ...] = DEFAULT_VISUAL_ENCODERS
    text_encoder: str | None = "minilm"
    chunker: str = "semantic"
    chunk_options: dict[str, Any] = Field(default_factory=dict)
    ocr: Literal["auto", "on", "off"] = "auto"
    asr: Literal["auto", "on", "off"] = "auto"
    device: str | None = None
    dtype: str | None = None
    encode_batch: int = Field(default=8, ge=1)
    workers: int | None = Field(default=None, ge=0)
    allow_test_encoders: bool = False
    aggregator: str | None = "kmeans"
    aggregator_options: dict[str, Any] = Field(default_factory=dict)


def load_config(
    path: str | Path | None = None, *, base: IndexConfig | None = None, **overrides: Any
) -> IndexConfig:
    """Start from ``base`` (e.g. the configuration an index was built with; default: the defaults), then
    apply a TOML file (its ``[index]`` table or top level), then ``VRAG_*`` environment variables
    (``VRAG_CHUNKER``, ``VRAG_DEVICE``, ``VRAG_VISUAL_ENCODERS`` comma separated, ...), then keyword
    overrides (``None`` values are ignored).

    Raises:
        ConfigError: unreadable file, unknown key or invalid value (the message names the key).
    """
    values: dict[str, Any] = base.model_dump() if base is not None else {}
    values.update(_read_toml(Path(path)) if path else {})
    values.update(_from_env())
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return IndexConfig(**values)
    except ValidationError as err:
        where = f" in {path}" if path else ""
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise ConfigError(f"invalid index configuration{where}: {problems}") from err


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(
            f"{path}: cannot read the configuration ({err}); check the path and TOML syntax"
        ) from err
    table = data.get("index", data)
    return dict(table) if isinstance(table, dict) else {}


def _from_env() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in IndexConfig.model_fields:
        raw = os.environ.get(f"VRAG_{field.upper()}")
        if raw is None or field == "chunk_options":
            continue
        values[field] = (
            tuple(s.strip() for s in raw.split(",") if s.strip()) if field == "visual_encoders" else raw
        )
    return values
