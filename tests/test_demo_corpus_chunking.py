"""The demo lectures (``examples/make_demo_corpus.py``) chunk into one segment per slide, at the true times.

Each lecture has slides of one template joined by hard cuts (same topic) and fades through black (new
topic), a moving camera shot, and narration from a sidecar .srt, an embedded subrip stream or a sidecar
.vtt. A user who asks about "backpropagation" must get that slide's 00:12-00:24, with its narration.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from vrag.chunking import chunk_video
from vrag.media import open_video

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
VIDEOS = ["intro_to_ml.mp4", "neural_networks.mkv", "video_search.webm"]


def load_demo_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_demo_corpus", EXAMPLES / "make_demo_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[dict[str, Any]]], float]:
    """The generated corpus folder, its ground truth and the length of one frame in seconds."""
    demo = load_demo_module()
    folder = tmp_path_factory.mktemp("demo")
    demo.make_corpus(folder)
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    return folder, truth, 1.0 / demo.FPS


@pytest.mark.parametrize("name", VIDEOS)
def test_each_slide_is_one_segment_at_its_true_times(
    corpus: tuple[Path, dict[str, list[dict[str, Any]]], float], name: str
) -> None:
    folder, truth, frame = corpus
    video = open_video(folder / name)

    segments = chunk_video(video)

    slides = truth[name]
    assert [(s.start, s.end) for s in segments] == [
        (pytest.approx(t["start"], abs=frame + 1e-9), pytest.approx(t["end"], abs=frame + 1e-9))
        for t in slides
    ]
    assert segments[-1].end == video.duration
    assert all(s.start in video.frame_times for s in segments[1:])  # boundaries are real frame times


@pytest.mark.parametrize("name", VIDEOS)
def test_each_segment_holds_its_slides_narration(
    corpus: tuple[Path, dict[str, list[dict[str, Any]]], float], name: str
) -> None:
    folder, truth, _ = corpus

    segments = chunk_video(folder / name)

    assert len(segments) == len(truth[name])
    for segment, slide in zip(segments, truth[name], strict=True):
        assert segment.text == " ".join(text for _, _, text in slide["cues"]), slide["title"]


def test_the_backpropagation_slide_is_cited_as_twelve_to_twenty_four_seconds(
    corpus: tuple[Path, dict[str, list[dict[str, Any]]], float],
) -> None:
    # a hard cut between two slides of one template; exactly the cut frame's time on both sides
    folder, _, _ = corpus

    segments = chunk_video(folder / "neural_networks.mkv")

    hit = next(s for s in segments if "chain rule" in s.text)
    assert (hit.start, hit.end) == (12.0, 24.0)
