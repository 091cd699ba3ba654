"""Open and validate a video with PyAV; read its metadata, content hash and frame-time index.

Everything here is cheap: packets are demuxed (no decoding) to collect every frame's presentation
timestamp, and only the first frame is decoded (to prove the stream decodes and to read rotation).

Time semantics: a frame's time is ``pts * time_base - start_time`` where ``start_time`` is the
container's format-level start (or the first video pts when the container does not say), so a
normal video's first frame is at ``0.0``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vrag.errors import (
    CorruptVideoError,
    MediaError,
    NotAVideoError,
    NoVideoStreamError,
    VideoNotFoundError,
)
from vrag.types import StreamInfo

log = logging.getLogger(__name__)

#: File extensions a folder scan treats as video (others are skipped silently).
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".wmv", ".asf", ".flv", ".f4v", ".mpg", ".mpeg"}
    | {".m2v", ".ts", ".m2ts", ".mts", ".3gp", ".3g2", ".ogv", ".mxf", ".vob", ".divx", ".qt"}
)
_BLOCK = 64 * 1024
_HASH_BLOCKS = 5
_MOV_FORMAT = "mov,mp4,m4a,3gp,3g2,mj2"
# Leading bytes of containers that hold video: a file starting like this but unreadable is damaged.
_VIDEO_MAGIC = (b"\x1a\x45\xdf\xa3", b"RIFF", b"OggS", b"FLV", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75", b"G")


@dataclass(frozen=True, slots=True, eq=False)
class Probe:
    """What :func:`probe` learns about a file (the data behind a ``VideoSource``)."""

    path: Path
    video_id: str
    duration: float
    fps: float
    is_vfr: bool
    width: int
    height: int
    rotation: int
    codec: str
    start_time: float
    audio_streams: tuple[StreamInfo, ...]
    subtitle_streams: tuple[StreamInfo, ...]
    frame_times: np.ndarray
    frame_pts: np.ndarray
    keyframes: np.ndarray
    stream_index: int
    damaged: bool
    pts_ok: bool


@dataclass(slots=True)
class _Index:
    """Raw packet facts collected while demuxing."""

    pts: list[int]
    keys: list[bool]
    last_duration: int = 0
    missing_pts: int = 0
    damaged: bool = False
    rotation: int | None = None


def check_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a :class:`Path` if it names a readable, non-empty regular file.

    Raises:
        VideoNotFoundError: missing, or a directory.
        NotAVideoError: empty, or not a regular file.
        MediaError: the file cannot be read (permissions).
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise VideoNotFoundError(
            p, "is a directory, not a video file", "pass a file, or use scan_videos() on a folder"
        )
    if not p.exists():
        raise VideoNotFoundError(p, "no such file")
    if not p.is_file():
        raise NotAVideoError(p, "is not a regular file (device, pipe or socket)")
    if p.stat().st_size == 0:
        raise NotAVideoError(p, "the file is empty (0 bytes)", "re-copy or re-download the video")
    if not os.access(p, os.R_OK):
        raise MediaError(p, "permission denied", "make the file readable (chmod +r)")
    return p


def video_id(path: Path) -> str:
    """Deterministic content hash: blake2b over the size and a few 64 KiB blocks (start, middle, end).

    Reads at most ``5 * 64 KiB`` whatever the file size, so hashing a 10 GB file is instant.
    """
    size = path.stat().st_size
    digest = hashlib.blake2b(size.to_bytes(8, "little"), digest_size=16)
    with path.open("rb") as fh:
        if size <= _BLOCK * _HASH_BLOCKS:
            digest.update(fh.read())
        else:
            for k in range(_HASH_BLOCKS):
                fh.seek((size - _BLOCK) * k // (_HASH_BLOCKS - 1))
                digest.update(fh.read(_BLOCK))
    return digest.hexdigest()


def probe(path: str | os.PathLike[str]) -> Probe:
    """Validate ``path`` and read everything a ``VideoSource`` needs (see module docstring).

    Raises:
        MediaError: a subclass saying what is wrong with the file and what to do.
    """
    p = check_path(path)
    container = _open(p)
    try:
        stream = _video_stream(p, container)
        index = _demux_index(p, container, stream)
        return _build(p, container, stream, index)
    finally:
        container.close()


def _open(path: Path) -> Any:
    import av

    try:
        return av.open(str(path), metadata_errors="replace")
    except av.error.FFmpegError as err:
        with path.open("rb") as fh:
            head = fh.read(12)
        if _looks_like_video(head, path):
            raise CorruptVideoError(path, f"cannot be parsed, it looks truncated or damaged ({err})") from err
        raise NotAVideoError(path, "is not a video file FFmpeg can read") from err


def _looks_like_video(head: bytes, path: Path) -> bool:
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return True
    return head.startswith(_VIDEO_MAGIC) and path.suffix.lower() in VIDEO_EXTENSIONS


def _video_stream(path: Path, container: Any) -> Any:
    fmt = container.format.name
    if fmt == "image2" or fmt.endswith("_pipe"):
        raise NotAVideoError(path, f"is a still image ({fmt}), not a video")
    import av

    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        raise NoVideoStreamError(path, "has no video stream")
    return streams[0]


def _demux_index(path: Path, container: Any, stream: Any) -> _Index:
    """Collect pts and keyframe flags of every packet; decode until the first frame comes out."""
    import av

    index = _Index(pts=[], keys=[])
    decoding = True
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard:
                continue
            _add_packet(index, packet)
            if decoding and (frame := _try_decode(stream, packet)) is not None:
                index.rotation, decoding = (-int(frame.rotation)) % 360, False
    except av.error.FFmpegError as err:
        log.warning(
            "%s: stopped reading at a damaged packet (%s); using the %d frames before it",
            path,
            err,
            len(index.pts),
        )
        index.damaged = True
    if decoding:
        index.rotation = _flush_first_frame(stream)
    return index


def _add_packet(index: _Index, packet: Any) -> None:
    if packet.is_corrupt:  # a packet cut short by truncation: its frame cannot be shown
        index.damaged = True
        return
    pts = packet.pts if packet.pts is not None else packet.dts
    if pts is None:
        index.missing_pts += 1
        pts = index.pts[-1] + max(index.last_duration, 1) if index.pts else 0
    index.pts.append(int(pts))
    index.keys.append(bool(packet.is_keyframe))
    index.last_duration = int(packet.duration or 0)


def _try_decode(stream: Any, packet: Any) -> Any:
    import av

    try:
        frames = stream.decode(packet)
    except av.error.FFmpegError:
        return None
    return frames[0] if frames else None


def _flush_first_frame(stream: Any) -> int | None:
    import av

    try:
        frames = stream.decode(None)
    except av.error.FFmpegError:
        return None
    return (-int(frames[0].rotation)) % 360 if frames else None


def _build(path: Path, container: Any, stream: Any, index: _Index) -> Probe:
    if not index.pts or index.rotation is None:
        raise CorruptVideoError(path, "no video frame could be decoded")
    pts = np.asarray(index.pts, dtype=np.int64)
    order = np.argsort(pts, kind="stable")
    pts = pts[order]
    tb = stream.time_base
    start = (
        container.start_time / 1e6
        if container.start_time is not None
        else pts[0] * tb.numerator / tb.denominator
    )
    times = (pts.astype(np.float64) * tb.numerator) / tb.denominator - start
    times.flags.writeable = False
    damaged = index.damaged or _fewer_than_declared(container, stream, len(pts), path)
    width, height = _display_size(stream, index.rotation)
    return Probe(
        path=path,
        video_id=video_id(path),
        duration=float(times[-1] + _last_frame_duration(times, float(index.last_duration * tb), stream)),
        fps=_average_fps(times, stream),
        is_vfr=_is_vfr(times),
        width=width,
        height=height,
        rotation=index.rotation,
        codec=_codec_name(stream),
        start_time=start,
        audio_streams=_streams(container.streams.audio, "audio"),
        subtitle_streams=_streams(container.streams.subtitles, "subtitle"),
        frame_times=times,
        frame_pts=pts,
        keyframes=np.flatnonzero(np.asarray(index.keys, dtype=bool)[order]),
        stream_index=stream.index,
        damaged=damaged,
        pts_ok=index.missing_pts == 0 and bool(np.all(np.diff(pts) > 0)),
    )


def _fewer_than_declared(container: Any, stream: Any, found: int, path: Path) -> bool:
    declared = int(stream.frames or 0)
    if container.format.name != _MOV_FORMAT or found >= declared:
        return False
    log.warning("%s: the file is truncated: %d of %d frames are readable", path, found, declared)
    return True


def _display_size(stream: Any, rotation: int) -> tuple[int, int]:
    w, h = int(stream.codec_context.width), int(stream.codec_context.height)
    return (h, w) if rotation in (90, 270) else (w, h)


def _last_frame_duration(times: np.ndarray, packet_duration: float, stream: Any) -> float:
    if packet_duration > 0:
        return packet_duration
    if len(times) > 1:
        return float(np.median(np.diff(times)))
    rate = stream.average_rate or stream.guessed_rate
    return 1.0 / float(rate) if rate else 0.0


def _average_fps(times: np.ndarray, stream: Any) -> float:
    if len(times) > 1 and times[-1] > times[0]:
        return float((len(times) - 1) / (times[-1] - times[0]))
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else 0.0


def _is_vfr(times: np.ndarray) -> bool:
    """True when some frame interval differs from the typical one by more than 2 ms and 10 %."""
    if len(times) < 3:
        return False
    gaps = np.diff(times)
    typical = float(np.median(gaps))
    return bool(np.any(np.abs(gaps - typical) > max(0.002, 0.1 * typical)))


def _streams(streams: Iterator[Any], kind: Any) -> tuple[StreamInfo, ...]:
    return tuple(
        StreamInfo(index=s.index, kind=kind, codec=_codec_name(s), language=_language(s)) for s in streams
    )


def _codec_name(stream: Any) -> str:
    """The codec's canonical (ffprobe) name, e.g. ``h264``, ``vp9``, ``aac``, ``subrip``."""
    try:
        return str(stream.codec.canonical_name)
    except Exception:  # PyAV has no codec object for some unusual streams
        return "unknown"


def _language(stream: Any) -> str | None:
    lang = stream.metadata.get("language")
    return None if not lang or lang == "und" else str(lang)
