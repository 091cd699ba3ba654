"""Worker side of ingest: one video in, its plan (segments, transcript, on-screen text) and clips out.

These functions run in worker processes (or inline); they only read media and return plain frozen data, so
any engine (the local process pool, Ray) can run them and the main side writes the results.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vrag.types import Cue, Segment

if TYPE_CHECKING:
    from vrag.encoders import EncoderSpec, VideoEncoder
    from vrag.media import VideoSource
    from vrag.media._fingerprint import SourceFacts

_PR_SET_PDEATHSIG = 1

__all__ = [
    "MAX_SEGMENT_TEXT",
    "AsrMode",
    "VideoPlan",
    "cap_text",
    "decode_clips",
    "encode_clips",
    "exit_with_parent",
    "fit_cues",
    "forget_sources",
    "plan_video",
]

AsrMode = Literal["auto", "on", "off"]
MAX_SEGMENT_TEXT = 10_000
"""Characters of transcript kept per segment (and per cue): far more than speech fills, and a bound on what a
hostile subtitle file can make the index (and the text encoder) hold."""


@dataclass(frozen=True, slots=True)
class VideoPlan:
    """A video cut into segments, ready for encoding (what a worker hands back)."""

    path: str
    video_id: str
    duration: float
    width: int
    height: int
    segments: tuple[Segment, ...]
    speech: str  # where the transcript came from, or why there is none (and what was dropped from it)
    ocr_text: tuple[str, ...] = ()  # on-screen text per segment ("" where none)
    source: SourceFacts | None = None  # size, time, full hash and sidecar digest it was indexed from


_OPEN: OrderedDict[str, VideoSource] = OrderedDict()  # video_id → source, in whichever process decodes


def _remember(video: VideoSource) -> VideoSource:
    _OPEN[video.video_id] = video
    _OPEN.move_to_end(video.video_id)
    while len(_OPEN) > 4:
        _OPEN.popitem(last=False)[1].close()
    return video


def _source(path: str, video_id: str) -> VideoSource:
    """The source scanned as ``video_id``; reopened if this process has not seen it (checked unchanged)."""
    from vrag.errors import MediaError
    from vrag.media import open_video

    if video_id not in _OPEN:
        video = open_video(path)
        if video.video_id != video_id:
            raise MediaError(path, "the file changed while it was being indexed", "index it again")
        _remember(video)
    return _OPEN[video_id]


def forget_sources() -> None:
    """Close and drop the sources this process holds (the main process calls it after each run)."""
    while _OPEN:
        _OPEN.popitem()[1].close()


def plan_video(
    video: VideoSource, chunker: str, options: Mapping[str, Any], ocr: bool, asr: AsrMode
) -> VideoPlan:
    """Chunk one scanned video (speech aligned), and read on-screen text at each segment's keyframes."""
    from vrag.chunking import chunk_video
    from vrag.media import load_transcript
    from vrag.media._fingerprint import source_facts

    facts = source_facts(video.path, with_hash=True)  # before reading it: a later edit is seen next run
    video = _remember(video)
    transcript = load_transcript(video, asr=asr)
    cues, notes = fit_cues(transcript.cues, video.duration)
    segments, capped = cap_text(chunk_video(video, chunker=chunker, cues=cues, **options))
    if capped:
        notes.append(f"the transcript of {capped} segments was cut to {MAX_SEGMENT_TEXT} characters each")
    screen = _screen_text(video, segments) if ocr else ()
    return VideoPlan(
        str(Path(video.path).resolve()), video.video_id, video.duration, video.width, video.height,
        tuple(segments), "; ".join([transcript.note, *notes]), screen, facts,
    )  # fmt: skip


def fit_cues(cues: Sequence[Cue], duration: float) -> tuple[list[Cue], list[str]]:
    """The cues a video can show: those starting past its end are dropped, ends are clipped to it and each
    text is cut to ``MAX_SEGMENT_TEXT`` characters; returns them with a note for each kind of change."""
    kept = [
        dataclasses.replace(c, end=min(c.end, duration), text=c.text[:MAX_SEGMENT_TEXT])
        for c in cues
        if c.start < duration
    ]
    notes = []
    if len(kept) < len(cues):
        notes.append(f"{len(cues) - len(kept)} subtitle cues start after the video ends and were dropped")
    long = sum(len(c.text) > MAX_SEGMENT_TEXT for c in cues if c.start < duration)
    if long:
        notes.append(f"{long} subtitle cues were cut to {MAX_SEGMENT_TEXT} characters")
    return kept, notes


def cap_text(segments: Sequence[Segment]) -> tuple[list[Segment], int]:
    """Segments with at most ``MAX_SEGMENT_TEXT`` characters of text each, and how many were cut."""
    out = [
        dataclasses.replace(s, text=s.text[:MAX_SEGMENT_TEXT]) if len(s.text) > MAX_SEGMENT_TEXT else s
        for s in segments
    ]
    return out, sum(len(s.text) > MAX_SEGMENT_TEXT for s in segments)


def _screen_text(video: VideoSource, segments: Sequence[Segment]) -> tuple[str, ...]:
    """On-screen text at each segment's keyframes: one decode and one OCR pass for all (a keyframe showing
    the same picture as the last one read reuses its text), then merged segment by segment."""
    from vrag.media._ocr import merge_runs, ocr_texts

    times = [t for seg in segments for t in seg.keyframes]
    frames = video.frames_at(times, size=_ocr_size(video.width, video.height))
    read = ocr_texts(frames) if len(frames) else []
    texts, at = [], 0
    for seg in segments:
        part = slice(at, at + len(seg.keyframes))
        at = part.stop
        cues = merge_runs([float(t) for t in frames.times[part]], read[part])
        texts.append(" ".join(dict.fromkeys(c.text for c in cues)))
    return tuple(texts)


def _ocr_size(width: int, height: int, longest: int = 960) -> tuple[int, int] | None:
    scale = longest / max(width, height)
    return None if scale >= 1 else (round(width * scale), round(height * scale))


def decode_clips(
    path: str, video_id: str, spans: Sequence[tuple[float, float]], specs: Sequence[EncoderSpec]
) -> list[np.ndarray]:
    """For each encoder spec, the uint8 clips ``[len(spans), T, H, W, 3]`` it asks for over ``spans``."""
    video = _source(path, video_id)
    out = []
    for spec in specs:
        size = spec.decode_size(video.width, video.height)
        times = np.concatenate([spec.clip_times(s, e) for s, e in spans])
        data = video.frames_at(times, size=size).data
        out.append(data.reshape(len(spans), spec.frames, *data.shape[1:]))
    return out


def encode_clips(channel: str, encoder: VideoEncoder, clips: np.ndarray) -> dict[str, np.ndarray]:
    """Channel → vectors for a batch of clips; an encoder with K vectors per clip also fills its MaxSim
    channel, and its single vector is the normalised mean of the K (what ``encode_video`` returns)."""
    if encoder.spec.vectors <= 1:
        return {channel: encoder.encode_video(clips)}
    from vrag.store import multi_channel

    multi = encoder.encode_video_multi(clips)  # type: ignore[attr-defined]
    pooled = multi.mean(axis=1)
    pooled /= np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)
    return {channel: pooled, multi_channel(channel): multi}


def init_worker(parent: int | None = None) -> None:
    """One compute thread per worker process, so workers and the encoders do not fight over cores; and the
    worker ends when ``parent`` (the process that started it) does, however that one died."""
    os.environ["OMP_NUM_THREADS"] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    if parent is not None:
        exit_with_parent(parent)


def exit_with_parent(parent: int, *, every: float = 1.0) -> None:
    """End this process when ``parent`` dies: at once on Linux (``PR_SET_PDEATHSIG``), within ``every``
    seconds elsewhere (a watchdog thread sees the process re-parented)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="vrag-parent-watch", daemon=True).start()
