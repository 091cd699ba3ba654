"""The time-aware eval: questions generated from a corpus's ground truth have the right answers and splits,
and the scores are computed as defined (R@1 per kind, moment IoU, abstention, citation precision/recall)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vrag.eval._questions import MOMENT_CUES, UNANSWERABLE, TimeQuestion, make_questions
from vrag.eval._timeaware import Outcome, best_threshold, score_outcomes


def _slide(
    start: float, end: float, title: str, narration: list[str], camera: bool = False
) -> dict[str, Any]:
    step = (end - start) / len(narration)
    cues = [[start + i * step + 0.3, start + (i + 1) * step - 0.4, s] for i, s in enumerate(narration)]
    slide = {"start": start, "end": end, "title": title, "bullets": [], "narration": narration}
    return {**slide, "camera": camera, "cues": cues}


SPEECH = "gathering the correct answers for training tends to cost the most money"  # labelled: cue 2


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    ml = [
        _slide(
            0, 9, "Supervised learning", ["Solved problems.", "Guesses agree.", "Collecting answers costs."]
        ),
        _slide(9, 20, "Loss functions", ["A loss is one number.", "Big mistakes cost more.", "Shrink it."]),
        _slide(20, 28, "", ["Let me sketch this.", "A hiker in fog."], camera=True),
        _slide(
            28, 40, "Gradient descent", ["Move against the gradient.", "Big steps diverge.", "Small crawl."]
        ),
    ]
    photo = [
        _slide(
            0, 12, "Aperture", ["Portrait photographers blur.", "Landscape shooters close down.", "Halves."]
        ),
        _slide(12, 24, "Shutter speed", ["Sports shooters freeze.", "Tripod at night.", "Shake."]),
    ]
    queries = [
        {"text": SPEECH, "video": "ml.mp4", "slide": 0, "start": 0, "end": 9, "source": "speech"},
        {"text": "junk mail", "video": "ml.mp4", "slide": 0, "start": 0, "end": 9, "source": "screen"},
        {"text": "a penalty", "video": "ml.mp4", "slide": 1, "start": 9, "end": 20, "source": "speech"},
        {"text": "lens opening", "video": "photo.mkv", "slide": 0, "start": 0, "end": 12, "source": "screen"},
    ]
    truth = {"manifest": {}, "videos": {"ml.mp4": ml, "photo.mkv": photo}, "queries": queries}
    (tmp_path / "ground_truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return tmp_path


def test_questions_carry_the_exact_truth_of_the_lecture_structure(corpus: Path) -> None:
    questions = make_questions(corpus)
    by_text = {q.text: q for q in questions}
    after = by_text["what comes right after the part about supervised learning?"]
    assert (after.video, after.start, after.end, after.relation) == ("ml.mp4", 9, 20, "after")
    camera = by_text["what is shown just after the slide on loss functions?"]
    assert (camera.start, camera.end) == (20, 28)  # the slide after "loss functions" is the camera shot
    before = by_text["what comes right before they talk about loss functions?"]
    assert (before.start, before.end, before.relation) == (0, 9, "before")
    betweens = [q for q in questions if q.relation == "between"]
    # slide 0's "between" would end on the camera shot, which has no title: only loss functions -> gradient
    assert [(q.text, q.start) for q in betweens] == [
        ("what is discussed between loss functions and gradient descent?", 20),
    ]
    ends = [q for q in questions if q.relation == "end"]
    assert [(q.within, q.start) for q in ends] == [("ml.mp4", 28), ("photo.mkv", 12)]
    # "shooter" is on two photography slides and in no other lecture: first and last mention
    first = by_text["when do they first mention shooter?"]
    last = by_text["the last time they mention shooter"]
    assert (first.video, first.start, last.start) == ("photo.mkv", 0, 12)
    assert "when do they first mention photographer?" not in by_text  # one slide only
    moments = [q for q in questions if q.kind == "moment"]
    assert [q.text for q in moments] == [SPEECH] and MOMENT_CUES[SPEECH] == (2, 2)
    assert moments[0].moment == pytest.approx((6.3, 8.6))  # its third narration cue
    two = [q for q in questions if q.kind == "two-step"]
    assert (two[0].text, two[0].start) == (
        f"what did they say about {SPEECH} before showing loss functions?",
        0,
    )


def test_splits_are_by_lecture_and_the_unanswerable_alternate(corpus: Path) -> None:
    questions = make_questions(corpus)
    for q in questions:
        if q.video is not None:
            assert q.split == ("train" if q.video == "ml.mp4" else "held-out"), q
    unanswerable = [q for q in questions if q.kind == "unanswerable"]
    assert unanswerable[0].text == UNANSWERABLE[0] and unanswerable[0].video is None
    assert [q.split for q in unanswerable[:4]] == ["train", "held-out", "train", "held-out"]
    assert make_questions(corpus) == questions  # deterministic


def _q(kind: str, video: str | None = "a.mp4", split: str = "held-out", **more: Any) -> TimeQuestion:
    return TimeQuestion(kind, f"{kind} question", split, video, 10.0, 20.0, **more)


def _o(
    q: TimeQuestion, correct: bool, support: float, cited: tuple[tuple[str, float, float], ...] = (),
    moment: tuple[float, float] | None = None,
) -> Outcome:  # fmt: skip
    top = ("a.mp4", 10.0, 20.0) if correct else ("b.mp4", 0.0, 5.0)
    features = {"moment": support, "relevance": 0.5, "dense": 0.3}
    return Outcome(q, top, correct, moment, None, features, cited, abstained=support < 0.5)


def test_scores_are_computed_as_defined() -> None:
    outcomes = [
        _o(
            _q("plain"), True, 0.9, (("a.mp4", 12.0, 14.0), ("b.mp4", 0.0, 1.0))
        ),  # one right, one wrong citation
        _o(_q("plain"), False, 0.2),  # abstained: a wrong abstention
        _o(_q("relational", relation="after"), True, 0.7, (("a.mp4", 15.0, 16.0),)),
        _o(_q("moment", moment=(12.0, 14.0)), True, 0.8, moment=(12.0, 16.0)),
        _o(_q("moment", moment=(12.0, 14.0)), False, 0.8, moment=(12.0, 14.0)),  # wrong video: IoU 0
        _o(_q("unanswerable", video=None), False, 0.1),  # rightly abstained
        _o(_q("unanswerable", video=None), False, 0.6, (("a.mp4", 10.0, 12.0),)),  # answered: wrong
    ]
    rows, abstention, citations, plain = score_outcomes(outcomes)
    held = {r["kind"]: r for r in rows["held-out"]}
    assert held["plain"]["recall_at_1"] == 0.5 and held["relational/after"]["recall_at_1"] == 1.0
    assert held["moment"]["moment_iou"] == pytest.approx(0.25)  # (0.5 + 0) / 2
    assert held["moment"]["moment_iou_hit"] == pytest.approx(0.5)
    assert held["moment"]["segment_iou"] == pytest.approx(0.1)  # the 10-20 s segment: 2/10, and 0
    a = abstention["held-out"]
    assert (a["answered"], a["abstained"], a["accuracy"]) == (pytest.approx(2 / 3, abs=1e-4), 0.5, 0.6)
    c = citations["held-out"]
    assert (c["precision"], c["recall"]) == (0.5, pytest.approx(2 / 3, abs=1e-4))
    assert plain == 0.5 and rows["train"] == []
    assert score_outcomes(outcomes, threshold=0.65)[1]["held-out"]["abstained"] == 1.0


def test_the_threshold_is_the_midpoint_that_separates_best() -> None:
    outcomes = [_o(_q("plain"), True, s) for s in (0.5, 0.6, 0.7)]
    outcomes += [_o(_q("unanswerable", video=None), False, s) for s in (0.1, 0.3, 0.55)]
    assert best_threshold(outcomes, "moment") == pytest.approx(0.4)  # 5 of 6 right, balanced
