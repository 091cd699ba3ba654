"""``scan_videos``: open every video under some folders, collect the ones that fail, and go on."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vrag.errors import MediaError
from vrag.media._probe import VIDEO_EXTENSIONS
from vrag.media._source import VideoSource, open_video

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class ScanReport:
    """The result of :func:`scan_videos`.

    Attributes:
        videos: the files that opened, in path order.
        failed: ``(path, error)`` for each file that did not; the error says what to do.
    """

    videos: tuple[VideoSource, ...]
    failed: tuple[tuple[Path, MediaError], ...]


def scan_videos(paths_or_dirs: PathLike | Iterable[PathLike], *, recursive: bool = True) -> ScanReport:
    """Open every video in the given files and folders; a bad file is reported, never fatal.

    In folders only files with a video extension (mp4, mkv, webm, mov, avi, ...) are tried, so
    subtitles, images and notes beside the videos are skipped silently; hidden files are skipped too.
    A file named explicitly is always validated, whatever its extension.

    Args:
        paths_or_dirs: one path or several (files and/or folders).
        recursive: also look inside sub-folders.
    """
    videos: list[VideoSource] = []
    failed: list[tuple[Path, MediaError]] = []
    for path in video_files(paths_or_dirs, recursive=recursive):
        try:
            videos.append(open_video(path))
        except MediaError as err:
            log.info("skipping %s", err)  # the report lists it; callers decide how loud
            failed.append((path, err))
    return ScanReport(videos=tuple(videos), failed=tuple(failed))


def video_files(paths_or_dirs: PathLike | Iterable[PathLike], *, recursive: bool = True) -> Iterator[Path]:
    """The files given and the video files inside the folders given (by extension, hidden ones skipped),
    each real file once, in order; nothing is opened."""
    roots = [paths_or_dirs] if isinstance(paths_or_dirs, str | os.PathLike) else list(paths_or_dirs)
    seen: set[Path] = set()
    for root in roots:
        root = Path(root).expanduser()
        for path in _folder_videos(root, recursive) if root.is_dir() else [root]:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                yield path


def _folder_videos(folder: Path, recursive: bool) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        found.extend(
            Path(dirpath, name)
            for name in filenames
            if not name.startswith(".") and Path(name).suffix.lower() in VIDEO_EXTENSIONS
        )
    return sorted(found)
