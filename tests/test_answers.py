"""Temporal merging and cited answers: every citation in an answer points at a retrieved span."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vrag.cli import main as cli
from vrag.search import answer_with_llm, check_citations, extractive_answer, merge_hits
from vrag.search._answer import NOTHING
from vrag.types import Hit

LECTURE = [
    Hit(
        "/v/lecture.mp4",
        "L",
        12.0,
        24.0,
        0.9,
        "Each step moves the weights against the gradient. "
        "If the learning rate is too large the loss diverges.",
    ),
    Hit("/v/lecture.mp4", "L", 32.0, 44.0, 0.5, "Hold out a validation set to detect overfitting early."),
    Hit("/v/cooking.mkv", "C", 0.0, 8.5, 0.4, "We chop the onions finely."),
]


def test_merge_joins_touching_spans_of_one_video_only() -> None:
    hits = [
        Hit("a.mp4", "a", 10.0, 12.0, 0.4, "two"),
        Hit("b.mp4", "b", 12.0, 14.0, 0.8, "other video"),
        Hit("a.mp4", "a", 12.0, 15.0, 0.9, "three", keyframe=13.0),
        Hit("a.mp4", "a", 30.0, 31.0, 0.1, "far away"),
    ]
    merged = merge_hits(hits)
    assert [(h.video, h.start, h.end, h.score) for h in merged] == [
        ("a.mp4", 10.0, 15.0, 0.9), ("b.mp4", 12.0, 14.0, 0.8), ("a.mp4", 30.0, 31.0, 0.1),
    ]  # fmt: skip
    assert merged[0].text == "two\nthree" and merged[0].keyframe == 13.0


def test_extractive_answer_quotes_the_matching_sentence_with_its_exact_span() -> None:
    answer = extractive_answer("what if the learning rate is too large?", LECTURE)
    assert answer.text.startswith(
        "If the learning rate is too large the loss diverges. [lecture.mp4 00:12.0–00:24.0]"
    )
    assert answer.citations[0].video == "/v/lecture.mp4" and (
        answer.citations[0].start,
        answer.citations[0].end,
    ) == (12.0, 24.0)
    assert "onions" not in answer.text  # no shared word: not padded in
    assert answer.dropped == ()


def test_extractive_answer_without_a_matching_sentence_abstains_without_a_citation() -> None:
    answer = extractive_answer("who won the football match", LECTURE)
    assert (answer.text, answer.citations, answer.abstained) == (NOTHING, (), True)
    assert answer.evidence == tuple(LECTURE)  # what was searched stays visible
    assert extractive_answer("anything", []).text == NOTHING


def test_citations_outside_the_evidence_are_removed_and_reported() -> None:
    text = (
        "The loss diverges [lecture.mp4 00:12.0–00:24.0]. Onions are chopped [cooking.mkv 00:00.0–00:08.5]. "
        "It was filmed in Paris [lecture.mp4 01:10.0–01:20.0] and [other.mp4 00:12.0–00:24.0]."
    )
    cleaned, citations, dropped = check_citations(text, LECTURE)
    assert dropped == ("[lecture.mp4 01:10.0–01:20.0]", "[other.mp4 00:12.0–00:24.0]")
    assert [(c.video, c.start, c.end) for c in citations] == [
        ("/v/lecture.mp4", 12.0, 24.0),
        ("/v/cooking.mkv", 0.0, 8.5),
    ]
    assert "01:10.0" not in cleaned and "Paris and." in cleaned


def test_answer_with_llm_gets_the_evidence_and_its_made_up_citation_is_dropped() -> None:
    prompts: list[str] = []

    def fake_llm(prompt: str) -> str:  # stands in for a LlamaIndex / LangChain model
        prompts.append(prompt)
        return "Too large a step diverges [lecture.mp4 00:12.0–00:24.0], as at [lecture.mp4 05:00.0–05:10.0]."

    answer = answer_with_llm("what if the learning rate is too large?", LECTURE, fake_llm)
    assert "[lecture.mp4 00:12.0–00:24.0] Each step moves" in prompts[0] and "Question: what if" in prompts[0]
    assert [(c.start, c.end) for c in answer.citations] == [(12.0, 24.0)]
    assert answer.dropped == ("[lecture.mp4 05:00.0–05:10.0]",) and "05:00" not in answer.text


@pytest.mark.integration
def test_vrag_ask_cites_the_right_slide_of_the_demo_lecture(
    demo_index: tuple[Path, dict[str, Any], list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    location, truth, videos = demo_index
    idx = str(location)
    assert cli(["ask", "how does the chain rule help backpropagation", "--index", idx, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    first = answer["citations"][0]
    # the citation is the moment inside the Backpropagation slide (12-24 s) that answers: its chain-rule cue
    cue = next(c for s in truth["neural_networks.mkv"] for c in s["cues"] if "chain rule" in c[2])
    assert first["video"].endswith("neural_networks.mkv") and (first["start"], first["end"]) == tuple(cue[:2])
    assert answer["evidence"][0]["start"] == 12.0 and answer["evidence"][0]["end"] == 24.0
    assert "chain rule" in answer["answer"] and answer["dropped_citations"] == []

    query = ["search", "lecture", "--index", idx, "-k", "10", "--video", str(videos[1]), "--json"]
    assert cli(query) == 0
    separate = json.loads(capsys.readouterr().out)
    assert cli([*query, "--merge"]) == 0
    merged = json.loads(capsys.readouterr().out)
    # the slides of one lecture tile it: merged, the hits become one span from its first to its last hit
    assert len(merged) == 1 < len(separate)
    assert (merged[0]["start"], merged[0]["end"]) == (
        min(h["start"] for h in separate),
        max(h["end"] for h in separate),
    )
