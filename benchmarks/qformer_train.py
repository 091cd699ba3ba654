"""Q-Former pooler training on the procedural captioned set: held-out text→video retrieval before / after.

Renders ``--scenes`` moving-shape clips (colour, shape, background, motion; 16 frames, 64 px, 30 fps) into a
temporary DATA_DIR (mp4 + captions.jsonl), trains a pooler over a frozen base encoder with the frozen MiniLM
text tower, and reports R@1 / R@5 / MRR on the held-out captions for the untrained and the trained pooler,
by MaxSim over the K vectors and by the single pooled vector. With the default random ``videomae-test`` base
the numbers measure what the pooler learns on top of a fixed random feature extractor, not a real model.

    .venv/bin/python benchmarks/qformer_train.py                      # the test's setting, one thread
    .venv/bin/python benchmarks/qformer_train.py --seeds 0 1 2 --json
    .venv/bin/python benchmarks/qformer_train.py --scenes 2000 --steps 2000 --size small --amp --device cuda
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    from vrag.eval._shapes import scenes
    from vrag.train import train_qformer, write_shapes_set

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        data = write_shapes_set(Path(tmp) / "data", scenes(seed, args.scenes))
        written = time.perf_counter() - started
        report = train_qformer(
            data, base=args.base, out_dir=Path(tmp) / "run", steps=args.steps, batch=args.batch, lr=args.lr,
            k=args.k, size=args.size, amp=args.amp, eval_fraction=args.eval_fraction,
            checkpoint_every=args.steps, seed=seed, device=args.device, progress=not args.json,
        )  # fmt: skip
    return {"seed": seed, "write_s": round(written, 2), **report.to_dict()}


def table(rows: list[dict[str, Any]]) -> str:
    metrics = " | ".join(f"{m} before → after" for m in ("R@1", "R@5", "MRR"))
    lines = [f"| seed | pairs (train/held-out) | score | {metrics} | s |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        for score in ("maxsim", "pooled"):
            b, a = row["before"][score], row["after"][score]
            cells = [f"{b[m]:.3f} → {a[m]:.3f}" for m in ("recall_at_1", "recall_at_5", "mrr")]
            pairs = f"{row['train_pairs']}/{row['eval_pairs']}"
            lines.append(
                f"| {row['seed']} | {pairs} | {score} | {' | '.join(cells)} | {row['seconds']:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=240)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--base", default="videomae-test")
    parser.add_argument("--eval-fraction", type=float, default=0.25)
    parser.add_argument("--amp", action="store_true", help="bf16 autocast")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [run(args, seed) for seed in args.seeds]
    print(json.dumps(rows, indent=2) if args.json else table(rows))


if __name__ == "__main__":
    main()
