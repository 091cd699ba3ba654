"""Synthesize test media with PyAV: every frame's pixels encode its own frame index.

A frame carries its index as a 4x4 grid of black/white cells (16 bits, row-major, most significant
first), readable back after compression and any resize: ``read_index(frame)``.
"""

from __future__ import annotations

import fractions
import struct
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np

GRID = 4
_VIDEO_CODEC = {
    ".mp4": "libx264",
    ".mov": "libx264",
    ".mkv": "libx264",
    ".webm": "libvpx-vp9",
    ".avi": "mpeg4",
}
_SUB_CODEC = {".mp4": "mov_text", ".mov": "mov_text", ".mkv": "subrip", ".webm": "webvtt"}
_ASS_HEADER = (
    b"[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n[V4+ Styles]\n"
    b"Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
    b"Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
    b"Alignment, MarginL, MarginR, MarginV, Encoding\n"
    b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\n\n"
    b"[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
)

Cue = tuple[float, float, str]  # start s, end s, text


def index_frame(i: int, width: int, height: int) -> np.ndarray:
    """RGB frame whose 4x4 cell grid spells ``i`` in binary (cell on = bit set)."""
    bits = [(i >> (GRID * GRID - 1 - b)) & 1 for b in range(GRID * GRID)]
    cells = np.where(np.array(bits, dtype=bool).reshape(GRID, GRID), 235, 16).astype(np.uint8)
    ys = np.minimum(np.arange(height) * GRID // height, GRID - 1)
    xs = np.minimum(np.arange(width) * GRID // width, GRID - 1)
    return np.repeat(cells[ys][:, xs][..., None], 3, axis=2)


def read_index(frame: np.ndarray) -> int:
    """Inverse of :func:`index_frame` for a decoded (possibly resized) frame ``[H, W, 3]``."""
    h, w = frame.shape[:2]
    gray = frame.astype(np.float32).mean(axis=2)
    value = 0
    for r in range(GRID):
        for c in range(GRID):
            y0, y1 = (4 * r + 1) * h // (4 * GRID), (4 * r + 3) * h // (4 * GRID)
            x0, x1 = (4 * c + 1) * w // (4 * GRID), (4 * c + 3) * w // (4 * GRID)
            cell = gray[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
            value = (value << 1) | int(cell.mean() > 128)
    return value


def write_video(
    path: str | Path,
    n_frames: int = 50,
    *,
    fps: float = 25,
    size: tuple[int, int] = (64, 48),
    pts_ms: Sequence[int] | None = None,
    start_ms: int = 0,
    frame_fn: Callable[[int, int, int], np.ndarray] = index_frame,
    codec: str | None = None,
    audio_s: float | None = None,
    subtitles: Sequence[Cue] = (),
    subtitle_language: str = "eng",
) -> Path:
    """Write a video of ``n_frames`` frames; frame ``i`` shows ``frame_fn(i, w, h)``.

    Args:
        pts_ms: presentation time of each frame in ms (variable frame rate); default ``i * 1000 / fps``.
        start_ms: added to every pts (a container that does not start at zero).
        audio_s: add a 440 Hz mono AAC/Opus track of this length.
        subtitles: embedded text subtitle cues (mov_text in mp4/mov, subrip in mkv, webvtt in webm).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    tb = fractions.Fraction(1, 1000)
    out = av.open(str(path), "w")
    stream = out.add_stream(codec or _VIDEO_CODEC[suffix], rate=round(fps))
    stream.width, stream.height = size
    odd = size[0] % 2 or size[1] % 2
    stream.pix_fmt = "yuv444p" if odd and stream.codec_context.name == "libx264" else "yuv420p"
    stream.time_base = tb
    stream.codec_context.time_base = tb
    if stream.codec_context.name == "libx264":
        stream.codec_context.options = {"bf": "0"} if pts_ms is not None else {}
    sub_stream = _add_subtitle_stream(out, suffix, subtitle_language) if subtitles else None
    audio_stream = out.add_stream("libopus" if suffix == ".webm" else "aac", rate=48000) if audio_s else None
    times = pts_ms if pts_ms is not None else [round(i * 1000 / fps) for i in range(n_frames)]
    for i in range(n_frames):
        frame = av.VideoFrame.from_ndarray(frame_fn(i, *size), format="rgb24")
        frame.pts, frame.time_base = int(times[i]) + start_ms, tb
        out.mux(stream.encode(frame))
    out.mux(stream.encode())
    if audio_stream is not None and audio_s:
        _write_tone(out, audio_stream, audio_s)
    for start, end, text in subtitles:
        data = text.encode()
        if sub_stream.codec_context.name == "mov_text":
            data = len(data).to_bytes(2, "big") + data
        packet = av.Packet(data)
        packet.stream, packet.time_base = sub_stream, tb
        packet.pts = packet.dts = round(start * 1000) + start_ms
        packet.duration = round((end - start) * 1000)
        out.mux(packet)
    out.close()
    return path


def _add_subtitle_stream(out: av.container.OutputContainer, suffix: str, language: str) -> av.stream.Stream:
    stream = out.add_stream(_SUB_CODEC[suffix])
    stream.codec_context.subtitle_header = _ASS_HEADER
    stream.time_base = fractions.Fraction(1, 1000)
    stream.metadata["language"] = language
    return stream


def _write_tone(out: av.container.OutputContainer, stream: av.stream.Stream, seconds: float) -> None:
    rate, n = 48000, int(48000 * seconds)
    t = np.arange(n) / rate
    samples = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    size = stream.codec_context.frame_size or 1024
    for offset in range(0, n, size):
        chunk = samples[offset : offset + size]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, offset
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def write_audio_only(path: str | Path, seconds: float = 1.0) -> Path:
    """An audio-only file (m4a/mp4 with AAC, or .ogg/.webm with Opus)."""
    path = Path(path)
    out = av.open(str(path), "w")
    stream = out.add_stream("libopus" if path.suffix in (".webm", ".ogg") else "aac", rate=48000)
    _write_tone(out, stream, seconds)
    out.close()
    return path


def write_image(path: str | Path, size: tuple[int, int] = (64, 48)) -> Path:
    """A still PNG image (to check that images are refused as videos)."""
    path = Path(path)
    out = av.open(str(path), "w", format="image2")
    stream = out.add_stream("png")
    stream.width, stream.height, stream.pix_fmt = size[0], size[1], "rgb24"
    frame = av.VideoFrame.from_ndarray(index_frame(7, *size), format="rgb24")
    out.mux(stream.encode(frame))
    out.mux(stream.encode())
    out.close()
    return path


def set_mp4_rotation(path: str | Path, degrees: int) -> Path:
    """Rewrite the video track's display matrix in place (what phones write for portrait video).

    ``degrees`` is the clockwise rotation a player applies for display: 90, 180 or 270.
    """
    path = Path(path)
    data = bytearray(path.read_bytes())
    one = 1 << 16
    a, b, c, d = {90: (0, one, -one, 0), 180: (-one, 0, 0, -one), 270: (0, -one, one, 0)}[degrees]
    pos = data.find(b"tkhd")
    while pos != -1:
        version = data[pos + 4]
        matrix_at = pos + 4 + 4 + (32 if version == 1 else 20) + 2 + 2 + 2 + 2 + 8
        width_at = matrix_at + 36
        if struct.unpack(">I", data[width_at : width_at + 4])[0]:  # the video track has a size
            data[matrix_at : matrix_at + 36] = struct.pack(">9i", a, b, 0, c, d, 0, 0, 0, 1 << 30)
            break
        pos = data.find(b"tkhd", pos + 4)
    path.write_bytes(bytes(data))
    return path
