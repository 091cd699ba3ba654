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

__all__ = [
    "DEFAULT_VISUAL_ENCODERS",
    "IndexConfig",
    "LLMConfig",
    "QdrantConfig",
    "Settings",
    "find_settings",
    "load_config",
    "load_settings",
]

SETTINGS_FILE = "vrag.toml"

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
        workers: decode/chunk worker processes (0 = in the main process, where one thread plans and
            decodes while the encoders run); ``None`` picks: none for less than 5 minutes of video (starting
            a process costs seconds), else one per spare core (max 4).
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


class LLMConfig(_Frozen):
    """The model ``vrag ask`` (and the service) answers with: the ``[llm]`` table of ``vrag.toml``.

    Attributes:
        model: ``PROVIDER:MODEL`` (``ollama:llama3.1``), ``MODEL`` with ``base_url``, or ``py:MODULE:NAME``
            (see ``vrag.llm.resolve_llm``); ``None``: extractive answers, no model.
        base_url: an OpenAI-compatible API root (overrides the provider's).
        api_key_env: the environment variable holding the API key (never the key itself in a file).
        timeout: seconds to wait for a reply.
    """

    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    timeout: float = Field(default=120.0, gt=0)


class QdrantConfig(_Frozen):
    """A Qdrant server or cluster instead of the embedded index: the ``[qdrant]`` table of ``vrag.toml``.

    Collection settings apply when the index's collections are created (see ``docs/scale.md``).

    Attributes:
        url: the server (``http://qdrant:6333``); ``--qdrant-url`` and ``VRAG_QDRANT_URL`` win over it.
        api_key: the API key (prefer ``api_key_env``: keep keys out of files).
        api_key_env: the environment variable holding the API key.
        prefix: collection name prefix (one prefix = one index: ``<prefix>_segments``, ``<prefix>_videos``).
        shard_number: shards per collection (at least the number of nodes, to spread writes).
        replication_factor: copies of each shard (2 survives the loss of a node).
        write_consistency_factor: replicas that must acknowledge a write before it returns.
        on_disk_vectors: keep the original vectors on disk (memory-mapped), the HNSW graph in RAM.
        on_disk_payload: keep payloads on disk (indexed payload fields stay in RAM).
        tenant_field: a payload key that partitions one pair of collections between tenants: a keyword
            payload index with ``is_tenant`` is created on it (Qdrant co-locates each tenant's points).
        tenant: this index's tenant: written into every point under ``tenant_field`` and required by
            every read, so tenants sharing the collections never see each other's videos.
        timeout: seconds per request.
        retries: attempts per request on transient errors (connection errors, 429/5xx), with exponential
            backoff.
    """

    url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    prefix: str = "vrag"
    shard_number: int | None = Field(default=None, ge=1)
    replication_factor: int | None = Field(default=None, ge=1)
    write_consistency_factor: int | None = Field(default=None, ge=1)
    on_disk_vectors: bool = False
    on_disk_payload: bool = False
    tenant_field: str | None = None
    tenant: str | None = None
    timeout: float = Field(default=30.0, gt=0)
    retries: int = Field(default=5, ge=1)

    def key(self) -> str | None:
        """The API key: ``api_key``, else the variable ``api_key_env`` names."""
        return self.api_key or (os.environ.get(self.api_key_env) if self.api_key_env else None)


class Settings(BaseModel):
    """Everything a ``vrag.toml`` says: ``[index]`` (how to build), ``[search]`` (default search options),
    ``[llm]`` (the answering model), ``[qdrant]`` (a server or cluster), and where it was found."""

    model_config = ConfigDict(frozen=True)

    path: Path | None = None
    index: dict[str, Any] = Field(default_factory=dict)
    search: dict[str, Any] = Field(default_factory=dict)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    qdrant: QdrantConfig = Field(default_factory=QdrantConfig)


def find_settings() -> Path | None:
    """The ``vrag.toml`` that applies here: in the working directory, else in the user config directory
    (``$XDG_CONFIG_HOME/vrag/``, default ``~/.config/vrag/``), else none."""
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (Path.cwd() / SETTINGS_FILE, home / "vrag" / SETTINGS_FILE):
        if candidate.is_file():
            return candidate
    return None


def load_settings(path: str | Path | None = None) -> Settings:
    """The settings of ``path`` (else of the ``vrag.toml`` :func:`find_settings` finds; else empty).

    A file without tables is read as the ``[index]`` table (the older layout).

    Raises:
        ConfigError: unreadable file, an unknown table or ``[llm]`` key, or a key outside a table when
            the file has tables.
    """
    where = Path(path) if path else find_settings()
    if where is None:
        return Settings()
    data = _read_toml(where)
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if not tables:
        return Settings(path=where, index=data)
    loose = sorted(set(data) - set(tables))
    if loose:  # beside tables a top-level key would be dropped without a word
        raise ConfigError(
            f"{where}: {loose[0]!r} is outside a table; put it under [index] (or [search], [llm], [qdrant])"
        )
    unknown = sorted(set(tables) - {"index", "search", "llm", "qdrant"})
    if unknown:
        raise ConfigError(
            f"{where}: unknown table [{unknown[0]}]; vrag.toml has [index], [search], [llm] and [qdrant]"
        )
    try:
        llm = LLMConfig(**tables.get("llm", {}))
    except ValidationError as err:
        raise ConfigError(f"{where} [llm]: {_problems(err)}") from err
    try:
        qdrant = QdrantConfig(**tables.get("qdrant", {}))
    except ValidationError as err:
        raise ConfigError(f"{where} [qdrant]: {_problems(err)}") from err
    return Settings(
        path=where, index=tables.get("index", {}), search=tables.get("search", {}), llm=llm, qdrant=qdrant
    )


def load_config(
    path: str | Path | None = None,
    *,
    base: IndexConfig | None = None,
    table: dict[str, Any] | None = None,
    **overrides: Any,
) -> IndexConfig:
    """Start from ``base`` (e.g. the configuration an index was built with; default: the defaults), then
    apply a TOML file (its ``[index]`` table or top level) or an already read ``table``, then ``VRAG_*``
    environment variables (``VRAG_CHUNKER``, ``VRAG_DEVICE``, ``VRAG_VISUAL_ENCODERS`` comma separated, ...),
    then keyword overrides (``None`` values are ignored).

    Raises:
        ConfigError: unreadable file, unknown key or invalid value (the message names the key).
    """
    values: dict[str, Any] = base.model_dump() if base is not None else {}
    if path:
        data = _read_toml(Path(path))
        values.update(data["index"] if isinstance(data.get("index"), dict) else data)
    values.update(table or {})
    values.update(_from_env())
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return IndexConfig(**values)
    except ValidationError as err:
        where = f" in {path}" if path else ""
        raise ConfigError(f"invalid index configuration{where}: {_problems(err)}") from err


def _problems(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(
            f"{path}: cannot read the configuration ({err}); check the path and TOML syntax"
        ) from err


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
