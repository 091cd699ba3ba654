"""Per-stage ingest cost on this machine, for the capacity plan in docs/scale.md.

Each stage of the per-video work runs alone over the demo lectures (``examples/make_demo_corpus.py``,
``--copies`` times) and reports CPU seconds (``time.process_time``: less sensitive to other load than wall
time) per unit of work:

- plan: probe + content id + transcript + shots → segments (no OCR), per video second;
- ocr: on-screen text of every segment's keyframes, per keyframe read and per video second;
- decode: the clips of one VideoMAE-style encoder (16 frames at 224 px shortest side), per clip;
- text: MiniLM vectors of the segments' speech + screen text, per segment;
- upsert: Qdrant Edge writes of 768-d segments with full payloads (two-phase commit), per point.

    python benchmarks/stages.py [--copies 2] [--points 5000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "examples")]


def _cpu(fn: object) -> tuple[float, object]:
    start = time.process_time()
    out = fn()  # type: ignore[operator]
    return time.process_time() - start, out


def stages(ns: argparse.Namespace, tmp: Path) -> dict[str, dict[str, float]]:
    from ingest import corpus

    from vrag.encoders import create_encoder
    from vrag.media import open_video
    from vrag.pipeline import plan_video
    from vrag.pipeline._ingest import SegmentEncoder, chunk_rows, decode_chunk
    from vrag.pipeline._plan import _screen_text

    videos = [open_video(p) for p in corpus(tmp, ns.copies)]
    seconds = sum(v.duration for v in videos)
    cpu, plans = _cpu(lambda: [plan_video(v, "semantic", {}, False, "off") for v in videos])
    out = {"plan": {"cpu_s": cpu, "per_video_s_ms": 1000 * cpu / seconds}}
    keyframes = sum(len(s.keyframes) for p in plans for s in p.segments)  # type: ignore[attr-defined]
    cpu, _ = _cpu(lambda: [_screen_text(v, p.segments) for v, p in zip(videos, plans, strict=True)])  # type: ignore[attr-defined]
    out["ocr"] = {
        "cpu_s": cpu,
        "per_keyframe_ms": 1000 * cpu / keyframes,
        "per_video_s_ms": 1000 * cpu / seconds,
    }
    spec = create_encoder("videomae-test").spec
    from dataclasses import replace

    spec = replace(spec, frames=16, resize_shortest=224, input_size=(224, 224))
    clips = sum(len(p.segments) for p in plans)  # type: ignore[attr-defined]
    cpu, _ = _cpu(lambda: [decode_chunk(p, r, [spec]) for p in plans for r in chunk_rows(p, 8)])  # type: ignore[arg-type]
    out["decode"] = {"cpu_s": cpu, "per_clip_ms": 1000 * cpu / clips}
    text = create_encoder("minilm")
    enc = SegmentEncoder({}, "minilm", text)
    cpu, _ = _cpu(lambda: [enc._text_vectors(enc._texts(p, range(len(p.segments)))) for p in plans])  # type: ignore[attr-defined]
    out["text"] = {"cpu_s": cpu, "per_segment_ms": 1000 * cpu / clips}
    out["upsert"] = upserts(tmp / "idx", ns.points)
    return out


def upserts(location: Path, n: int) -> dict[str, float]:
    from vrag.store import SegmentRecord, StoreSchema, VideoRecord, open_store

    schema = StoreSchema(dense={"visual": (768, "cosine"), "text": (384, "cosine")}, fingerprint="bench")
    rng = np.random.default_rng(0)
    text = "Gradient descent follows the slope downhill; the step size is the learning rate."
    with open_store(location, schema=schema) as store:
        start, cpu0 = time.perf_counter(), time.process_time()
        for v in range(n // 100):
            store.begin_video(f"v{v}")
            store.add_segments(
                SegmentRecord(f"v{v}", f"/videos/v{v}.mp4", 2.0 * i, 2.0 * i + 2, {
                    "visual": rng.standard_normal(768), "text": rng.standard_normal(384)}, text=text)
                for i in range(100)
            )  # fmt: skip
            store.commit_video(VideoRecord(f"v{v}", f"/videos/v{v}.mp4", 200.0))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    return {"points": float(n), "points_per_s": n / wall, "cpu_s": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--json", action="store_true")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = stages(ns, Path(tmp))
    if ns.json:
        print(json.dumps(result, indent=1))
        return
    print("| stage | CPU s | per unit |\n|---|---|---|")
    for name, row in result.items():
        units = ", ".join(f"{k} {v:.1f}" for k, v in row.items() if k != "cpu_s")
        print(f"| {name} | {row['cpu_s']:.2f} | {units} |")


if __name__ == "__main__":
    main()
