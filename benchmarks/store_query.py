"""Segment search latency and recall through ``vrag.store``: Qdrant Edge (exact, HNSW) vs qdrant-client local.

Data: ``n`` segments x 512-d structured vectors (rank-32 signal + isotropic noise, L2-normalised), the kind
of low intrinsic dimension real embeddings have; i.i.d. gaussians would make every neighbour equally far.
Queries are fresh draws from the same generator. Ground truth is a numpy exact top-10.

Every search goes through ``Store.search`` (committed filter + full segment payload with the LlamaIndex /
LangChain keys parsed into ``StoredHit``), i.e. what the pipeline pays.

* ``edge-exact``: Qdrant Edge, ``exact=True`` (brute force in Rust), before ``optimize()``.
* ``edge-hnsw`` : Qdrant Edge after ``optimize()`` (HNSW m=16, ef_construct=100; build time reported).
* ``local``     : qdrant-client local mode (``:memory:``; pure-Python brute force). Its ingest is quadratic
  (``np.append`` per point) and a filtered query costs ~1.5 s at 100k, so by default it runs only up to 10k;
  ``--local-max 100000`` adds it at 100k (+~5 min, 50 queries).

Each backend runs in its own subprocess so peak RSS does not mix. Run:

    .venv/bin/python benchmarks/store_query.py                 # 10k (all) and 100k (Edge), markdown table
    .venv/bin/python benchmarks/store_query.py --local-max 100000   # local mode at 100k too (~10 min)
    .venv/bin/python benchmarks/store_query.py --quick         # 1k smoke test (CI)
    .venv/bin/python benchmarks/store_query.py --json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DIM, RANK, NOISE, K = 512, 32, 0.35, 10
CHANNEL = "vis"


def structured(n: int, seed: int) -> np.ndarray:
    """``n`` unit vectors: a shared random rank-32 basis times gaussian codes, plus noise."""
    basis = np.random.default_rng(0).standard_normal((RANK, DIM)) / np.sqrt(RANK)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, RANK)) @ basis + NOISE * rng.standard_normal((n, DIM)) / np.sqrt(
        DIM
    ) * np.sqrt(RANK)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def truth(data: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    scores = queries @ data.T
    top = np.argpartition(-scores, K, axis=1)[:, :K]
    return [set(row.tolist()) for row in top]


def ingest(store: Any, data: np.ndarray) -> float:
    from vrag.store import SegmentRecord, VideoRecord

    t0 = time.perf_counter()
    per_video = 1000
    for v0 in range(0, len(data), per_video):
        vid = f"video{v0 // per_video:05d}"
        store.begin_video(vid)
        store.add_segments(
            SegmentRecord(vid, f"/videos/{vid}.mp4", 2.0 * (i - v0), 2.0 * (i - v0 + 1), {CHANNEL: data[i]},
                          text=f"segment {i} of {vid}", keyframes=(2.0 * (i - v0) + 1,), extra={"i": i})
            for i in range(v0, min(v0 + per_video, len(data)))
        )  # fmt: skip
        store.commit_video(VideoRecord(vid, f"/videos/{vid}.mp4", 2.0 * per_video))
    return time.perf_counter() - t0


def measure(store: Any, queries: np.ndarray, gt: list[set[int]], **opts: Any) -> dict[str, float]:
    store.search(CHANNEL, queries[0], k=K, **opts)  # warm-up
    times, recalls = [], []
    for q, want in zip(queries, gt, strict=True):
        t0 = time.perf_counter()
        hits = store.search(CHANNEL, q, k=K, **opts)
        times.append((time.perf_counter() - t0) * 1000)
        recalls.append(len({h.extra["i"] for h in hits} & want) / K)
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
        "recall10": float(np.mean(recalls)),
        "queries": len(times),
    }


def worker(backend: str, n: int, n_queries: int) -> list[dict[str, Any]]:
    from vrag.store import StoreSchema, open_store

    data, queries = structured(n, seed=1), structured(n_queries, seed=2)
    gt = truth(data, queries)
    schema = StoreSchema(dense={CHANNEL: (DIM, "cosine")}, fingerprint="bench")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        location = Path(tmp) / "idx" if backend == "edge" else ":memory:"
        with open_store(location, schema=schema) as store:
            ingest_s = ingest(store, data)
            base = {"n": n, "ingest_s": round(ingest_s, 1)}
            if backend == "local":
                rows.append({"way": "local", **base, **measure(store, queries, gt)})
            else:
                rows.append({"way": "edge-exact", **base, **measure(store, queries, gt, exact=True)})
                t0 = time.perf_counter()
                store.optimize()
                build = {"hnsw_build_s": round(time.perf_counter() - t0, 1)}
                rows.append({"way": "edge-hnsw", **base, **build, **measure(store, queries, gt)})
                rows.append(
                    {"way": "edge-hnsw-ef128", **base, **build, **measure(store, queries, gt, hnsw_ef=128)}
                )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [{**row, "peak_rss_mb": round(rss)} for row in rows]


def run_worker(backend: str, n: int, n_queries: int) -> list[dict[str, Any]]:
    cmd = [sys.executable, __file__, "--worker", backend, "--n", str(n), "--queries", str(n_queries)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    rows: list[dict[str, Any]] = json.loads(out.strip().splitlines()[-1])
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| segments | way | p50 ms | p95 ms | recall@10 | queries | ingest s | HNSW build s | peak RSS MB |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['way']} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['recall10']:.3f} | "
            f"{r['queries']} | {r['ingest_s']} | {r.get('hnsw_build_s', '')} | {r['peak_rss_mb']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--local-queries", type=int, default=50, help="queries for local mode at >= 50k (slow)"
    )
    parser.add_argument(
        "--local-max", type=int, default=10_000, help="largest size run in local mode (100k adds ~5 min)"
    )
    parser.add_argument("--quick", action="store_true", help="1k segments, 50 queries (smoke test)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", choices=["edge", "local"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.queries)))
        return
    sizes, n_queries = ([1000], 50) if args.quick else (args.sizes, args.queries)
    rows = []
    for n in sizes:
        rows += run_worker("edge", n, n_queries)
        if n <= args.local_max:
            rows += run_worker("local", n, n_queries if n < 50_000 else min(n_queries, args.local_queries))
    print(json.dumps(rows, indent=2) if args.json else table(rows))


if __name__ == "__main__":
    main()
