"""Speech recognition with faster-whisper (optional extra ``vrag-video[asr]``), for videos without subtitles.

Nothing is downloaded: a model size (``"small"``) is used only when its files are already in the local
Hugging Face cache; otherwise pass a local model folder. Audio is mono float32 at 16 kHz, sample 0 at the
start of the file, so cue times line up with video frame times.

Example:
    >>> from vrag.media._asr import load_whisper, read_audio, transcribe  # doctest: +SKIP
    >>> speech = transcribe(read_audio("talk.mp4"), model=load_whisper("small"))  # doctest: +SKIP
    >>> speech.cues[0]  # doctest: +SKIP
    Cue(start=0.0, end=2.4, text='Welcome to the course.', source='asr')
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from vrag.errors import DecodeError, ModelUnavailableError, VideoNotFoundError
from vrag.types import Cue

if TYPE_CHECKING:
    import av.container

__all__ = [
    "DEFAULT_MODEL",
    "SAMPLE_RATE",
    "Speech",
    "WhisperLike",
    "load_whisper",
    "read_audio",
    "transcribe",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "small"
SAMPLE_RATE = 16_000
INSTALL_HINT = "pip install 'vrag-video[asr]'"


class WhisperLike(Protocol):
    """What vrag needs from a speech model: faster-whisper's ``WhisperModel.transcribe``."""

    def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[Iterable[Any], Any]: ...


@dataclass(frozen=True, slots=True)
class Speech:
    """Recognised speech: one cue per sentence (``source="asr"``; timed by the model's word times, else one
    per recognised segment) and the detected language."""

    cues: tuple[Cue, ...]
    language: str | None


def load_whisper(
    model: str = DEFAULT_MODEL, *, device: str = "auto", compute_type: str = "auto"
) -> WhisperLike:
    """Load a faster-whisper model from this machine only (cached per arguments).

    Args:
        model: a model size (``"tiny"``, ``"small"``, ``"large-v3"``...) already in the Hugging Face cache,
            or a folder holding a converted CTranslate2 model.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        compute_type: CTranslate2 compute type (``"int8"``, ``"float16"``, ``"auto"``).

    Raises:
        ModelUnavailableError: faster-whisper is not installed, or the model is not on this machine.
    """
    return _load_whisper(model, device, compute_type)


@functools.lru_cache(maxsize=2)
def _load_whisper(model: str, device: str, compute_type: str) -> WhisperLike:
    try:
        from faster_whisper import WhisperModel
    except ImportError as err:
        raise ModelUnavailableError(f"faster-whisper is not installed: {INSTALL_HINT}") from err
    try:
        return WhisperModel(model, device=device, compute_type=compute_type, local_files_only=True)
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelUnavailableError(
            f"the faster-whisper model {model!r} is not on this machine ({err}); download it once with "
            f'`python -c "from faster_whisper import WhisperModel; WhisperModel({model!r})"` '
            "or pass model=<a local model folder>"
        ) from err


def model_name(model: str | WhisperLike) -> str:
    """A short name for notes: the size or folder given, else the model object's class name."""
    return model if isinstance(model, str) else f"{type(model).__name__} model"


def transcribe(audio: np.ndarray, *, model: WhisperLike, language: str | None = None) -> Speech:
    """Recognise speech in 16 kHz mono float32 audio, skipping silence (voice activity filter).

    Args:
        audio: samples in [-1, 1]; sample 0 is time 0.0 of the video.
        model: a loaded faster-whisper ``WhisperModel`` (see :func:`load_whisper`) or a look-alike.
        language: language tag to force (``"en"``, ``"de-AT"`` → ``"de"``), else detected.
    """
    hint = language.replace("_", "-").split("-")[0].lower() if language else None
    segments, info = model.transcribe(
        np.asarray(audio, dtype=np.float32), language=hint, vad_filter=True, word_timestamps=True
    )
    cues = [cue for segment in segments for cue in _sentences(segment)]
    cues.sort(key=lambda c: (c.start, c.end))
    return Speech(tuple(cues), getattr(info, "language", None) or hint)


def _sentences(segment: Any) -> list[Cue]:
    """One cue per sentence of a recognised segment, timed by its words when the model gave word times
    (a search hit can then point at the sentence that answers); else the segment as one cue."""
    words = [w for w in getattr(segment, "words", None) or () if str(w.word).strip() and w.end >= w.start]
    if not words:
        text = " ".join(str(segment.text).split())
        ok = text and segment.end > segment.start
        return [Cue(round(float(segment.start), 6), round(float(segment.end), 6), text, "asr")] if ok else []
    out, run = [], []
    for i, word in enumerate(words):
        run.append(word)
        if str(word.word).strip().rstrip("\"')]").endswith((".", "?", "!")) or i == len(words) - 1:
            text = " ".join("".join(str(w.word) for w in run).split())
            start, end = round(float(run[0].start), 6), round(float(run[-1].end), 6)
            if end > start:
                out.append(Cue(start, end, text, "asr"))
            run = []
    return out


def read_audio(video: Any, *, start_time: float | None = None, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 audio of a video (empty when it has no audio track), sample 0 at the file's start.

    Args:
        video: a ``VideoSource`` (its ``audio()`` is used) or a path (decoded here with PyAV).
        start_time: the container's start offset in seconds when known (else read from the file).
    """
    if not isinstance(video, str | Path) and callable(getattr(video, "audio", None)):
        return np.asarray(video.audio(sample_rate=sample_rate), dtype=np.float32)
    return _decode_audio(Path(video), start_time, sample_rate)


def _decode_audio(path: Path, start_time: float | None, rate: int) -> np.ndarray:
    import av

    if not path.is_file():
        raise VideoNotFoundError(path, "no such video file")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return np.zeros(0, dtype=np.float32)
            offset = container_start(container) if start_time is None else start_time
            first, samples = _resample_stream(container, rate)
    except av.FFmpegError as err:
        raise DecodeError(path, f"its audio could not be decoded ({err})") from err
    return _align(samples, round((first - offset) * rate))


def _resample_stream(container: av.container.InputContainer, rate: int) -> tuple[float, np.ndarray]:
    """(time of the first audio frame in s, all samples resampled to mono float32 at ``rate``)."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks: list[np.ndarray] = []
    first = None
    for frame in container.decode(container.streams.audio[0]):
        if first is None and frame.pts is not None and frame.time_base is not None:
            first = float(frame.pts * frame.time_base)
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
    chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    return first or 0.0, samples


def container_start(container: av.container.InputContainer) -> float:
    """Format-level start time in seconds; else the first video stream's; else 0."""
    if container.start_time is not None:
        return container.start_time / 1_000_000
    for stream in container.streams.video:
        if stream.start_time is not None and stream.time_base is not None:
            return float(stream.start_time * stream.time_base)
    return 0.0


def _align(samples: np.ndarray, shift: int) -> np.ndarray:
    """Pad with silence (audio starts late) or drop samples (audio starts before the file's start)."""
    if shift > 0:
        return np.concatenate([np.zeros(shift, dtype=np.float32), samples])
    return samples[-shift:] if shift < 0 else samples
