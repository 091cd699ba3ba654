"""Retrieval quality on generated lectures: Recall@1/5, MRR and the temporal IoU of the returned span.

The corpus (:func:`vrag.eval._lectures.make_lecture_corpus`) is lecture videos with slides, narration as
subtitles, hard cuts and fades in three containers, and paraphrased queries whose answer is written on one
slide (``screen``) or only spoken over it (``speech``). Each query's truth is one slide of one video.

Variants (rows are ``chunker x variant``; each chunker builds one real index, text channels only):

- ``fused``: ``VideoIndex.search`` as a user runs it: MiniLM text vectors + BM25 over transcript and
  on-screen text, fused in the engine (DBSF, the search default).
- ``fused+rerank``: the same with ``rerank="sentence"`` (the bundled MiniLM rescoring the candidates).
- ``transcript`` / ``ocr``: the same segments (same boundaries, same text encoder, same BM25, same DBSF
  through ``vrag.store``), re-indexed with only one text source: the transcript (``extra.speech``) or the
  OCR'd slide text (``extra.ocr``). Only the source of the words differs from ``fused``.
- ``dense`` / ``bm25``: ``fused`` restricted to one channel (``VideoIndex.search(channels=...)``).
- ``split``: a design experiment, not what the index does today: the same segments with *two* dense
  channels, one over the transcript and one over the slide text, plus BM25 over both, all fused by DBSF
  (the pipeline today embeds transcript + slide text as one text, which dilutes the slide's words).

Visual channels are off: offline only random-weight ``*-test`` video encoders exist, and their scores
would mean nothing.

A hit is correct when it is in the query's video and its span overlaps the true interval. Per row:
R@1, R@5, MRR (over the top ``k``), IoU@1 (IoU of the top hit's span with the truth, 0 when the top hit is
wrong), IoU|hit (IoU of the first correct hit, over queries that have one), R@1 on screen and on speech
queries, and search time per query.

Example:
    >>> from pathlib import Path
    >>> from vrag.eval._retrieval import run_retrieval_eval
    >>> report = run_retrieval_eval(Path("/tmp/vrag-eval"), videos=3)  # doctest: +SKIP
    >>> print(report.format_table())  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import functools
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrag.errors import ConfigError, MediaError, ModelUnavailableError, UnknownNameError
from vrag.eval._lectures import EvalQuery, LectureCorpus, make_lecture_corpus

if TYPE_CHECKING:
    from vrag.encoders import TextEncoder
    from vrag.store import Store

__all__ = [
    "CHUNKERS",
    "VARIANTS",
    "QueryOutcome",
    "RetrievalReport",
    "RetrievalRow",
    "judge",
    "run_retrieval_eval",
    "summarize",
    "temporal_iou",
]

VARIANTS = ("transcript", "ocr", "fused", "fused+rerank", "dense", "bm25", "split")
DEFAULT_VARIANTS = ("transcript", "ocr", "fused", "fused+rerank")
CHUNKERS = ("fixed", "semantic")
RERANKER = "sentence"
TEXT_ENCODER = "minilm"
NOTES = (
    "text channels only (MiniLM dense + BM25, fused by DBSF); visual channels off: offline only "
    "random-weight test video encoders exist",
    "transcript / ocr rows: the index's own segments re-indexed with one text source (same encoder, BM25, "
    "fusion)",
    "a hit is correct when it is in the right video and overlaps the true slide interval",
)

Span = tuple[str, float, float]
"""A returned span: video file name, start, end (seconds)."""


# ---------------------------------------------------------------------------------------------- metrics


def temporal_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two time intervals ``(start, end)`` (0 when they do not overlap)."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if inter > 0 and union > 0 else 0.0


@dataclass(frozen=True)
class QueryOutcome:
    """How one ranking did on one query.

    Attributes:
        query: the query and its truth.
        rank: 1-based rank of the first correct span, None when none of the returned spans is correct.
        iou_at_1: IoU of the top span with the truth (0 when the top span is wrong or absent).
        iou_correct: IoU of the first correct span, None when there is none.
        top: the top span returned (None for an empty ranking).
    """

    query: EvalQuery
    rank: int | None
    iou_at_1: float
    iou_correct: float | None
    top: Span | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query.text,
            "video": self.query.video,
            "truth": [self.query.start, self.query.end],
            "source": self.query.source,
            "rank": self.rank,
            "iou_at_1": round(self.iou_at_1, 4),
            "top": list(self.top) if self.top else None,
        }


def judge(query: EvalQuery, ranked: Sequence[Span]) -> QueryOutcome:
    """Score a ranking (best first) against the query's truth.

    Args:
        query: the query with its true video and interval.
        ranked: returned spans ``(video file name, start, end)``, best first.
    """
    truth = (query.start, query.end)

    def iou(span: Span) -> float:
        return temporal_iou((span[1], span[2]), truth) if span[0] == query.video else 0.0

    rank = next((i for i, span in enumerate(ranked, 1) if iou(span) > 0), None)
    return QueryOutcome(
        query,
        rank,
        iou(ranked[0]) if ranked else 0.0,
        iou(ranked[rank - 1]) if rank else None,
        ranked[0] if ranked else None,
    )


@dataclass(frozen=True)
class RetrievalRow:
    """The scores of one variant over all queries (see the module docstring for each metric)."""

    chunker: str
    variant: str
    queries: int
    recall_at_1: float
    recall_at_5: float
    mrr: float
    iou_at_1: float
    iou_correct: float
    recall_at_1_screen: float
    recall_at_1_speech: float
    ms_per_query: float
    outcomes: tuple[QueryOutcome, ...] = field(default=(), compare=False, repr=False)

    def to_dict(self, *, details: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "chunker": self.chunker,
            "variant": self.variant,
            "queries": self.queries,
            "recall_at_1": round(self.recall_at_1, 4),
            "recall_at_5": round(self.recall_at_5, 4),
            "mrr": round(self.mrr, 4),
            "iou_at_1": round(self.iou_at_1, 4),
            "iou_correct": round(self.iou_correct, 4),
            "recall_at_1_screen": round(self.recall_at_1_screen, 4),
            "recall_at_1_speech": round(self.recall_at_1_speech, 4),
            "ms_per_query": round(self.ms_per_query, 2),
        }
        if details:
            out["outcomes"] = [o.to_dict() for o in self.outcomes]
        return out

    def misses(self) -> list[QueryOutcome]:
        """Queries whose top span is wrong."""
        return [o for o in self.outcomes if o.rank != 1]


def summarize(
    chunker: str, variant: str, outcomes: Sequence[QueryOutcome], seconds: float = 0.0
) -> RetrievalRow:
    """Average the per-query outcomes into one row (``seconds``: total search time of the variant)."""
    n = len(outcomes)
    if not n:
        raise ConfigError(f"{variant}: no queries to score; generate a corpus with at least one video")

    def mean(values: Iterable[float]) -> float:
        vals = list(values)
        return sum(vals) / len(vals) if vals else 0.0

    def r1(source: str) -> float:
        return mean(float(o.rank == 1) for o in outcomes if o.query.source == source)

    return RetrievalRow(
        chunker, variant, n,
        mean(float(o.rank == 1) for o in outcomes),
        mean(float(o.rank is not None and o.rank <= 5) for o in outcomes),
        mean(1.0 / o.rank if o.rank else 0.0 for o in outcomes),
        mean(o.iou_at_1 for o in outcomes),
        mean(o.iou_correct for o in outcomes if o.iou_correct is not None),
        r1("screen"), r1("speech"), 1000 * seconds / n, tuple(outcomes),
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class RetrievalReport:
    """What :func:`run_retrieval_eval` measured: one row per chunker and variant.

    Attributes:
        rows: the scores, in run order.
        corpus: the generated corpus (folder, videos, query count, seconds of video, seed).
        k: hits retrieved per query (R@k and MRR are over these).
        seconds: wall time of the whole run (corpus, indexing, searches).
        notes: how the numbers were made, and anything skipped.
    """

    rows: tuple[RetrievalRow, ...]
    corpus: Mapping[str, Any]
    k: int
    seconds: float
    notes: tuple[str, ...] = ()

    def row(self, variant: str, chunker: str = "semantic") -> RetrievalRow:
        """The row of one variant and chunker.

        Raises:
            UnknownNameError: no such row in this report.
        """
        for r in self.rows:
            if (r.variant, r.chunker) == (variant, chunker):
                return r
        names = [f"{r.chunker}/{r.variant}" for r in self.rows]
        name = f"{chunker}/{variant}"
        raise UnknownNameError("report row", name, difflib.get_close_matches(name, names), names)

    def to_dict(self, *, details: bool = False) -> dict[str, Any]:
        return {
            "rows": [r.to_dict(details=details) for r in self.rows],
            "corpus": dict(self.corpus),
            "k": self.k,
            "seconds": round(self.seconds, 1),
            "notes": list(self.notes),
        }

    def format_table(self) -> str:
        """A markdown table of the rows."""
        head = (
            "| chunker | variant | queries | R@1 | R@5 | MRR | IoU@1 | IoU hit | R@1 screen | R@1 speech "
            "| ms/query |"
        )
        lines = [head, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for r in self.rows:
            lines.append(
                f"| {r.chunker} | {r.variant} | {r.queries} | {r.recall_at_1:.3f} | {r.recall_at_5:.3f} | "
                f"{r.mrr:.3f} | {r.iou_at_1:.3f} | {r.iou_correct:.3f} | {r.recall_at_1_screen:.3f} | "
                f"{r.recall_at_1_speech:.3f} | {r.ms_per_query:.1f} |"
            )
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- the run


def run_retrieval_eval(
    workdir: Path,
    *,
    variants: Sequence[str] = DEFAULT_VARIANTS,
    videos: int | None = None,
    seed: int = 0,
    progress: bool = False,
    chunkers: Sequence[str] = CHUNKERS,
    k: int = 10,
) -> RetrievalReport:
    """Generate the lecture corpus, index it once per chunker, and score every variant on its queries.

    Corpus and indexes are kept in ``workdir`` and reused by the next run with the same arguments.

    Args:
        workdir: folder for the corpus and the indexes (created).
        variants: which rankings to score (:data:`VARIANTS`; default transcript, ocr, fused,
            fused+rerank).
        videos: how many lectures (1–10, default all ten, ~11 min of video, ~110 queries).
        seed: corpus layout seed (containers, slide lengths, transitions).
        progress: show a progress bar (tqdm) on stderr.
        chunkers: ``"fixed"`` (10 s windows) and/or ``"semantic"`` (shots merged by looks and words).
        k: hits per query.

    Returns:
        One row per chunker and variant.

    Raises:
        UnknownNameError: an unknown variant or chunker.
        ModelUnavailableError: RapidOCR (``vrag-video[ocr]``) or the bundled MiniLM is not installed.
        MediaError: a generated video could not be indexed.
    """
    started = time.perf_counter()
    _check_names("variant", variants, VARIANTS)
    _check_names("chunker", chunkers, CHUNKERS)
    if k < 5:
        raise ConfigError(f"k must be at least 5 (Recall@5 is reported), got {k}")
    _require_ocr()
    from tqdm.auto import tqdm

    tag = f"n{videos or 'all'}-s{seed}"
    steps = tqdm(
        total=1 + len(chunkers) * (1 + len(variants)), desc="generating lectures", unit="step",
        disable=not progress, file=sys.stderr,
    )  # fmt: skip
    with steps:
        corpus = make_lecture_corpus(workdir / f"corpus-{tag}", videos=videos, seed=seed)
        steps.update()
        rows, notes = [], list(NOTES)
        for chunker in chunkers:
            location = workdir / f"index-{chunker}-{tag}"
            steps.set_description(f"{chunker}: indexing {len(corpus.videos)} videos")
            steps.set_postfix_str(_build_index(location, chunker, corpus, progress))
            steps.update()
            for variant in variants:
                steps.set_description(f"{chunker}: scoring {variant} ({len(corpus.queries)} queries)")
                try:
                    outcomes, seconds = _score(variant, location, corpus, k, workdir)
                except ModelUnavailableError as err:
                    notes.append(f"{chunker}/{variant} skipped: {err}")
                    continue
                finally:
                    steps.update()
                rows.append(summarize(chunker, variant, outcomes, seconds))
    return RetrievalReport(
        tuple(rows), corpus.to_dict(), k, time.perf_counter() - started, tuple(dict.fromkeys(notes))
    )


def _check_names(kind: str, names: Sequence[str], known: Sequence[str]) -> None:
    if isinstance(names, str):
        raise ConfigError(f"{kind}s: pass a list of names, not the string {names!r}")
    for name in names:
        if name not in known:
            raise UnknownNameError(kind, name, difflib.get_close_matches(name, known), list(known))


def _require_ocr() -> None:
    import importlib.util

    if importlib.util.find_spec("rapidocr_onnxruntime") is None:
        raise ModelUnavailableError(
            "the retrieval evaluation reads slide text with RapidOCR, which is not installed: "
            "pip install 'vrag-video[ocr]'"
        )


def _config(chunker: str) -> Any:
    from vrag.config import IndexConfig

    return IndexConfig(
        visual_encoders=(), text_encoder=TEXT_ENCODER, chunker=chunker, ocr="on", asr="off", workers=None
    )


def _build_index(location: Path, chunker: str, corpus: LectureCorpus, progress: bool) -> str:
    """Index the corpus at ``location`` (videos already there are reused); returns what was done."""
    from vrag.index import VideoIndex

    with VideoIndex.open(location, _config(chunker)) as index:
        report = index.add(corpus.videos, progress=progress)
    if report.failed:
        bad = report.failed[0]
        raise MediaError(bad.path, f"could not be indexed for the evaluation ({bad.message})")
    return f"{len(report.indexed)} indexed, {len(report.skipped)} reused, {report.seconds:.1f} s"


def _score(
    variant: str, location: Path, corpus: LectureCorpus, k: int, workdir: Path
) -> tuple[list[QueryOutcome], float]:
    """Run every query of ``corpus`` through ``variant``; return the outcomes and the search seconds."""
    if variant in SOURCES:
        return _score_source(variant, location, corpus, k, workdir)
    from vrag.index import VideoIndex

    by_variant: dict[str, dict[str, Any]] = {
        "fused": {},
        "fused+rerank": {"rerank": RERANKER},
        "dense": {"channels": [TEXT_ENCODER]},
        "bm25": {"channels": ["bm25"]},
    }
    options = by_variant[variant]
    with VideoIndex.open(location) as index:
        index.search(corpus.queries[0].text, k=k, **options)  # warm-up: loads the reranker
        return _timed(corpus.queries, lambda q: _spans(index.search(q, k=k, **options)))


def _timed(
    queries: Sequence[EvalQuery], search: Callable[[str], list[Span]]
) -> tuple[list[QueryOutcome], float]:
    outcomes, seconds = [], 0.0
    for query in queries:
        t0 = time.perf_counter()
        ranked = search(query.text)
        seconds += time.perf_counter() - t0
        outcomes.append(judge(query, ranked))
    return outcomes, seconds


def _spans(hits: Iterable[Any]) -> list[Span]:
    return [(Path(h.video).name, float(h.start), float(h.end)) for h in hits]


# ---------------------------------------------------------------------------------------------- one source


SOURCES: dict[str, tuple[str, ...]] = {"transcript": ("speech",), "ocr": ("ocr",), "split": ("speech", "ocr")}
"""Scratch-store variants: the text sources each re-indexes (one dense channel per source)."""


def _score_source(
    variant: str, location: Path, corpus: LectureCorpus, k: int, workdir: Path
) -> tuple[list[QueryOutcome], float]:
    """Re-index the index's segments in a scratch Edge store with a dense MiniLM channel per text source of
    ``variant`` and BM25 over those sources, then search it the way ``VideoIndex.search`` does (DBSF)."""
    from vrag.store import SPARSE_CHANNEL

    keys = SOURCES[variant]
    encoder = _text_encoder()
    scratch = workdir / f"scratch-{location.name}-{variant}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        with _source_store(location, scratch, keys, encoder) as store:

            def search(text: str) -> list[Span]:
                vector = encoder.encode_query([text])[0]
                queries: dict[str, Any] = {f"text-{key}": vector for key in keys}
                return _spans(store.search_fused({**queries, SPARSE_CHANNEL: text}, k=k, fusion="dbsf"))

            return _timed(corpus.queries, search)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def _text_encoder() -> TextEncoder:
    from vrag.encoders import create_encoder

    return create_encoder(TEXT_ENCODER)  # type: ignore[return-value]


def _source_store(location: Path, scratch: Path, keys: Sequence[str], encoder: TextEncoder) -> Store:
    from vrag.store import DenseChannel, SegmentRecord, StoreSchema, VideoRecord, open_store

    with open_store(location, schema=_stored_schema(location)) as index:
        segments = list(index.iter_segments())
        videos = list(index.iter_videos())
    vectors = {key: _encode([str(s.extra.get(key, "")) for s in segments], encoder) for key in keys}
    texts = ["\n".join(t for key in keys if (t := str(s.extra.get(key, "")))) for s in segments]
    dense = {f"text-{key}": DenseChannel(encoder.spec.dim) for key in keys}
    schema = StoreSchema(dense=dense, sparse_text=True, fingerprint="+".join(keys))
    store = open_store(scratch, schema=schema)
    try:
        for video in videos:
            store.begin_video(video.video_id)
            store.add_segments(
                SegmentRecord(s.video_id, s.video, s.start, s.end, text=texts[i],
                              vectors={f"text-{key}": vectors[key][i] for key in keys if i in vectors[key]})
                for i, s in enumerate(segments) if s.video_id == video.video_id
            )  # fmt: skip
            store.commit_video(VideoRecord(video.video_id, video.path, video.duration))
    except BaseException:
        store.close()  # never leave a scratch store open while its folder is removed
        raise
    return store


def _encode(texts: Sequence[str], encoder: TextEncoder) -> dict[int, Any]:
    """Document vectors of the non-empty ``texts``, by position."""
    rows = [i for i, t in enumerate(texts) if t.strip()]
    if not rows:
        return {}
    return dict(zip(rows, encoder.encode_document([texts[i] for i in rows]), strict=True))


def _stored_schema(location: Path) -> Any:
    """The schema an index folder was built with, read from its record (to open it with ``open_store``)."""
    from vrag.store import StoreSchema, read_schema_record

    record = read_schema_record(location)
    if record is None:
        raise ConfigError(f"{location}: no index here; run the evaluation again to build it")
    return StoreSchema.from_record(record)
