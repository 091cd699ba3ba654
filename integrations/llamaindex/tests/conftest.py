"""One small real index for the whole session: the three demo lectures (examples/make_demo_corpus.py), cut by
the semantic chunker, with the bundled MiniLM text channel, BM25 and the tiny ``videomae-test`` visual
encoder (random weights: tests that need meaning rely on the text channels). OCR off."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "examples"))

from make_demo_corpus import make_corpus  # noqa: E402  (a script in examples/, not a package)

from vrag import IndexConfig, VideoIndex  # noqa: E402

TINY = IndexConfig(visual_encoders=("videomae-test",), allow_test_encoders=True, workers=0, ocr="off")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo lecture folder: intro_to_ml.mp4, neural_networks.mkv, video_search.webm, ground_truth.json."""
    folder = tmp_path_factory.mktemp("lectures")
    make_corpus(folder)
    return folder


@pytest.fixture(scope="session")
def truth(corpus: Path) -> dict[str, list[dict[str, Any]]]:
    """Video name → its slides (start, end, title, narration) as generated."""
    return json.loads((corpus / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def index(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VideoIndex]:
    with VideoIndex.open(tmp_path_factory.mktemp("index") / "vrag", TINY) as opened:
        report = opened.add(corpus)
        assert report.ok and len(report.indexed) == 3, report
        yield opened


@pytest.fixture(scope="session")
def slide_at(truth: dict[str, list[dict[str, Any]]]) -> Callable[[str, float], dict[str, Any]]:
    """``slide_at(video, t)``: the generated slide on screen at time ``t`` of ``video`` (a path or a name)."""

    def find(video: str, t: float) -> dict[str, Any]:
        return next(s for s in truth[Path(video).name] if s["start"] <= t < s["end"])

    return find
