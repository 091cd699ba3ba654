"""Session fixtures: one small real index of the demo lectures (examples/make_demo_corpus.py), built once.

The index uses the semantic chunker (one segment per slide), the bundled MiniLM text channel, BM25 and the
tiny ``videomae-test`` visual encoder (random weights and no text tower: text queries are answered by the text
channels, so rankings mean something). OCR is off. Unit tests use none of it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from vrag import IndexConfig, VideoIndex

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
TINY = IndexConfig(visual_encoders=("videomae-test",), allow_test_encoders=True, ocr="off", workers=0)
Slide = dict[str, Any]


def load_example(name: str) -> ModuleType:
    """A script of ``examples/`` as a module (they import their siblings from that folder)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """intro_to_ml.mp4, neural_networks.mkv, video_search.webm (+ subtitles and ground_truth.json)."""
    folder = tmp_path_factory.mktemp("lectures")
    load_example("make_demo_corpus").make_corpus(folder)
    return folder


@pytest.fixture(scope="session")
def truth(corpus: Path) -> dict[str, list[Slide]]:
    """Video name → its slides as generated (start, end, title, narration)."""
    return json.loads((corpus / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def index(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VideoIndex]:
    with VideoIndex.open(tmp_path_factory.mktemp("index") / "vrag", TINY) as opened:
        report = opened.add(corpus)
        assert report.ok and len(report.indexed) == 3, report
        yield opened


@pytest.fixture(scope="session")
def slide(truth: dict[str, list[Slide]]) -> Callable[[str, str], Slide]:
    """``slide(video_name, words)``: the generated slide of that video whose narration says ``words``."""

    def find(video: str, words: str) -> Slide:
        return next(s for s in truth[video] if any(words in line for line in s["narration"]))

    return find
