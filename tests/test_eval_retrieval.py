"""Retrieval evaluation: the metrics score rankings as defined, the generated lectures are a fair test
(paraphrased queries, exact truth, deterministic), and on a small corpus search finds most answers.

The end-to-end run uses the real text channels (bundled MiniLM + BM25) and RapidOCR; visual channels are
off, as in the reported numbers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vrag.errors import ConfigError, UnknownNameError
from vrag.eval._lectures import LECTURES, EvalQuery, make_lecture_corpus
from vrag.eval._retrieval import (
    QueryOutcome,
    RetrievalReport,
    judge,
    run_retrieval_eval,
    summarize,
    temporal_iou,
)

VIDEOS = 2  # machine learning and photography: ~2 min of video, 22 queries


def _query(video: str = "a.mp4", start: float = 10.0, end: float = 20.0, source: str = "screen") -> EvalQuery:
    return EvalQuery("what is on the slide", video, 1, start, end, source)


# ---------------------------------------------------------------------------------------------- metrics


def test_temporal_iou_is_intersection_over_union() -> None:
    assert temporal_iou((10.0, 20.0), (10.0, 20.0)) == 1.0
    assert temporal_iou((0.0, 10.0), (5.0, 15.0)) == pytest.approx(5 / 15)
    assert temporal_iou((12.0, 14.0), (10.0, 20.0)) == pytest.approx(2 / 10)
    assert temporal_iou((0.0, 10.0), (10.0, 20.0)) == 0.0  # touching is not overlapping
    assert temporal_iou((0.0, 5.0), (30.0, 40.0)) == 0.0


def test_a_perfect_ranking_scores_one_everywhere() -> None:
    outcome = judge(_query(), [("a.mp4", 10.0, 20.0), ("b.mp4", 0.0, 5.0)])

    assert (outcome.rank, outcome.iou_at_1, outcome.iou_correct) == (1, 1.0, 1.0)
    row = summarize("semantic", "fused", [outcome])
    assert (row.recall_at_1, row.recall_at_5, row.mrr, row.iou_at_1) == (1.0, 1.0, 1.0, 1.0)


def test_right_times_in_the_wrong_video_are_wrong_and_the_first_overlap_counts() -> None:
    ranked = [("b.mp4", 10.0, 20.0), ("a.mp4", 30.0, 40.0), ("a.mp4", 15.0, 25.0), ("a.mp4", 10.0, 20.0)]

    outcome = judge(_query(), ranked)

    assert outcome.rank == 3
    assert outcome.iou_at_1 == 0.0
    assert outcome.iou_correct == pytest.approx(temporal_iou((15.0, 25.0), (10.0, 20.0)))
    assert outcome.top == ("b.mp4", 10.0, 20.0)


def test_an_empty_or_all_wrong_ranking_finds_nothing() -> None:
    for ranked in ([], [("a.mp4", 0.0, 10.0), ("c.mp4", 10.0, 20.0)]):
        outcome = judge(_query(), ranked)
        assert (outcome.rank, outcome.iou_at_1, outcome.iou_correct) == (None, 0.0, None)


def test_summary_averages_ranks_into_recall_and_mrr() -> None:
    truth = _query()
    hit = ("a.mp4", 10.0, 20.0)
    miss = ("z.mp4", 0.0, 1.0)
    ranks = [1, 3, None, 6]
    outcomes = [
        judge(_query(source="screen" if i % 2 else "speech"), [miss] * (r - 1) + [hit] if r else [miss] * 10)
        for i, r in enumerate(ranks)
    ]
    assert [o.rank for o in outcomes] == ranks and truth.video == "a.mp4"

    row = summarize("fixed", "ocr", outcomes, seconds=0.2)

    assert row.queries == 4
    assert row.recall_at_1 == pytest.approx(sum(r == 1 for r in ranks if r) / 4)
    assert row.recall_at_5 == pytest.approx(sum(1 for r in ranks if r and r <= 5) / 4)
    assert row.mrr == pytest.approx(sum(1 / r for r in ranks if r) / 4)
    assert row.iou_at_1 == pytest.approx(0.25) and row.iou_correct == 1.0
    assert (row.recall_at_1_speech, row.recall_at_1_screen) == (0.5, 0.0)  # rank 1 is the speech query
    assert row.ms_per_query == pytest.approx(50.0)
    assert len(row.misses()) == 3


def test_summary_of_no_queries_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no queries"):
        summarize("fixed", "fused", [])


# ---------------------------------------------------------------------------------------------- the corpus


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def test_queries_paraphrase_rather_than_copy_their_slide() -> None:
    for lecture in LECTURES:
        for slide in (*lecture.slides, lecture.camera):
            assert slide.screen or slide.speech, slide.title
            said = " ".join(slide.narration).lower()
            for query in (*slide.screen, *slide.speech):
                assert query.lower() not in said
                for line in (*slide.bullets, *slide.narration):
                    # no query reuses a whole bullet or a run of five words from the slide or narration
                    words = _words(line)
                    runs = {" ".join(words[i : i + 5]) for i in range(max(len(words) - 4, 0))}
                    assert not any(run in " ".join(_words(query)) for run in runs), (query, line)
                    assert " ".join(_words(line)) not in " ".join(_words(query)) or len(words) < 3


def test_the_corpus_is_deterministic_and_its_truth_is_each_slides_interval(tmp_path: Path) -> None:
    corpus = make_lecture_corpus(tmp_path / "a", videos=1, seed=3, size=(320, 180))
    again = make_lecture_corpus(tmp_path / "b", videos=1, seed=3, size=(320, 180))
    other = make_lecture_corpus(tmp_path / "c", videos=1, seed=4, size=(320, 180))

    assert corpus.queries == tuple(
        EvalQuery(q.text, q.video, q.slide, q.start, q.end, q.source) for q in again.queries
    )
    assert [(q.start, q.end) for q in corpus.queries] != [(q.start, q.end) for q in other.queries]
    truth = json.loads((tmp_path / "a" / "ground_truth.json").read_text(encoding="utf-8"))
    slides = truth["videos"][corpus.videos[0].name]
    assert len(slides) == len(LECTURES[0].slides) + 1  # the camera shot
    for q in corpus.queries:
        assert (q.start, q.end) == (slides[q.slide]["start"], slides[q.slide]["end"])
    assert {q.source for q in corpus.queries} == {"screen", "speech"}
    assert slides[-1]["end"] == pytest.approx(corpus.seconds)


# ---------------------------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval")


@pytest.fixture(scope="module")
def report(eval_dir: Path) -> RetrievalReport:
    pytest.importorskip("rapidocr_onnxruntime")
    return run_retrieval_eval(
        eval_dir,
        videos=VIDEOS,
        chunkers=("semantic",),
        variants=("transcript", "ocr", "fused"),
    )


@pytest.mark.integration
def test_fused_search_finds_most_answers_at_the_right_time(report: RetrievalReport) -> None:
    fused = report.row("fused")

    assert fused.queries == sum(len(s.screen) + len(s.speech) for lec in LECTURES[:VIDEOS] for s in
                                (*lec.slides, lec.camera))  # fmt: skip
    assert fused.recall_at_5 >= 0.8 and fused.recall_at_1 >= 0.5
    assert fused.iou_correct >= 0.9  # one segment per slide
    assert fused.mrr >= fused.recall_at_1 and fused.iou_at_1 <= fused.recall_at_1


@pytest.mark.integration
def test_each_text_source_answers_its_own_kind_of_query(report: RetrievalReport) -> None:
    ocr, transcript = report.row("ocr"), report.row("transcript")

    assert ocr.recall_at_1_screen > ocr.recall_at_1_speech
    assert transcript.recall_at_1_speech > transcript.recall_at_1_screen
    assert transcript.recall_at_1_speech > ocr.recall_at_1_speech


@pytest.mark.integration
def test_report_serialises_and_prints_every_row(report: RetrievalReport) -> None:
    data = report.to_dict(details=True)
    table = report.format_table()

    assert [(r["chunker"], r["variant"]) for r in data["rows"]] == [
        ("semantic", "transcript"),
        ("semantic", "ocr"),
        ("semantic", "fused"),
    ]
    assert len(data["rows"][0]["outcomes"]) == data["rows"][0]["queries"]
    assert json.loads(json.dumps(data)) == data
    assert table.count("\n| semantic |") == 3 and "R@1" in table
    assert isinstance(report.rows[0].outcomes[0], QueryOutcome)


def test_unknown_variants_and_chunkers_are_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="fused"):
        run_retrieval_eval(tmp_path, variants=("fussed",))
    with pytest.raises(UnknownNameError, match="semantic"):
        run_retrieval_eval(tmp_path, chunkers=("semantik",))
    assert not any(tmp_path.iterdir())


@pytest.mark.integration
def test_cli_eval_retrieval_reuses_the_corpus_and_prints_json(
    eval_dir: Path, report: RetrievalReport, capsys: pytest.CaptureFixture[str]
) -> None:
    from vrag.cli import main as cli

    args = ["eval", "retrieval", "--workdir", str(eval_dir), "--videos", str(VIDEOS), "--chunker", "semantic"]
    assert cli([*args, "--variant", "fused", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["variant"] == "fused"
    assert row["recall_at_1"] == pytest.approx(report.row("fused", "semantic").recall_at_1, abs=1e-4)
    assert cli([*args, "--variant", "nonsense"]) == 2
