"""Time-aware search and answers on a real index of the demo lectures (slides, narration subtitles, a camera
shot in each): relations in time, moments inside segments, abstention, multi-step asks, in the API and the
CLI. The truth is the generator's: each slide's exact interval and each narration cue's exact times."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vrag.cli import main as cli
from vrag.index import VideoIndex
from vrag.search._answer import NOTHING

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo(
    demo_index: tuple[Path, dict[str, Any], list[Path]],
) -> Iterator[tuple[VideoIndex, dict[str, Any], Path]]:
    location, truth, _ = demo_index
    with VideoIndex.open(location) as index:
        yield index, truth, location


def _slide(truth: dict[str, Any], video: str, title: str) -> tuple[float, float]:
    slide = next(s for s in truth[video] if s["title"] == title or (not title and s["camera"]))
    return slide["start"], slide["end"]


def _cue(truth: dict[str, Any], video: str, words: str) -> tuple[float, float]:
    return next((s, e) for slide in truth[video] for s, e, text in slide["cues"] if words in text)


def test_right_after_finds_the_next_part_not_the_part_itself(demo: Any) -> None:
    index, truth, _ = demo
    question = "what comes right after the part about gradient descent?"
    literal = index.search(question, k=1, temporal=False)[0]  # what plain search does: the part itself
    assert (literal.start, literal.end) == _slide(truth, "intro_to_ml.mp4", "Gradient descent")

    hits = index.search(question, k=2)
    assert hits[0].video.endswith("intro_to_ml.mp4")
    assert (hits[0].start, hits[0].end) == _slide(truth, "intro_to_ml.mp4", "")  # the whiteboard shot
    assert (hits[1].start, hits[1].end) == _slide(truth, "intro_to_ml.mp4", "Overfitting")  # then the next
    # the anchor is where "gradient descent" was found: the cue of its slide that matches best
    cue = _cue(truth, "intro_to_ml.mp4", "against the gradient")
    anchor = f"[intro_to_ml.mp4 00:{cue[0]:04.1f}–00:{cue[1]:04.1f}]"
    assert hits[0].relation == f"right after 'gradient descent' — anchor {anchor}"
    assert hits[0].to_dict()["relation"] == hits[0].relation


def test_before_between_and_mentions_are_answered_inside_the_anchors_video(demo: Any) -> None:
    index, truth, _ = demo
    before = index.search("what was covered just before the part about backpropagation?", k=1)[0]
    assert before.video.endswith("neural_networks.mkv")
    assert (before.start, before.end) == _slide(truth, "neural_networks.mkv", "Neurons and layers")

    between = index.search("what comes between shot detection and vector databases?", k=1)[0]
    assert (between.start, between.end) == _slide(truth, "video_search.webm", "Embeddings")

    first = index.search("when do they first mention the model?", k=1, video="intro_to_ml.mp4")[0]
    last = index.search("the last time they mention the model", k=1, video="intro_to_ml.mp4")[0]
    assert (first.start, first.end) == _slide(truth, "intro_to_ml.mp4", "What is machine learning")
    assert (last.start, last.end) == _slide(truth, "intro_to_ml.mp4", "Overfitting")
    assert last.relation == "last mention of 'model'"

    end = index.search("how does the talk end?", k=1, video="neural_networks.mkv")[0]
    assert (end.start, end.end) == _slide(truth, "neural_networks.mkv", "Activation functions")


def test_a_time_on_the_clock_filters_the_video(demo: Any) -> None:
    index, _, _ = demo
    hits = index.search("what do they say after 0:30?", k=5, video="intro_to_ml.mp4")
    assert hits and all(h.start >= 30.0 for h in hits) and all(h.relation is None for h in hits)
    early = index.search("gradient descent before 0:20", k=5, video="intro_to_ml.mp4")
    assert early and all(h.end <= 20.0 for h in early)


def test_each_hit_points_at_the_cue_that_answers(demo: Any) -> None:
    index, truth, _ = demo
    hit = index.search("what happens when the learning rate is set too high", k=1)[0]
    assert (hit.start, hit.end) == _slide(truth, "intro_to_ml.mp4", "Gradient descent")  # context
    moment = _cue(truth, "intro_to_ml.mp4", "If the learning rate is too large")
    assert hit.moment is not None and (hit.moment.start, hit.moment.end) == moment
    assert hit.moment.text == "If the learning rate is too large the loss diverges."
    assert hit.media_url().endswith(f"#t={moment[0]!r},{moment[1]!r}")
    assert (
        index.search("what happens when the learning rate is set too high", k=1, moments=False)[0].moment
        is None
    )


def test_answers_cite_the_moment_and_abstain_when_the_videos_do_not_answer(demo: Any) -> None:
    index, truth, _ = demo
    answer = index.ask("how does the chain rule help backpropagation?")
    moment = _cue(truth, "neural_networks.mkv", "The chain rule")
    assert not answer.abstained and answer.text.startswith("The chain rule lets us reuse work")
    assert (answer.citations[0].start, answer.citations[0].end) == moment

    for question in ("what is the capital of France?", "how do I knit a scarf?"):
        nothing = index.ask(question)
        assert (nothing.text, nothing.citations, nothing.abstained) == (NOTHING, (), True)
        assert nothing.evidence  # what was looked at stays in the answer


def test_a_question_with_parts_is_answered_in_steps_with_a_trace(demo: Any) -> None:
    index, truth, _ = demo
    question = "what did they say about the error signal before showing activation functions?"
    answer = index.ask(question, steps=2)
    first = answer.evidence[0]
    assert (first.start, first.end) == _slide(truth, "neural_networks.mkv", "Backpropagation")
    assert [(s.purpose, s.query) for s in answer.trace[:2]] == [
        ("anchor", "activation functions"), ("target", "error signal"),
    ]  # fmt: skip
    assert answer.trace[1].video == "neural_networks.mkv"
    # the anchor is the first moment "activation functions" are named: the camera shot announcing them
    assert answer.trace[0].found[0][1:3] == _slide(truth, "neural_networks.mkv", "")
    assert answer.trace[1].before == pytest.approx(answer.trace[0].found[0][1], abs=0.1)  # before the anchor
    data = answer.to_dict()
    assert data["trace"][0]["purpose"] == "anchor" and data["evidence"][0]["relation"].startswith("before")
    with pytest.raises(Exception, match="steps must be"):
        index.ask(question, steps=9)


def test_the_cli_shows_relations_moments_and_the_trace(demo: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, truth, location = demo
    index = ["--index", str(location)]
    assert cli(["search", "what comes right after the part about gradient descent?", "-k", "1", *index]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].strip().startswith("(right after 'gradient descent' — anchor [intro_to_ml.mp4")
    assert cli(["ask", "what is the capital of France?", "--json", *index]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answer"] == NOTHING and data["abstained"] and data["citations"] == []
    question = "what did they say about the error signal before showing activation functions?"
    assert cli(["ask", question, "--steps", "2", *index]) == 0
    captured = capsys.readouterr()
    assert "step: anchor 'activation functions' -> neural_networks.mkv" in captured.err
    plain = ["search", "what comes right after the part about gradient descent?", "--no-temporal", "-k", "1"]
    assert cli([*plain, "--json", *index]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert (hit["start"], hit["end"]) == _slide(truth, "intro_to_ml.mp4", "Gradient descent") and not hit[
        "relation"
    ]
