"""On-screen text (slides, captions burnt into the picture, signs) with RapidOCR (extra ``vrag-video[ocr]``).

RapidOCR runs PP-OCRv4 detection + recognition ONNX models that ship inside ``rapidocr-onnxruntime``, so
nothing is downloaded. It costs about 0.3 s per 640x360 frame on a 2-core CPU: run it on keyframes only.

Example:
    >>> from vrag.media import open_video, ocr_frames  # doctest: +SKIP
    >>> video = open_video("lecture.mp4")  # doctest: +SKIP
    >>> ocr_frames(video.frames_at([0.0, 5.0, 10.0]))  # doctest: +SKIP
    [Cue(start=0.0, end=10.0, text='Gradient descent', source='ocr')]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from vrag.errors import ConfigError, ModelUnavailableError
from vrag.types import Cue, Frames

__all__ = ["OcrEngine", "ocr_frames", "ocr_image", "ocr_texts"]

INSTALL_HINT = "pip install 'vrag-video[ocr]'"
_WORD = re.compile(r"\w+")
DETECT_SIDE = 640
"""Longest side (px) text boxes are detected at; boxes are read at the frame's own resolution."""
UNCHANGED = 6.0
"""A frame whose 16x16-pixel block means all stay within this (0-255) of the last frame read shows the same
text: its text is reused, not read again (a new line of text moves several blocks by tens of levels)."""


class OcrEngine(Protocol):
    """RapidOCR's call signature: ``engine(bgr_image) -> ([[box, text, score], ...] | None, timings)``."""

    def __call__(self, img: np.ndarray, **options: Any) -> tuple[list[Any] | None, Any]: ...


@functools.lru_cache(maxsize=1)
def default_engine() -> OcrEngine:
    """The RapidOCR engine, created once (loading its models takes ~0.1 s).

    Raises:
        ModelUnavailableError: ``rapidocr-onnxruntime`` is not installed.
    """
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as err:
        raise ModelUnavailableError(
            f"on-screen text needs RapidOCR, which is not installed: {INSTALL_HINT}"
        ) from err
    # "max": shrink only frames larger than DETECT_SIDE; the default ("min" 736) blows 640x360 up 2x, 3x
    # slower. Boxes are found on the shrunk copy but read from the frame itself (benchmarks/ocr_size.py:
    # CER 0.011 on the demo slides at every detection size from 1280 down to 256 px).
    return RapidOCR(det_limit_type="max", det_limit_side_len=DETECT_SIDE)


def ocr_frames(frames: Frames, *, min_confidence: float = 0.5, engine: OcrEngine | None = None) -> list[Cue]:
    """Read the text shown on each frame and merge runs of frames showing the same text into one cue.

    A cue starts at the first frame of a run and ends at the time of the next frame whose text differs
    (or at the last frame's time when the run reaches the end). Frames without text give no cue.

    Args:
        frames: RGB keyframes in time order (``Frames.data`` uint8 ``[N, H, W, 3]``).
        min_confidence: drop text boxes the recogniser scores below this (0..1).
        engine: an OCR engine with RapidOCR's call signature; default: the bundled RapidOCR models.

    Raises:
        ModelUnavailableError: RapidOCR is not installed.
        ConfigError: ``min_confidence`` is outside 0..1 or the frames are not uint8 RGB.
    """
    if len(frames) == 0:
        _check(frames, min_confidence)
        return []
    texts = ocr_texts(frames, min_confidence=min_confidence, engine=engine)
    return merge_runs([float(t) for t in frames.times], texts)


def ocr_texts(
    frames: Frames, *, min_confidence: float = 0.5, engine: OcrEngine | None = None, reuse: bool = True
) -> list[str]:
    """The text on each frame, in order. With ``reuse``, a frame that looks like the last frame read (see
    :data:`UNCHANGED`) gets that frame's text without being read again: slides and captions stay on screen
    across many keyframes.

    Raises:
        ModelUnavailableError: RapidOCR is not installed.
        ConfigError: ``min_confidence`` is outside 0..1 or the frames are not uint8 RGB.
    """
    _check(frames, min_confidence)
    engine = engine or default_engine()
    texts: list[str] = []
    last: tuple[np.ndarray, str] | None = None
    for image in frames.data:
        sig = _signature(image) if reuse else None
        if sig is not None and last is not None and _same(sig, last[0]):
            texts.append(last[1])
            continue
        texts.append(ocr_image(image, min_confidence=min_confidence, engine=engine))
        last = (sig, texts[-1]) if sig is not None else None
    return texts


def _signature(image: np.ndarray, block: int = 16) -> np.ndarray:
    """Mean grey level of each ``block`` x ``block`` tile (a tiny picture of the frame's layout)."""
    h, w = (image.shape[0] // block) * block, (image.shape[1] // block) * block
    grey = image[:h, :w].astype(np.float32).mean(axis=2)
    return grey.reshape(h // block, block, w // block, block).mean(axis=(1, 3))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.size > 0 and float(np.abs(a - b).max()) <= UNCHANGED


def ocr_image(image: np.ndarray, *, min_confidence: float = 0.5, engine: OcrEngine | None = None) -> str:
    """Text on one RGB image ``[H, W, 3]``, boxes in reading order (top to bottom, left to right)."""
    engine = engine or default_engine()
    bgr = np.ascontiguousarray(image[..., ::-1])  # RapidOCR reads arrays as OpenCV BGR
    result, _ = engine(bgr, use_cls=False, text_score=min_confidence)
    boxes = [
        (np.asarray(box, dtype=np.float64), str(text).strip())
        for box, text, score in result or ()
        if float(score) >= min_confidence and str(text).strip()
    ]
    return " ".join(text for _, text in _reading_order(boxes))


def _reading_order(boxes: list[tuple[np.ndarray, str]]) -> list[tuple[np.ndarray, str]]:
    """Group boxes into lines (centres within half a box height); lines top-down, boxes left-right."""
    lines: list[list[tuple[np.ndarray, str]]] = []
    for box, text in sorted(boxes, key=lambda b: float(b[0][:, 1].mean())):
        centre, height = float(box[:, 1].mean()), float(np.ptp(box[:, 1]))
        last = lines[-1][-1][0] if lines else None
        if last is not None and abs(centre - float(last[:, 1].mean())) <= max(height, np.ptp(last[:, 1])) / 2:
            lines[-1].append((box, text))
        else:
            lines.append([(box, text)])
    return [item for line in lines for item in sorted(line, key=lambda b: float(b[0][:, 0].min()))]


def normalize_text(text: str) -> str:
    """Compare key for on-screen text: case-folded words only, so punctuation noise does not split runs."""
    return " ".join(_WORD.findall(text.casefold()))


def merge_runs(times: Sequence[float], texts: Sequence[str]) -> list[Cue]:
    """One cue per run of consecutive frames with the same normalised, non-empty text."""
    cues: list[Cue] = []
    run_start, run_text = 0, texts[0] if texts else ""
    for i in range(1, len(texts) + 1):
        if i < len(texts) and normalize_text(texts[i]) == normalize_text(run_text):
            continue
        if normalize_text(run_text):
            end = times[i] if i < len(texts) else times[-1]
            cues.append(Cue(times[run_start], end, run_text, "ocr"))
        if i < len(texts):
            run_start, run_text = i, texts[i]
    return cues


def _check(frames: Frames, min_confidence: float) -> None:
    if not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(f"min_confidence={min_confidence!r} must be between 0 and 1")
    data = frames.data
    if data.dtype != np.uint8 or data.ndim != 4 or data.shape[-1] != 3:
        raise ConfigError(f"ocr_frames needs uint8 RGB frames [N, H, W, 3], got {data.dtype} {data.shape}")
