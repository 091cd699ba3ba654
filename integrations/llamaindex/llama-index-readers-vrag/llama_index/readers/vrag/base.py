"""``VideoReader``: a video file as LlamaIndex ``Document`` objects, one per segment.

Segments, their transcript and on-screen text come from ``vrag.pipeline.plan_video`` — the same cutting and
reading ``VideoIndex.add`` does — so documents line up with the spans a vrag index returns. Told the index
(``index=``), the reader cuts with that index's settings and ids each document by the point id the index
gives that span, which is also the id ``llama_index.retrievers.vrag`` gives its node.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document

from vrag import Hit, VideoIndex
from vrag.errors import ConfigError

__all__ = ["VideoReader"]

Mode = Literal["auto", "on", "off"]

LLM_METADATA_KEYS = ("citation",)
"""The metadata an LLM sees with each passage (as ``llama_index.retrievers.vrag`` shows it)."""


class VideoReader(BaseReader):
    """Reads videos into one ``Document`` per semantic segment (shots merged into scenes, cut at sentence
    ends), with the transcript (subtitles, or speech recognition) and optional on-screen text as its text.

    Document ids are deterministic — vrag's segment point id: uuid5 of the video's content hash, the
    segment's start and end in milliseconds and the index's pipeline fingerprint — so reading a file twice
    gives the same ids and re-ingesting it replaces rather than duplicates. With ``index=`` the fingerprint is
    that index's and the chunking is the one it was built with, so a document and the node
    ``llama_index.retrievers.vrag.VideoRetriever`` returns for the same span share their id; without it the
    fingerprint is empty (ids stable, but unlike any index's). Metadata: ``video`` (resolved path),
    ``video_id``, ``start`` and ``end`` (exact seconds, from presentation timestamps), ``keyframe`` and
    ``citation`` (``[name mm:ss–mm:ss]``, the only key shown to LLMs), plus ``extra_info`` (the file
    metadata ``SimpleDirectoryReader`` adds).

    Args:
        index: the vrag index the documents should match (an open ``VideoIndex`` or its folder; only its
            schema record is read, no lock is taken): its fingerprint ids the documents and its settings
            are the defaults of the four below.
        chunker: a vrag chunker (``"semantic"``, ``"shots"``, ``"fixed"``; default the index's, else
            ``"semantic"``).
        chunk_options: the chunker's settings (e.g. ``{"max_duration": 30.0}``).
        ocr: read on-screen text at each segment's keyframes (``"auto"``: when RapidOCR is installed).
        asr: speech recognition when a video has no subtitles (``"auto"``: when faster-whisper and its
            model are available).

    Raises:
        UnknownNameError / ConfigError: an unknown chunker or chunker option, no index at ``index``, or a
            chunker setting unlike the index's (when constructed).

    Example:
        >>> from llama_index.core import SimpleDirectoryReader
        >>> from llama_index.readers.vrag import VideoReader
        >>> reader = VideoReader(ocr="off")
        >>> docs = SimpleDirectoryReader(                                  # doctest: +SKIP
        ...     "lectures/", file_extractor={".mp4": reader, ".mkv": reader, ".webm": reader}
        ... ).load_data()
    """

    def __init__(
        self,
        *,
        index: VideoIndex | str | os.PathLike[str] | None = None,
        chunker: str | None = None,
        chunk_options: Mapping[str, Any] | None = None,
        ocr: Mode | None = None,
        asr: Mode | None = None,
    ) -> None:
        from vrag.chunking import CHUNKERS

        self.fingerprint, built = _index_settings(index) if index is not None else ("", {})
        if built and (chunker, chunk_options) != (None, None):
            options = built["chunk_options"] if chunk_options is None else dict(chunk_options)
            if (chunker or built["chunker"], options) != (built["chunker"], built["chunk_options"]):
                raise ConfigError(
                    f"VideoReader: the index was cut with chunker={built['chunker']!r}, chunk_options="
                    f"{built['chunk_options']}; leave chunker and chunk_options unset so documents match "
                    "its spans"
                )
        self.chunker: str = chunker or built.get("chunker", "semantic")
        self.chunk_options = dict(chunk_options or built.get("chunk_options", {}))
        self.ocr: Mode = ocr or built.get("ocr", "auto")
        self.asr: Mode = asr or built.get("asr", "auto")
        for name, mode in (("ocr", self.ocr), ("asr", self.asr)):
            if mode not in ("auto", "on", "off"):
                raise ConfigError(f"VideoReader: {name} must be 'auto', 'on' or 'off', got {mode!r}")
        CHUNKERS.create(self.chunker, **self.chunk_options)  # unknown names / options raise here, per reader

    def lazy_load_data(
        self,
        file: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        extra_info: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Iterator[Document]:
        """Documents of one video file (or of several, in order).

        Args:
            file: a video path, or a list of them.
            extra_info: metadata added to every document.
            **kwargs: ``fs`` (from ``SimpleDirectoryReader``) is refused: videos are decoded from local files.

        Raises:
            MediaError: a file is missing or is not a readable video (the message says the fix).
        """
        if kwargs.get("fs") is not None:
            raise ConfigError("VideoReader reads local files only; copy the videos locally first")
        files = [file] if isinstance(file, str | os.PathLike) else list(file)
        for path in files:
            yield from self._documents(Path(path), dict(extra_info or {}))

    def load_data(
        self,
        file: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        extra_info: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """All documents of :meth:`lazy_load_data` as a list."""
        return list(self.lazy_load_data(file, extra_info, **kwargs))

    def _documents(self, path: Path, extra: dict[str, Any]) -> Iterator[Document]:
        from vrag.media import open_video
        from vrag.pipeline import plan_video, resolve_ocr
        from vrag.store import segment_point_id

        plan = plan_video(open_video(path), self.chunker, self.chunk_options, resolve_ocr(self.ocr), self.asr)
        screen = plan.ocr_text or ("",) * len(plan.segments)
        for segment, on_screen in zip(plan.segments, screen, strict=True):
            text = "\n".join(part for part in (segment.text, on_screen) if part)
            keyframe = segment.keyframes[0] if segment.keyframes else None
            hit = Hit(plan.path, plan.video_id, segment.start, segment.end, 0.0, text, keyframe)
            metadata = {
                k: v
                for k, v in hit.to_dict().items()
                if k not in ("id", "text", "score", "raw_score", "channel_scores")
            }
            metadata.update(extra)
            yield Document(
                id_=segment_point_id(plan.video_id, segment.start, segment.end, self.fingerprint),
                text=text,
                metadata=metadata,
                excluded_llm_metadata_keys=[key for key in metadata if key not in LLM_METADATA_KEYS],
                excluded_embed_metadata_keys=list(metadata),
            )


def _index_settings(index: VideoIndex | str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """The index's pipeline fingerprint and the configuration it was built with (as a dict)."""
    if isinstance(index, VideoIndex):
        return index.fingerprint, index.config.model_dump()
    from vrag.store import read_schema_record

    record = read_schema_record(index)
    if record is None:
        raise ConfigError(
            f"VideoReader: no vrag index at {os.fspath(index)} (build it first, or leave index unset)"
        )
    config = (record.get("build_info") or {}).get("config") or {}
    return str(record.get("fingerprint", "")), dict(config)
