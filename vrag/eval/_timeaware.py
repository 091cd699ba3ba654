"""Time-aware questions on the generated lectures (``vrag eval timeaware``): R@1 per kind of question,
moment IoU, abstention accuracy and citation precision / recall / F1, on a training and a held-out split.

The corpus and index are the retrieval eval's (same workdir layout, reused); the questions come from
:mod:`vrag.eval._questions`. Each question is searched as a user would (``VideoIndex.search`` through the
one retriever, ``k`` hits; questions about one talk with ``video=``) and asked (the evidence of
``VideoIndex.ask``: 5 hits, extractive answer).

- R@1: the top hit is in the right video and overlaps the true slide.
- moment IoU: IoU of the top hit's moment with the answering cues (0 when the top hit is in another video
  or misses them); "moment IoU | hit": over questions whose top hit is the right slide; "segment IoU": the
  same for the top hit's whole segment (what citing segments, the naive way, gives).
- abstention: answerable questions (plain, relational, two-step) should be answered, unanswerable ones
  abstained on; accuracy over both, and the two rates apart.
- citations: precision = cited spans that overlap the truth / all cited spans (every citation of an
  unanswerable question is wrong); recall = answerable questions with a citation overlapping the truth;
  F1 their harmonic mean.

Calibration (training split only): for each candidate evidence score — the best moment's cosine (what
answers use), the top hit's relevance, its dense channel score — the threshold with the best balanced
abstention accuracy; the moment widening with the best moment IoU; the passage margin with the best
citation F1. The held-out split reports the values set in code (:data:`vrag.search.MIN_SUPPORT`,
:data:`vrag.search._moments.WIDEN`, :data:`vrag.search._answer.PASSAGE_MARGIN`).

Example:
    >>> from pathlib import Path
    >>> report = run_timeaware_eval(Path(".vrag-eval"), videos=4)  # doctest: +SKIP
    >>> print(report.format_table())  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrag.errors import ConfigError
from vrag.eval._questions import SPLITS, TimeQuestion, make_questions
from vrag.eval._retrieval import CHUNKERS, _build_index, _check_names, _require_ocr, temporal_iou

if TYPE_CHECKING:
    from vrag.index import VideoIndex
    from vrag.types import Hit

__all__ = ["Outcome", "TimeAwareReport", "run_timeaware_eval", "score_outcomes"]

ANSWERABLE_KINDS = ("plain", "relational", "two-step")
ASK_K = 5
WIDENINGS = (0.0, 0.02, 0.05, 0.1, 0.2)
MARGINS = (0.0, 0.02, 0.05, 0.1, 0.2)


@dataclass(frozen=True)
class Outcome:
    """What one question got.

    Attributes:
        question: the question and its truth.
        top: the top hit's (video file name, start, end), or None.
        correct: the top hit is the truth (answerable questions).
        moment: the top hit's moment (its span when it has none).
        parsed: the relation read from the question, if any.
        features: evidence scores of the ask (``moment``: best moment cosine, ``relevance``, ``dense``).
        citations: the spans the extractive answer cited (video file name, start, end).
        abstained: whether the answer abstained.
        stepped: for two-step questions, whether the top evidence of ``ask(steps=2)`` is the truth.
        evidence: the hits the answer was written from.
    """

    question: TimeQuestion
    top: tuple[str, float, float] | None
    correct: bool
    moment: tuple[float, float] | None
    parsed: str | None
    features: Mapping[str, float] = field(default_factory=dict)
    citations: tuple[tuple[str, float, float], ...] = ()
    abstained: bool = False
    stepped: bool | None = None
    evidence: tuple[Hit, ...] = field(default=(), compare=False, repr=False)

    @property
    def moment_iou(self) -> float:
        """IoU of the top hit's moment with the answering cues (0 in another video)."""
        return self._iou(self.moment)

    @property
    def segment_iou(self) -> float:
        """The same for the top hit's whole segment (what citing segments gives)."""
        return self._iou(self.top[1:] if self.top else None)

    def _iou(self, span: tuple[float, float] | None) -> float:
        q = self.question
        if q.moment is None or span is None or self.top is None or self.top[0] != q.video:
            return 0.0
        return temporal_iou(span, q.moment)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.question.to_dict(), "top": list(self.top) if self.top else None, "correct": self.correct,
            "moment_found": list(self.moment) if self.moment else None, "parsed": self.parsed,
            "features": {k: round(v, 4) for k, v in self.features.items()},
            "citations": [list(c) for c in self.citations], "abstained": self.abstained,
            "stepped": self.stepped,
        }  # fmt: skip


@dataclass(frozen=True)
class TimeAwareReport:
    """What :func:`run_timeaware_eval` measured.

    Attributes:
        rows: per split, ``{"kind": ..., "questions": n, "recall_at_1": ...}`` (relations apart as
            ``relational/after`` ...; moment rows add ``moment_iou`` and ``moment_iou_hit``).
        abstention: per split: threshold, accuracy, balanced accuracy, answered (answerable), abstained
            (unanswerable).
        citations: per split: precision, recall, F1.
        calibration: training-split choices: per evidence score the best threshold and its accuracy on
            both splits; moment IoU per widening.
        plain_all: R@1 of the plain queries over both splits (compare with ``vrag eval retrieval``).
        corpus, chunker, k, seconds, notes: how it was run.
        outcomes: every question's outcome.
    """

    rows: Mapping[str, list[dict[str, Any]]]
    abstention: Mapping[str, dict[str, float]]
    citations: Mapping[str, dict[str, float]]
    calibration: Mapping[str, Any]
    plain_all: float
    corpus: Mapping[str, Any]
    chunker: str
    k: int
    seconds: float
    notes: tuple[str, ...] = ()
    outcomes: tuple[Outcome, ...] = field(default=(), compare=False, repr=False)

    def row(self, kind: str, split: str = "held-out") -> dict[str, Any]:
        """One row, e.g. ``row("relational")`` or ``row("moment", "train")``.

        Raises:
            ConfigError: no such row.
        """
        for r in self.rows.get(split, []):
            if r["kind"] == kind:
                return r
        raise ConfigError(f"no {kind!r} row for the {split!r} split")

    def to_dict(self, *, details: bool = False) -> dict[str, Any]:
        out = {
            "rows": {s: list(r) for s, r in self.rows.items()}, "abstention": dict(self.abstention),
            "citations": dict(self.citations), "calibration": dict(self.calibration),
            "plain_all_recall_at_1": round(self.plain_all, 4), "corpus": dict(self.corpus),
            "chunker": self.chunker, "k": self.k, "seconds": round(self.seconds, 1),
            "notes": list(self.notes),
        }  # fmt: skip
        if details:
            out["outcomes"] = [o.to_dict() for o in self.outcomes]
        return out

    def format_table(self) -> str:
        """Markdown tables: R@1 (and moment IoU) per kind and split; abstention and citations per split."""
        lines = [
            "| kind | split | questions | R@1 | moment IoU | moment IoU \\| hit | segment IoU |",
            "|---|---|--:|--:|--:|--:|--:|",
        ]
        for split in SPLITS:
            for r in self.rows.get(split, []):
                iou = (
                    f"{r['moment_iou']:.3f} | {r['moment_iou_hit']:.3f} | {r['segment_iou']:.3f}"
                    if "moment_iou" in r
                    else " | | "
                )
                lines.append(f"| {r['kind']} | {split} | {r['questions']} | {r['recall_at_1']:.3f} | {iou} |")
        lines += [
            "",
            "| split | threshold | abstention acc. | balanced | answered | abstained on unanswerable "
            "| citation P | citation R | citation F1 |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for split in SPLITS:
            a, c = self.abstention[split], self.citations[split]
            lines.append(
                f"| {split} | {a['threshold']:.3f} | {a['accuracy']:.3f} | {a['balanced']:.3f} | "
                f"{a['answered']:.3f} | {a['abstained']:.3f} | {c['precision']:.3f} | {c['recall']:.3f} | "
                f"{c['f1']:.3f} |"
            )
        lines.append(f"\nplain queries, both splits: R@1 {self.plain_all:.3f}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- the run


def run_timeaware_eval(
    workdir: Path,
    *,
    videos: int | None = None,
    seed: int = 0,
    chunker: str = "semantic",
    k: int = 10,
    progress: bool = False,
) -> TimeAwareReport:
    """Generate (or reuse) the lecture corpus and index, ask every time-aware question, and score it.

    Args:
        workdir: corpus + index folder, shared with ``vrag eval retrieval`` (reused).
        videos: lectures (1–10, default 10).
        seed: corpus layout seed.
        chunker: ``"semantic"`` (default) or ``"fixed"``.
        k: hits per search.
        progress: print progress to stderr.

    Raises:
        UnknownNameError: an unknown chunker.
        ModelUnavailableError: RapidOCR or the bundled MiniLM is not installed.
    """
    from vrag.eval._lectures import make_lecture_corpus
    from vrag.index import VideoIndex

    started = time.perf_counter()
    _check_names("chunker", [chunker], CHUNKERS)
    _require_ocr()
    from tqdm.auto import tqdm

    tag = f"n{videos or 'all'}-s{seed}"
    corpus = make_lecture_corpus(workdir / f"corpus-{tag}", videos=videos, seed=seed)
    location = workdir / f"index-{chunker}-{tag}"
    _build_index(location, chunker, corpus, progress)
    questions = make_questions(corpus.folder)
    with VideoIndex.open(location) as index:
        asked = tqdm(questions, desc=f"{chunker}: asking", unit="q", disable=not progress, file=sys.stderr)
        outcomes = [_ask(index, q, k) for q in asked]
        calibration = _calibrate(index, outcomes)
    rows, abstention, citations, plain_all = score_outcomes(outcomes)
    notes = (
        "questions about one talk are searched with video=<that talk>",
        f"abstention and citations: the extractive answer over the top {ASK_K} hits (VideoIndex.ask)",
    )
    return TimeAwareReport(
        rows, abstention, citations, calibration, plain_all, corpus.to_dict(), chunker, k,
        time.perf_counter() - started, notes, tuple(outcomes),
    )  # fmt: skip


def _ask(index: VideoIndex, q: TimeQuestion, k: int) -> Outcome:
    from vrag.search import SearchOptions, extractive_answer, gather

    within = (q.within,) if q.within else None
    found = index.retriever.search_traced(q.text, SearchOptions(k=k, video=within))
    top = found.hits[0] if found.hits else None
    evidence, _ = gather(index.retriever, q.text, SearchOptions(k=ASK_K, video=within))
    answer = extractive_answer(q.text, evidence)
    stepped: bool | None = None
    if q.kind == "two-step":
        more, _ = gather(index.retriever, q.text, SearchOptions(k=ASK_K, video=within), steps=2)
        stepped = bool(more) and _is_truth(q, more[0])
    return Outcome(
        q, _span(top) if top else None, top is not None and _is_truth(q, top),
        top.cited if top is not None else None, found.relation.relation if found.relation else None,
        _features(evidence, index), tuple(_cited(answer.citations)), answer.abstained, stepped,
        tuple(evidence),
    )  # fmt: skip


def _span(hit: Hit) -> tuple[str, float, float]:
    return (Path(hit.video).name, hit.start, hit.end)


def _is_truth(q: TimeQuestion, hit: Hit) -> bool:
    return q.video == Path(hit.video).name and temporal_iou((hit.start, hit.end), (q.start, q.end)) > 0


def _cited(citations: Iterable[Any]) -> list[tuple[str, float, float]]:
    return [(Path(c.video).name, c.start, c.end) for c in citations]


def _features(evidence: Sequence[Hit], index: VideoIndex) -> dict[str, float]:
    if not evidence:
        return {"moment": -1.0, "relevance": 0.0, "dense": -1.0}
    dense = index.retriever.channels.text_channel or ""
    moments = [h.moment.score for h in evidence if h.moment is not None]
    return {
        "moment": max(moments) if moments else -1.0,
        "relevance": evidence[0].score,
        "dense": evidence[0].channel_scores.get(dense, -1.0),
    }


# ---------------------------------------------------------------------------------------------- scoring


def score_outcomes(
    outcomes: Sequence[Outcome], threshold: float | None = None
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, float]], dict[str, dict[str, float]], float]:
    """Rows per split, abstention and citation figures per split, and plain R@1 over both splits.

    Args:
        outcomes: every question's outcome.
        threshold: judge abstention at this support instead of each answer's own decision.
    """
    from vrag.search import MIN_SUPPORT

    rows: dict[str, list[dict[str, Any]]] = {}
    abstention: dict[str, dict[str, float]] = {}
    citations: dict[str, dict[str, float]] = {}
    for split in SPLITS:
        mine = [o for o in outcomes if o.question.split == split]
        rows[split] = _rows(mine)
        floor = MIN_SUPPORT if threshold is None else threshold
        abstention[split] = {"threshold": floor, **_abstention(mine, _decider(threshold))}
        citations[split] = _citations(mine)
    plain = [o.correct for o in outcomes if o.question.kind == "plain"]
    return rows, abstention, citations, _mean(plain)


def _decider(threshold: float | None, feature: str = "moment") -> Callable[[Outcome], bool]:
    """Whether an outcome abstains: the answer's own decision, or its ``feature`` below ``threshold``."""
    if threshold is None:
        return lambda o: o.abstained
    return lambda o: o.features[feature] < threshold


def _rows(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        q = o.question
        if q.answerable:
            groups.setdefault(q.kind, []).append(o)
            if q.kind == "relational" and q.relation:
                groups.setdefault(f"relational/{q.relation}", []).append(o)
            if q.kind == "two-step":
                groups.setdefault("two-step (ask, 2 steps)", []).append(o)
    rows = []
    for kind, group in groups.items():
        hits = (
            [o.stepped is True for o in group]
            if kind.startswith("two-step (")
            else [o.correct for o in group]
        )
        row: dict[str, Any] = {"kind": kind, "questions": len(group), "recall_at_1": round(_mean(hits), 4)}
        if kind == "moment":
            row["moment_iou"] = round(_mean(o.moment_iou for o in group), 4)
            row["moment_iou_hit"] = round(_mean(o.moment_iou for o in group if o.correct), 4)
            row["segment_iou"] = round(_mean(o.segment_iou for o in group), 4)
        rows.append(row)
    return rows


def _abstention(outcomes: Sequence[Outcome], abstains: Callable[[Outcome], bool]) -> dict[str, float]:
    ans = [o for o in outcomes if o.question.kind in ANSWERABLE_KINDS]
    una = [o for o in outcomes if not o.question.answerable]
    answered = _mean(not abstains(o) for o in ans)
    abstained = _mean(abstains(o) for o in una)
    correct = sum(not abstains(o) for o in ans) + sum(abstains(o) for o in una)
    return {
        "accuracy": round(correct / max(len(ans) + len(una), 1), 4),
        "balanced": round((answered + abstained) / 2, 4),
        "answered": round(answered, 4),
        "abstained": round(abstained, 4),
        "answerable": len(ans),
        "unanswerable": len(una),
    }


def _citations(outcomes: Sequence[Outcome]) -> dict[str, float]:
    asked = [o for o in outcomes if o.question.kind in ANSWERABLE_KINDS or not o.question.answerable]
    cited = [(o, c) for o in asked for c in o.citations]
    right = sum(_overlaps(o.question, c) for o, c in cited)
    ans = [o for o in asked if o.question.answerable]
    found = sum(any(_overlaps(o.question, c) for c in o.citations) for o in ans)
    precision = right / len(cited) if cited else 1.0
    recall = found / len(ans) if ans else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _overlaps(q: TimeQuestion, cited: tuple[str, float, float]) -> bool:
    return q.video == cited[0] and temporal_iou((cited[1], cited[2]), (q.start, q.end)) > 0


def _mean(values: Iterable[float]) -> float:
    vals = list(values)
    return sum(vals) / len(vals) if vals else 0.0


# ---------------------------------------------------------------------------------------------- calibration


def _calibrate(index: VideoIndex, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Thresholds per evidence score and moment widening, chosen on the training split."""
    judged = [o for o in outcomes if o.question.kind in ANSWERABLE_KINDS or not o.question.answerable]
    scores = {}
    for feature in ("moment", "relevance", "dense"):
        threshold = best_threshold([o for o in judged if o.question.split == "train"], feature)
        decide = _decider(threshold, feature)
        scores[feature] = {"threshold": round(threshold, 4)} | {
            split: _abstention([o for o in judged if o.question.split == split], decide)["balanced"]
            for split in SPLITS
        }
    margins = {
        f"{m:g}": _citations([_answered(o, m) for o in judged if o.question.split == "train"])["f1"]
        for m in MARGINS
    }
    return {"abstention": scores, "moment_widening": _widenings(index, outcomes), "passage_margin": margins}


def _answered(o: Outcome, margin: float) -> Outcome:
    """The outcome with the extractive answer written again from its evidence with another passage margin."""
    from dataclasses import replace

    from vrag.search import extractive_answer

    answer = extractive_answer(o.question.text, o.evidence, margin=margin)
    return replace(o, citations=tuple(_cited(answer.citations)), abstained=answer.abstained)


def best_threshold(outcomes: Sequence[Outcome], feature: str) -> float:
    """The threshold on ``feature`` with the best balanced abstention accuracy (midpoint between scores)."""
    values = sorted({o.features[feature] for o in outcomes})
    cuts = [(a + b) / 2 for a, b in itertools.pairwise(values)] or values
    return max(cuts, key=lambda t: _abstention(outcomes, _decider(t, feature))["balanced"], default=0.0)


def _widenings(index: VideoIndex, outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Moment IoU on the training split's moment questions for each widening (same top hits)."""
    from vrag.search import Query, SearchOptions
    from vrag.search._moments import MomentFinder

    text = index.retriever.channels.text
    mine = [o for o in outcomes if o.question.kind == "moment" and o.question.split == "train"]
    if text is None or not mine:
        return {}
    finders = {w: MomentFinder(text, widen=w) for w in WIDENINGS}
    ious: dict[float, list[float]] = {w: [] for w in WIDENINGS}
    for o in mine:
        hits, extras = index.retriever.candidates(Query(o.question.text), SearchOptions(k=1))
        right = bool(hits) and _is_truth(o.question, hits[0])
        for w, finder in finders.items():
            moment = finder.attach(o.question.text, hits[:1], extras)[0].cited if right else None
            ious[w].append(temporal_iou(moment, o.question.moment) if moment and o.question.moment else 0.0)
    return {f"{w:g}": round(_mean(v), 4) for w, v in ious.items()}
