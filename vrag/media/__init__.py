"""Media: open and decode videos (exact PTS times), read audio, subtitles, speech and on-screen text.

Example:
    >>> from vrag.media import open_video, scan_videos
    >>> video = open_video("talk.mp4")
    >>> clip = video.uniform(16, 10.0, 12.0, size=(224, 224))  # 16 frames of the window [10 s, 12 s)
    >>> report = scan_videos(["videos/"])  # every video under the folder, and the files that failed
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vrag.media._scan import ScanReport, scan_videos, video_files
from vrag.media._source import VideoSource, open_video

__all__ = [
    "ScanReport",
    "Transcript",
    "VideoSource",
    "find_sidecar_subtitles",
    "load_transcript",
    "ocr_frames",
    "open_video",
    "read_image",
    "read_subtitle_file",
    "scan_videos",
    "sentence_boundaries",
    "video_files",
]

# Text helpers live in their own private modules and load on first use (OCR and ASR pull in heavy libraries).
_LAZY = {
    "load_transcript": "vrag.media._subtitles",
    "Transcript": "vrag.media._subtitles",
    "read_subtitle_file": "vrag.media._subtitles",
    "find_sidecar_subtitles": "vrag.media._subtitles",
    "sentence_boundaries": "vrag.media._subtitles",
    "ocr_frames": "vrag.media._ocr",
    "read_image": "vrag.media._image",
}

if TYPE_CHECKING:
    from vrag.media._image import read_image
    from vrag.media._ocr import ocr_frames
    from vrag.media._subtitles import (
        Transcript,
        find_sidecar_subtitles,
        load_transcript,
        read_subtitle_file,
        sentence_boundaries,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vrag.media' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
