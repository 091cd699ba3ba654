"""Many readers on one Qdrant Edge index, with and without a writer: vrag's snapshot readers vs one opener.

* ``snapshot`` (vrag now): each reader process opens the index with ``vrag.store.open_store`` (a private copy
  of the last committed state, refreshed when a commit shows) and runs fused dense + BM25 searches; the writer
  commits 20-segment videos through the same API meanwhile.
* ``exclusive`` (vrag before issue 12): one process may open the folder at a time (an exclusive ``flock``);
  a reader that finds it taken is refused (counted) and retries after 10 ms, and the writer holds it for its
  whole run, as ``vrag index`` did. A reader that gets it loads the shard, queries once and lets go.

Reported per case: searches per second (all readers), refusals, median search latency, median time to open a
snapshot (the copy), writer commits per second. Every process starts at the same instant.

    .venv/bin/python benchmarks/concurrent_readers.py                  # 20k segments, 1/4/8 readers, 10 s
    .venv/bin/python benchmarks/concurrent_readers.py --quick          # 2k segments, 3 s (smoke test)
"""

from __future__ import annotations

import argparse
import fcntl
import json
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DIM = 384
WORDS = "gradient descent loss curve optimizer learning rate batch norm attention layer token".split()  # noqa: SIM905


def schema() -> Any:
    from vrag.store import StoreSchema

    return StoreSchema(dense={"minilm": (DIM, "cosine")}, sparse_text=True, fingerprint="bench")


def _video(store: Any, name: str, n: int, rng: np.random.Generator) -> None:
    from vrag.store import SegmentRecord, VideoRecord

    vecs = rng.standard_normal((n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store.begin_video(name)
    store.add_segments(
        SegmentRecord(name, f"/videos/{name}.mp4", 5.0 * i, 5.0 * i + 5, {"minilm": vecs[i]},
                      text=" ".join(rng.choice(WORDS, 12)))
        for i in range(n)
    )  # fmt: skip
    store.commit_video(VideoRecord(name, f"/videos/{name}.mp4", 5.0 * n))


def build(path: Path, points: int) -> None:
    from vrag.store import open_store

    rng = np.random.default_rng(0)
    with open_store(path, schema=schema()) as store:
        for v in range(points // 100):
            _video(store, f"v{v:05d}", 100, rng)
        store.optimize()


def _query(rng: np.random.Generator) -> dict[str, Any]:
    vec = rng.standard_normal(DIM).astype(np.float32)
    return {"minilm": vec / np.linalg.norm(vec), "bm25": " ".join(rng.choice(WORDS, 3))}


def read_snapshot(path: str, start: float, seconds: float, seed: int) -> dict[str, Any]:
    import vrag.store._edge  # noqa: F401 - imported before the clock starts
    from vrag.store import open_store

    rng, lat, opens = np.random.default_rng(seed), [], []
    time.sleep(max(0.0, start - time.time()))
    t = time.perf_counter()
    store = open_store(path, schema=schema())
    store.count_segments()  # the first read takes the snapshot
    opens.append(time.perf_counter() - t)
    end = time.time() + seconds
    while time.time() < end:
        q = time.perf_counter()
        store.search_fused(_query(rng), k=10, fusion="dbsf")
        lat.append(time.perf_counter() - q)
    store.close()
    return {"queries": len(lat), "refused": 0, "lat": lat, "opens": opens}


def read_exclusive(path: str, start: float, seconds: float, seed: int) -> dict[str, Any]:
    import qdrant_edge as qe

    rng, lat, refused = np.random.default_rng(seed), [], 0
    lock = open(Path(path) / "BENCH.lock", "a+")  # noqa: SIM115 - held across the loop
    time.sleep(max(0.0, start - time.time()))
    end = time.time() + seconds
    while time.time() < end:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            refused += 1
            time.sleep(0.01)
            continue
        q = time.perf_counter()
        shard = qe.EdgeShard.load(str(Path(path) / "segments"))
        vec = _query(rng)["minilm"].tolist()
        shard.query(qe.QueryRequest(limit=10, query=qe.Query.Nearest(vec, using="minilm"), with_payload=True))
        shard.close()
        fcntl.flock(lock, fcntl.LOCK_UN)
        lat.append(time.perf_counter() - q)
    return {"queries": len(lat), "refused": refused, "lat": lat, "opens": []}


def write(path: str, start: float, seconds: float, mode: str) -> dict[str, Any]:
    from vrag.store import open_store

    rng, commits = np.random.default_rng(99), 0
    lock = open(Path(path) / "BENCH.lock", "a+")  # noqa: SIM115 - held for the run
    time.sleep(max(0.0, start - time.time()))
    if mode == "exclusive":
        fcntl.flock(lock, fcntl.LOCK_EX)
    end = time.time() + seconds
    with open_store(path, schema=schema()) as store, store.writing():
        while time.time() < end:
            _video(store, f"w{commits:05d}", 20, rng)
            commits += 1
    return {"commits": commits}


def run(path: Path, mode: str, readers: int, writer: bool, seconds: float) -> dict[str, Any]:
    start = time.time() + 3.0
    read = read_snapshot if mode == "snapshot" else read_exclusive
    with ProcessPoolExecutor(readers + 1, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(read, str(path), start, seconds, i) for i in range(readers)]
        wrote = pool.submit(write, str(path), start, seconds, mode) if writer else None
        results = [f.result() for f in futures]
        commits = wrote.result()["commits"] if wrote else 0
    lat = [x for r in results for x in r["lat"]]
    opens = [x for r in results for x in r["opens"]]
    return {
        "mode": mode, "readers": readers, "writer": writer,
        "searches_per_s": round(sum(r["queries"] for r in results) / seconds, 1),
        "refused": sum(r["refused"] for r in results),
        "p50_ms": round(1000 * statistics.median(lat), 2) if lat else None,
        "open_ms": round(1000 * statistics.median(opens), 1) if opens else None,
        "commits_per_s": round(commits / seconds, 2) if writer else None,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--readers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    points, seconds = (2_000, 3.0) if args.quick else (args.points, args.seconds)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp) / "built", points)
        for mode in ("snapshot", "exclusive"):
            for writer in (False, True):
                for readers in args.readers:
                    path = Path(tmp) / f"idx-{mode}-{writer}-{readers}"
                    shutil.copytree(Path(tmp) / "built", path)
                    rows.append(run(path, mode, readers, writer, seconds))
                    shutil.rmtree(path)
                    print(json.dumps(rows[-1]), file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{points} segments x {DIM}-d + BM25, {seconds:.0f} s per case\n")
    print("| mode | readers | writer | searches/s | refused | p50 ms | snapshot open ms | writer commits/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [r["mode"], r["readers"], "yes" if r["writer"] else "no", r["searches_per_s"], r["refused"],
                 r["p50_ms"], r["open_ms"] or "-", r["commits_per_s"] or "-"]  # fmt: skip
        print("| " + " | ".join(map(str, cells)) + " |")


if __name__ == "__main__":
    main()
