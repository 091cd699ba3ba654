"""Query latency through ``VideoIndex.search`` at 100k segments: query embedding + fused search + merge,
p50 / p95, with and without each reranker that runs offline.

Index: an Edge index built the way ``VideoIndex`` builds one with text channels only (MiniLM 384-d dense +
BM25; visual channels off), HNSW built by ``optimize()``. Segments: encoding 100k texts with MiniLM takes
~15 min on 2 CPU cores, so the script encodes ``--base`` distinct texts once (pairs of sentences from the
evaluation lectures in ``vrag/eval/_lectures.py`` plus their queries, shuffled) and makes each segment
from two of them: its text is the two texts joined, its vector the normalised sum of their two real MiniLM
vectors plus a little gaussian noise (cosine ~0.97 to the clean sum), so no two segments are identical and
the vectors stay on MiniLM's real distribution. BM25 indexes the joined text, as it would a transcript.

Queries: the evaluation's paraphrased lecture queries (real words, so BM25 and the reranker do real work).
Each timed call is ``index.search(query, k=10, merge=True[, rerank=name])``, i.e. encode the query, fused
dense + BM25 search in the engine, optional reranking of the candidates, temporal merge. A separate row
times the query embedding alone.

Rerankers: ``sentence`` (bundled MiniLM) runs offline. ``cross-encoder`` needs a downloaded model (give one
with ``--cross-encoder DIR``), ``llm`` needs an LLM, ``cascade`` needs the real video files and a
text-aligned video encoder: those are skipped, with a note.

    .venv/bin/python benchmarks/query_latency.py                           # 100k segments, ~5 min build
    .venv/bin/python benchmarks/query_latency.py --segments 5000 --queries 30   # smoke run
    .venv/bin/python benchmarks/query_latency.py --keep benchmarks/out/latency_index  # reuse the index
    .venv/bin/python benchmarks/query_latency.py --json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vrag.config import IndexConfig  # noqa: E402
from vrag.eval._lectures import LECTURES  # noqa: E402

PER_VIDEO = 1000
SEGMENT_S = 8.0
NOISE = 0.01  # per-dimension sigma on 384-d unit vectors: ||noise|| ~ 0.2


def config() -> IndexConfig:
    return IndexConfig(visual_encoders=(), text_encoder="minilm", ocr="off", asr="off", workers=0)


def sentences() -> list[str]:
    """Every bullet, narration sentence and query of the evaluation lectures."""
    out: list[str] = []
    for lecture in LECTURES:
        for slide in (*lecture.slides, lecture.camera):
            out += [*slide.bullets, *slide.narration, *slide.screen, *slide.speech]
    return out


def queries() -> list[str]:
    return [q for lec in LECTURES for s in (*lec.slides, lec.camera) for q in (*s.screen, *s.speech)]


def base_texts(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct texts, each two lecture sentences."""
    pool = sentences()
    seen: dict[str, None] = {}
    while len(seen) < n:
        a, b = rng.sample(pool, 2)
        seen[f"{a} {b}"] = None
    return list(seen)


def stored_schema(location: Path) -> Any:
    """The ``StoreSchema`` a ``VideoIndex`` created in ``location`` (to write to it with ``open_store``)."""
    from vrag.store import StoreSchema, read_schema_record

    rec = read_schema_record(location)
    assert rec is not None, location
    return StoreSchema.from_record(rec)


def build(location: Path, n: int, n_base: int, seed: int) -> dict[str, float]:
    """Create the index and write ``n`` synthetic segments; return the build timings."""
    from vrag.encoders import create_encoder
    from vrag.index import VideoIndex
    from vrag.store import SegmentRecord, VideoRecord, open_store

    VideoIndex.open(location, config()).close()  # the schema exactly as VideoIndex makes it
    rng = random.Random(seed)
    texts = base_texts(n_base, rng)
    t0 = time.perf_counter()
    vecs = create_encoder("minilm").encode_document(texts)  # type: ignore[attr-defined]
    encode_s = time.perf_counter() - t0
    nrng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with open_store(location, schema=stored_schema(location)) as store:
        channel = next(iter(store.schema.dense))
        for v0 in range(0, n, PER_VIDEO):
            vid = f"synthetic{v0 // PER_VIDEO:05d}"
            m = min(PER_VIDEO, n - v0)
            pairs = nrng.integers(0, len(texts), size=(m, 2))
            mixed = vecs[pairs[:, 0]] + vecs[pairs[:, 1]]
            mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
            mixed += NOISE * nrng.standard_normal(mixed.shape).astype(np.float32)
            mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
            store.begin_video(vid)
            store.add_segments(
                SegmentRecord(vid, f"/videos/{vid}.mp4", SEGMENT_S * i, SEGMENT_S * (i + 1),
                              {channel: mixed[i]}, text=f"{texts[a]} {texts[b]}",
                              keyframes=(SEGMENT_S * (i + 0.5),), extra={"speech": texts[a], "ocr": texts[b]})
                for i, (a, b) in enumerate(pairs.tolist())
            )  # fmt: skip
            store.commit_video(VideoRecord(vid, f"/videos/{vid}.mp4", SEGMENT_S * m))
        ingest_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.optimize()
        hnsw_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with VideoIndex.open(location) as index:  # video-level vectors, as add() builds them (k-means, K=8)
        index.build_video_vectors()
    videos_s = time.perf_counter() - t0
    return {
        "encode_base_s": encode_s,
        "ingest_s": ingest_s,
        "hnsw_build_s": hnsw_s,
        "video_vectors_s": videos_s,
    }


def percentiles(times: list[float]) -> dict[str, float]:
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
        "mean_ms": float(np.mean(times)),
    }


def measure(
    location: Path, qs: list[str], rerankers: list[str], k: int, cross_encoder: str | None
) -> list[dict[str, Any]]:
    from vrag.encoders import create_encoder
    from vrag.errors import VragError
    from vrag.index import VideoIndex
    from vrag.search import create_reranker

    rows: list[dict[str, Any]] = []
    encoder: Any = create_encoder(
        config().text_encoder or "minilm"
    )  # the model the index embeds queries with
    with VideoIndex.open(location) as index:
        segments = index.info().segments
        ways: list[tuple[str, Any]] = [
            ("query embedding only", lambda q: encoder.encode_query([q])),
            (
                "embed + flat fused search + merge",
                lambda q: index.search(q, k=k, merge=True, hierarchical=False),
            ),
            (
                "embed + video stage + fused search + merge (default)",
                lambda q: index.search(q, k=k, merge=True),
            ),
        ]
        for name in rerankers:
            options = {"model": cross_encoder} if name == "cross-encoder" and cross_encoder else {}
            try:
                reranker = create_reranker(name, **options)
                index.search(qs[0], k=k, merge=True, rerank=reranker)  # loads its model
            except (VragError, TypeError) as err:
                rows.append({"way": f"+ rerank {name}", "skipped": f"{type(err).__name__}: {err}"})
                continue
            search = lambda q, r=reranker: index.search(q, k=k, merge=True, rerank=r, hierarchical=False)  # noqa: E731
            ways.append((f"embed + flat fused search + rerank {name} + merge", search))
        for way, run in ways:
            for q in qs[:3]:  # warm-up
                run(q)
            times = []
            for q in qs:
                t0 = time.perf_counter()
                run(q)
                times.append((time.perf_counter() - t0) * 1000)
            rows.append({"way": way, "segments": segments, "queries": len(qs), "k": k, **percentiles(times)})
    return rows


def table(rows: list[dict[str, Any]], build_info: dict[str, float]) -> str:
    lines = ["| segments | way | p50 ms | p95 ms | mean ms | queries |", "|--:|---|--:|--:|--:|--:|"]
    for r in rows:
        if "skipped" in r:
            continue
        lines.append(
            f"| {r['segments']:,} | {r['way']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['mean_ms']:.1f} | {r['queries']} |"
        )
    lines += [f"\nskipped {r['way']}: {r['skipped']}" for r in rows if "skipped" in r]
    if build_info:
        lines.append("build: " + ", ".join(f"{k} {v:.1f}" for k, v in build_info.items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=3000, help="distinct texts encoded with MiniLM")
    parser.add_argument("--queries", type=int, default=110, help="timed queries (cycled from the eval's)")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--rerankers", nargs="*", default=["sentence", "cross-encoder", "llm", "cascade"])
    parser.add_argument("--cross-encoder", help="a local CrossEncoder directory for the cross-encoder row")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the index in this folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pool = queries()
    qs = [pool[i % len(pool)] for i in range(args.queries)]
    from vrag.store import read_schema_record

    with tempfile.TemporaryDirectory() as tmp:
        location = args.keep or Path(tmp) / "idx"
        built = {}
        if read_schema_record(location) is None:  # --keep reuses an index built by an earlier run
            built = build(location, args.segments, min(args.base, args.segments), args.seed)
        rows = measure(location, qs, args.rerankers, args.k, args.cross_encoder)
    print(json.dumps({"rows": rows, "build": built}, indent=2) if args.json else table(rows, built))


if __name__ == "__main__":
    main()
