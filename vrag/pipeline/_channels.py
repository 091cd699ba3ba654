"""The channels of an index and the encoders behind them, loaded only when a stage needs one.

An index records, for each channel, the encoder it came from and what that encoder can do (its dim, whether
it embeds text queries), so reading an index loads nothing: ``vrag info`` or a BM25 search touches no model,
a text query loads the text encoders only, an image query the visual ones.

The *fingerprint* hashes everything that decides segment boundaries, text and vectors; it is part of every
segment id. Settings that only say how to run (device, batch sizes, workers) are not in it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrag.config import IndexConfig
from vrag.errors import ConfigError, ModelUnavailableError

if TYPE_CHECKING:
    from vrag.encoders import EncoderSpec, TextEncoder, VideoEncoder
    from vrag.store import StoreSchema

log = logging.getLogger(__name__)

__all__ = ["INGEST_SETTINGS", "PIPELINE_VERSION", "ChannelInfo", "Channels", "channel_name", "resolve_ocr"]

PIPELINE_VERSION = 1
"""Bump when segment contents change for the same configuration (it is part of the fingerprint)."""

INGEST_SETTINGS = ("visual_encoders", "text_encoder", "chunker", "chunk_options", "ocr", "asr")
"""The configuration keys that shape what an index stores; the others only say how to run."""


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What an index records about one encoder channel.

    Attributes:
        encoder: the encoder as configured (registry name, ``hf:`` id or folder).
        kind: ``"visual"`` or ``"text"``.
        source: where its weights came from (``EncoderSpec.source``).
        dim: vector size.
        has_text: whether it embeds text queries into its space (None: unknown, an index older than this
            record; the encoder is loaded to find out).
        vectors: vectors per clip (more than 1: a MaxSim channel ``<name>.multi`` sits beside it).
    """

    encoder: str
    kind: str
    source: str
    dim: int
    has_text: bool | None
    vectors: int = 1

    @classmethod
    def of(cls, encoder: str, kind: str, spec: EncoderSpec) -> ChannelInfo:
        return cls(encoder, kind, spec.source, spec.dim, spec.has_text or kind == "text", spec.vectors)

    def to_record(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder, "kind": self.kind, "source": self.source, "dim": self.dim,
            "has_text": self.has_text, "vectors": self.vectors,
        }  # fmt: skip


class Channels:
    """The encoder channels of an index (visual and text), each encoder created on first use.

    Build one with :meth:`build` (a new index: every encoder is loaded now, to learn its dim) or
    :meth:`from_record` (an existing index: nothing is loaded until a query or an ingest needs it).

    Args:
        info: channel name → what it holds.
        config: the configuration to run with (device and dtype for loading encoders).
        notes: one-line notices (a channel skipped because its weights were unavailable).
        fingerprint: the index's pipeline fingerprint.
    """

    def __init__(
        self, info: Mapping[str, ChannelInfo], config: IndexConfig, *, notes: Sequence[str] = (),
        fingerprint: str = "", built_with: IndexConfig | None = None,
    ) -> None:  # fmt: skip
        self.info = dict(info)
        self.config = config
        self.notes = tuple(notes)
        self.fingerprint = fingerprint
        self.built_with = built_with or config
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- construction

    @classmethod
    def build(cls, config: IndexConfig) -> Channels:
        """Load the configured encoders for a new index; one whose weights are unavailable is skipped with
        a note (the index is built without it)."""
        from vrag.encoders import create_encoder

        _check_chunker(config)
        info: dict[str, ChannelInfo] = {}
        loaded: dict[str, Any] = {}
        notes: list[str] = []
        for name in config.visual_encoders:
            try:
                encoder = create_encoder(name, device=config.device, dtype=config.dtype)
            except ModelUnavailableError as err:
                notes.append(f"visual channel {name!r} skipped: {err}")
                log.warning("visual channel %r skipped: %s", name, err)
                continue
            _refuse_test_weights(encoder.spec, config)
            channel = channel_name(name)
            info[channel], loaded[channel] = ChannelInfo.of(name, "visual", encoder.spec), encoder
        if config.text_encoder:
            channel = channel_name(config.text_encoder)
            text = create_encoder(config.text_encoder, device=config.device)
            info[channel], loaded[channel] = ChannelInfo.of(config.text_encoder, "text", text.spec), text
        channels = cls(info, config, notes=notes)
        channels.fingerprint = fingerprint(config, info)
        channels._loaded = loaded
        return channels

    @classmethod
    def from_record(cls, record: Mapping[str, Any], config: IndexConfig | None = None) -> Channels:
        """The channels a stored schema record describes, loaded lazily with ``config``'s runtime settings
        (default: the configuration the index was built with)."""
        build = record.get("build_info") or {}
        built_with = IndexConfig(**build["config"]) if build.get("config") else IndexConfig()
        config = config or built_with
        table = build.get("channels")
        info = (
            {ch: ChannelInfo(**row) for ch, row in table.items()}
            if table is not None
            else _guess_info(built_with, record.get("dense") or {})
        )
        fp = str(record.get("fingerprint", ""))
        return cls(info, config, notes=build.get("notes") or (), fingerprint=fp, built_with=built_with)

    # ----------------------------------------------------------------- what the index holds

    @property
    def text_channel(self) -> str | None:
        return next((ch for ch, i in self.info.items() if i.kind == "text"), None)

    @property
    def visual_channels(self) -> tuple[str, ...]:
        return tuple(ch for ch, i in self.info.items() if i.kind == "visual")

    def schema(self) -> StoreSchema:
        """The store schema of a new index built with these channels."""
        from vrag.store import DenseChannel, StoreSchema, multi_channel

        dense = {ch: DenseChannel(i.dim) for ch, i in self.info.items()}
        for ch, i in self.info.items():
            if i.vectors > 1:  # K vectors per clip (a Q-Former pooler): a MaxSim channel beside it
                dense[multi_channel(ch)] = DenseChannel(i.dim, multivector=True)
        videos = {ch: c.dim for ch, c in dense.items() if not c.multivector} if self.config.aggregator else {}
        build = {
            "config": self.config.model_dump(mode="json"),
            "notes": list(self.notes),
            "channels": {ch: i.to_record() for ch, i in self.info.items()},
        }
        return StoreSchema(
            dense=dense,
            sparse_text=True,
            video_channels=videos,
            fingerprint=self.fingerprint,
            build_info=build,
        )

    def check_ingest(self, config: IndexConfig) -> None:
        """Refuse to add videos with settings other than the index was built with, saying which differ.

        Raises:
            ConfigError: a setting that shapes what is stored differs (names it, in words, and how to go on
                without deleting anything), or the pipeline itself changed since the index was built.
        """
        changed = [
            f"{key} = {getattr(config, key)!r} (the index was built with {getattr(self.built_with, key)!r})"
            for key in INGEST_SETTINGS
            if _plain(getattr(config, key)) != _plain(getattr(self.built_with, key))
        ]
        if changed:
            raise ConfigError(
                "cannot add videos with settings other than this index was built with: "
                + "; ".join(changed)
                + ". Drop those settings (VRAG_* variables, --config keys, flags) to use the index's own, or "
                "index into another folder (--index NEW_DIR); reading this index works either way"
            )
        now = fingerprint(config, {ch: self._current(ch) for ch in self.info})
        if self.fingerprint and now != self.fingerprint:
            raise ConfigError(
                "this index was built by another version of the vrag pipeline (or its encoders' weights "
                "moved), so new segments would not match the stored ones; index into a new folder "
                "(--index NEW_DIR) and remove this one once the new index is complete"
            )

    # ----------------------------------------------------------------- encoders, on first use

    def encoder(self, channel: str) -> Any:
        """The encoder behind a channel, created now if it is not loaded yet."""
        with self._lock:
            if channel not in self._loaded:
                self._loaded[channel] = self._create(channel)
            return self._loaded[channel]

    @property
    def visual(self) -> dict[str, VideoEncoder]:
        """Every visual channel's encoder (loads them)."""
        return {ch: self.encoder(ch) for ch in self.visual_channels}

    @property
    def text(self) -> TextEncoder | None:
        """The text channel's encoder (loads it), or None."""
        channel = self.text_channel
        return self.encoder(channel) if channel else None

    def takes_text(self, channel: str) -> bool:
        """Whether a channel embeds text queries (loads the encoder only if an old index did not say)."""
        info = self.info[channel]
        if info.has_text is None:
            return bool(self.encoder(channel).spec.has_text)
        return info.has_text

    def text_queries(self, text: str, only: Sequence[str] | None = None) -> dict[str, Any]:
        """Channel → query for ``text``: BM25 takes the words, text-aligned channels their embedding.

        Args:
            text: the query.
            only: just these channels (the others' encoders are not loaded).

        Raises:
            ConfigError: a channel in ``only`` that cannot take a text query (lists those that can).
        """
        from vrag.store import SPARSE_CHANNEL, multi_channel

        able = [SPARSE_CHANNEL]
        for ch, i in self.info.items():
            if (only is None or ch in only or multi_channel(ch) in only) and self.takes_text(ch):
                able += [ch, *([multi_channel(ch)] if i.vectors > 1 else [])]
        wanted = list(only) if only is not None else able
        unknown = [c for c in wanted if c not in able]
        if unknown:
            names = [SPARSE_CHANNEL, *(c for c in self.info if self.takes_text(c))]
            raise ConfigError(
                f"channels {unknown} cannot take a text query; this index's text channels: {names}"
            )
        embedded: dict[str, Any] = {}  # a MaxSim channel scores its pooled channel's query vector
        for ch in wanted:
            base = ch.removesuffix(".multi")
            if ch != SPARSE_CHANNEL and base not in embedded:
                enc = self.encoder(base)
                embedded[base] = (enc.encode_query if self.info[base].kind == "text" else enc.encode_text)(
                    [text]
                )[0]
        return {ch: text if ch == SPARSE_CHANNEL else embedded[ch.removesuffix(".multi")] for ch in wanted}

    def visual_encoders(self, only: Sequence[str] | None = None) -> dict[str, VideoEncoder]:
        """Visual channel → encoder for image and clip queries (only those asked for are loaded).

        Raises:
            ConfigError: a channel in ``only`` that is not a visual channel of this index.
        """
        if only is None:
            return self.visual
        unknown = [c for c in only if c not in self.visual_channels]
        if unknown:
            raise ConfigError(
                f"channels {unknown} cannot take an image or clip; this index's visual channels: "
                f"{list(self.visual_channels) or 'none'}"
            )
        return {ch: self.encoder(ch) for ch in only}

    def _create(self, channel: str) -> Any:
        from vrag.encoders import create_encoder

        info = self.info[channel]
        if info.kind == "text":
            return create_encoder(info.encoder, device=self.config.device)
        encoder = create_encoder(info.encoder, device=self.config.device, dtype=self.config.dtype)
        _refuse_test_weights(encoder.spec, self.config)
        return encoder

    def _current(self, channel: str) -> ChannelInfo:
        """What the channel's encoder is now (loads it)."""
        info = self.info[channel]
        return ChannelInfo.of(info.encoder, info.kind, self.encoder(channel).spec)


def fingerprint(config: IndexConfig, info: Mapping[str, ChannelInfo]) -> str:
    """Hash of everything that decides segment boundaries, text and vectors."""
    visual = {ch: i for ch, i in info.items() if i.kind == "visual"}
    text = next(((ch, i) for ch, i in info.items() if i.kind == "text"), None)
    parts = {
        "pipeline": PIPELINE_VERSION,
        "chunker": config.chunker,
        "chunk_options": config.chunk_options,
        "ocr": config.ocr,
        "asr": config.asr,
        "channels": {
            ch: [i.source, i.dim, *([i.vectors] if i.vectors > 1 else [])] for ch, i in visual.items()
        },
        "text": [text[0], text[1].dim] if text else [None, None],
    }
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.blake2b(blob, digest_size=8).hexdigest()


def channel_name(encoder: str) -> str:
    """A store channel name for an encoder name, hub id or directory (``hf:org/model`` → ``org--model``)."""
    name = encoder.removeprefix("hf:").rstrip("/")
    name = Path(name).name if Path(name).is_dir() else name.replace("/", "--")
    return re.sub(r"[^A-Za-z0-9_.\-]", "-", name)[:64] or "encoder"


def resolve_ocr(mode: str) -> bool:
    """``"auto"`` means on when RapidOCR is installed."""
    if mode != "auto":
        return mode == "on"
    import importlib.util

    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


def _guess_info(built_with: IndexConfig, dense: Mapping[str, Any]) -> dict[str, ChannelInfo]:
    """Channels of an index written before the channel table existed: its configuration and dims."""
    info = {}
    for name in built_with.visual_encoders:
        ch = channel_name(name)
        if ch in dense:
            vectors = 2 if f"{ch}.multi" in dense else 1  # the exact K is not needed to search
            info[ch] = ChannelInfo(name, "visual", "", int(dense[ch]["dim"]), None, vectors)
    if built_with.text_encoder and channel_name(built_with.text_encoder) in dense:
        ch = channel_name(built_with.text_encoder)
        info[ch] = ChannelInfo(built_with.text_encoder, "text", "", int(dense[ch]["dim"]), True)
    return info


def _plain(value: Any) -> Any:
    """Settings compared as JSON would store them (tuples and lists alike)."""
    return json.loads(json.dumps(value, default=str))


def _check_chunker(config: IndexConfig) -> None:
    """Unknown chunker names or options raise here (exit 2 in the CLI), not once per file."""
    from vrag.chunking import CHUNKERS

    CHUNKERS.create(config.chunker, **config.chunk_options)


def _refuse_test_weights(spec: Any, config: IndexConfig) -> None:
    if spec.test_only and not config.allow_test_encoders:
        raise ConfigError(
            f"encoder {spec.name!r} has random test weights; indexing with it would store meaningless "
            "vectors. Pick a real encoder (vrag.encoders.list_encoders()) or set allow_test_encoders in tests"
        )
