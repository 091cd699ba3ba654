"""``VideoReader``: a video file as LlamaIndex ``Document`` objects, one per segment.

Segments, their transcript and on-screen text come from ``vrag.pipeline.plan_video`` — the same cutting and
reading ``VideoIndex.add`` does — so documents line up with the spans a vrag index returns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document
from llama_index.retrievers.vrag import LLM_METADATA_KEYS, node_id

from vrag import Hit
from vrag.errors import ConfigError

__all__ = ["VideoReader"]

Mode = Literal["auto", "on", "off"]


class VideoReader(BaseReader):
    """Reads videos into one ``Document`` per semantic segment (shots merged into scenes, cut at sentence
    ends), with the transcript (subtitles, or speech recognition) and optional on-screen text as its text.

    Document ids are deterministic — uuid5 of the video's content hash and the segment's start and end in
    milliseconds, the same id ``VideoRetriever`` gives that span's node — so reading a file twice gives the
    same ids and re-ingesting it replaces rather than duplicates. Metadata: ``video`` (resolved path),
    ``video_id``, ``start`` and ``end`` (exact seconds, from presentation timestamps), ``keyframe`` and
    ``citation`` (``[name mm:ss–mm:ss]``, the only key shown to LLMs), plus ``extra_info`` (the file
    metadata ``SimpleDirectoryReader`` adds).

    Args:
        chunker: a vrag chunker (``"semantic"``, ``"shots"``, ``"fixed"``).
        chunk_options: the chunker's settings (e.g. ``{"max_duration": 30.0}``).
        ocr: read on-screen text at each segment's keyframes (``"auto"``: when RapidOCR is installed).
        asr: speech recognition when a video has no subtitles (``"auto"``: when faster-whisper and its
            model are available).

    Raises:
        UnknownNameError / ConfigError: an unknown chunker or chunker option (when constructed).

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
        chunker: str = "semantic",
        chunk_options: Mapping[str, Any] | None = None,
        ocr: Mode = "auto",
        asr: Mode = "auto",
    ) -> None:
        from vrag.chunking import CHUNKERS

        for name, mode in (("ocr", ocr), ("asr", asr)):
            if mode not in ("auto", "on", "off"):
                raise ConfigError(f"VideoReader: {name} must be 'auto', 'on' or 'off', got {mode!r}")
        self.chunk_options = dict(chunk_options or {})
        CHUNKERS.create(chunker, **self.chunk_options)  # unknown names / options raise here, not per file
        self.chunker, self.ocr, self.asr = chunker, ocr, asr

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
        from vrag.index import resolve_ocr
        from vrag.media import open_video
        from vrag.pipeline import plan_video

        plan = plan_video(open_video(path), self.chunker, self.chunk_options, resolve_ocr(self.ocr), self.asr)
        screen = plan.ocr_text or ("",) * len(plan.segments)
        for segment, on_screen in zip(plan.segments, screen, strict=True):
            text = "\n".join(part for part in (segment.text, on_screen) if part)
            keyframe = segment.keyframes[0] if segment.keyframes else None
            hit = Hit(plan.path, plan.video_id, segment.start, segment.end, 0.0, text, keyframe)
            metadata = {
                k: v for k, v in hit.to_dict().items() if k not in ("text", "score", "channel_scores")
            }
            metadata.update(extra)
            yield Document(
                id_=node_id(plan.video_id, segment.start, segment.end),
                text=text,
                metadata=metadata,
                excluded_llm_metadata_keys=[key for key in metadata if key not in LLM_METADATA_KEYS],
                excluded_embed_metadata_keys=list(metadata),
            )
