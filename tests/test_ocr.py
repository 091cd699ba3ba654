"""On-screen text: RapidOCR on rendered frames, reading order, merging runs of identical text."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from vrag.errors import ConfigError, ModelUnavailableError
from vrag.media import _ocr
from vrag.media._ocr import ocr_frames, ocr_image
from vrag.types import Cue, Frames


def _render(
    lines: Sequence[tuple[str, tuple[int, int], int]], size: tuple[int, int] = (640, 360)
) -> np.ndarray:
    """A light RGB frame with dark text: each line is (text, (x, y), font size)."""
    image = Image.new("RGB", size, (236, 236, 230))
    draw = ImageDraw.Draw(image)
    for text, xy, font_size in lines:
        draw.text(xy, text, fill=(20, 20, 30), font=ImageFont.load_default(size=font_size))
    return np.asarray(image)


def _frames(images: list[np.ndarray], times: list[float]) -> Frames:
    return Frames(
        np.stack(images), np.asarray(times, dtype=np.float64), np.arange(len(images), dtype=np.int64)
    )


def _similar(got: str, want: str) -> bool:
    return difflib.SequenceMatcher(None, got.casefold(), want.casefold()).ratio() >= 0.8


def test_slides_are_read_and_merged_into_timed_cues() -> None:
    gradient = _render([("Gradient descent", (40, 140), 56)])
    backprop = _render([("Backpropagation", (60, 150), 56)])
    blank = _render([])
    frames = _frames([gradient, gradient, backprop, backprop, blank], [0.0, 2.0, 4.5, 6.0, 8.25])
    cues = ocr_frames(frames)
    assert [(c.start, c.end, c.source) for c in cues] == [(0.0, 4.5, "ocr"), (4.5, 8.25, "ocr")]
    assert _similar(cues[0].text, "Gradient descent"), cues[0].text
    assert _similar(cues[1].text, "Backpropagation"), cues[1].text


def test_boxes_are_joined_in_reading_order() -> None:
    image = _render([("Loss", (470, 40), 48), ("Chain rule", (30, 44), 48), ("Learning rate", (30, 250), 40)])
    text = ocr_image(image)
    assert _similar(text, "Chain rule Loss Learning rate"), text


class ScriptedEngine:
    """Stands in for RapidOCR: returns the boxes scripted for each call, records the options."""

    def __init__(self, results: list[list[Any] | None]) -> None:
        self.results = results
        self.calls: list[tuple[np.ndarray, dict[str, Any]]] = []

    def __call__(self, img: np.ndarray, **options: Any) -> tuple[list[Any] | None, Any]:
        self.calls.append((img.copy(), options))
        return self.results[len(self.calls) - 1], None


def _box(x: int, y: int, text: str, score: float = 0.9, w: int = 100, h: int = 30) -> list[Any]:
    return [[[x, y], [x + w, y], [x + w, y + h], [x, y + h]], text, score]


def test_runs_merge_on_normalised_text_and_low_scores_are_dropped() -> None:
    engine = ScriptedEngine(
        [
            [_box(10, 10, "Intro"), _box(10, 300, "noise", score=0.3)],
            [_box(12, 11, "intro.")],  # same words: same run
            None,  # nothing on screen ends the run
            [_box(10, 10, "Part 2")],
            [_box(10, 10, "Part 2")],
            [_box(10, 10, "Summary")],
        ]
    )
    images = [np.zeros((4, 6, 3), np.uint8)] * 6
    cues = ocr_frames(_frames(images, [0.0, 1.0, 2.0, 3.0, 4.0, 5.5]), min_confidence=0.5, engine=engine)
    assert cues == [
        Cue(0.0, 2.0, "Intro", "ocr"),
        Cue(3.0, 5.5, "Part 2", "ocr"),
        Cue(5.5, 5.5, "Summary", "ocr"),
    ]
    assert len(engine.calls) == 6
    assert engine.calls[0][1] == {"use_cls": False, "text_score": 0.5}


def test_reading_order_groups_lines_by_height() -> None:
    engine = ScriptedEngine(
        [[_box(300, 52, "right"), _box(10, 200, "bottom"), _box(10, 50, "left"), _box(150, 58, "middle")]]
    )
    assert ocr_image(np.zeros((360, 640, 3), np.uint8), engine=engine) == "left middle right bottom"


def test_frames_are_given_to_rapidocr_in_bgr_order() -> None:
    engine = ScriptedEngine([None])
    image = np.zeros((2, 2, 3), np.uint8)
    image[..., 0] = 255  # red in RGB
    assert ocr_image(image, engine=engine) == ""
    assert engine.calls[0][0][0, 0].tolist() == [0, 0, 255]


def test_empty_and_invalid_input() -> None:
    engine = ScriptedEngine([])
    empty = Frames(np.zeros((0, 4, 4, 3), np.uint8), np.zeros(0), np.zeros(0, np.int64))
    assert ocr_frames(empty, engine=engine) == []
    with pytest.raises(ConfigError, match=r"min_confidence=1\.5"):
        ocr_frames(empty, min_confidence=1.5, engine=engine)
    floats = Frames(np.zeros((1, 4, 4, 3), np.float32), np.zeros(1), np.zeros(1, np.int64))
    with pytest.raises(ConfigError, match="uint8 RGB"):
        ocr_frames(floats, engine=engine)


@pytest.fixture
def no_rapidocr(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make ``import rapidocr_onnxruntime`` fail as it does where the extra is not installed."""
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    _ocr.default_engine.cache_clear()
    yield
    _ocr.default_engine.cache_clear()


@pytest.mark.usefixtures("no_rapidocr")
def test_missing_rapidocr_says_how_to_install() -> None:
    frames = _frames([np.zeros((8, 8, 3), np.uint8)], [0.0])
    with pytest.raises(ModelUnavailableError, match=r"pip install 'vrag-video\[ocr\]'"):
        ocr_frames(frames)


class Counting:
    """The real RapidOCR engine, counting the frames it reads."""

    def __init__(self) -> None:
        self.engine, self.calls = _ocr.default_engine(), 0

    def __call__(self, img: np.ndarray, **options: Any) -> tuple[list[Any] | None, Any]:
        self.calls += 1
        return self.engine(img, **options)


def test_keyframes_showing_the_same_picture_are_read_once() -> None:
    slide = _render([("Gradient descent", (40, 60), 48)])
    noisy = np.clip(slide.astype(np.int16) + np.random.default_rng(0).integers(-3, 4, slide.shape), 0, 255)
    more = _render([("Gradient descent", (40, 60), 48), ("Step size", (40, 200), 40)])  # a line appears
    frames = _frames([slide, noisy.astype(np.uint8), more, more], [0.0, 1.0, 2.0, 3.0])
    engine = Counting()
    texts = _ocr.ocr_texts(frames, engine=engine)
    assert engine.calls == 2  # the re-encoded copy and the repeated frame reuse what was read
    assert texts[0] == texts[1] and _similar(texts[0], "Gradient descent"), texts
    assert texts[2] == texts[3] and _similar(texts[2], "Gradient descent Step size"), texts
    every = Counting()
    assert _ocr.ocr_texts(frames, engine=every, reuse=False) == texts and every.calls == 4
