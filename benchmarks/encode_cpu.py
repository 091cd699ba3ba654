"""CPU encode throughput: vrag's batched path vs the naive Hugging Face path, same weights, same frames.

naive: HF image processor on PIL frames (one clip at a time) + model forward, fp32, mean-pooled.
ours:  ``create_encoder(dir)`` — uint8 batch → torch resize/normalise → batched forward under inference_mode,
       in fp32 and in bf16 (kept only if cosine to the naive fp32 vectors stays > 0.99).

Each way runs in its own subprocess (clean peak RSS), interleaved ``--repeat`` times, best run reported.
Base-size architectures with random weights (speed does
not depend on the values). Frames are 360x640 uint8, as a decoder would hand them over.

    .venv/bin/python benchmarks/encode_cpu.py                 # VideoMAE-B (16x224) and X-CLIP B/32 (8x224)
    .venv/bin/python benchmarks/encode_cpu.py --clips 4 --models videomae-b
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FRAME_HW = (360, 640)


def build(model: str, out: Path) -> None:
    """Save a seeded random base-size model + its processor config to ``out``."""
    import torch
    from transformers import VideoMAEConfig, VideoMAEModel, XCLIPConfig, XCLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.videomae.image_processing_pil_videomae import VideoMAEImageProcessorPil

    from vrag.encoders._tiny import tiny_tokenizer

    torch.manual_seed(0)
    if model == "videomae-b":
        VideoMAEModel(VideoMAEConfig()).save_pretrained(out)
        VideoMAEImageProcessorPil().save_pretrained(out)
    else:
        XCLIPModel(XCLIPConfig()).save_pretrained(out)
        CLIPImageProcessorPil().save_pretrained(out)
        tiny_tokenizer().save_pretrained(out)


def clips(model: str, n: int) -> np.ndarray:
    frames = 16 if model == "videomae-b" else 8
    return np.random.default_rng(0).integers(0, 256, (n, frames, *FRAME_HW, 3), dtype=np.uint8)


def run_naive(model: str, path: Path, data: np.ndarray) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from transformers import AutoImageProcessor, AutoModel

    proc = AutoImageProcessor.from_pretrained(path)
    net = AutoModel.from_pretrained(path).eval()
    out = []
    for clip in data:
        pil = [Image.fromarray(f) for f in clip]
        with torch.no_grad():
            if model == "videomae-b":
                pixels = proc([pil], return_tensors="pt")["pixel_values"]
                vec = net(pixel_values=pixels).last_hidden_state.mean(1)
            else:
                pixels = proc(pil, return_tensors="pt")["pixel_values"][None]
                vec = net.get_video_features(pixel_values=pixels).pooler_output
        out.append(F.normalize(vec, dim=-1).numpy())
    return np.concatenate(out)


def run_ours(path: Path, data: np.ndarray, dtype: str, batch: int) -> np.ndarray:
    from vrag.encoders import create_encoder

    enc = create_encoder(str(path), device="cpu", dtype=dtype, batch_size=batch)
    return enc.encode_video(data)


def worker(args: argparse.Namespace) -> None:
    """One way, one process: warm up on one clip, time the rest, report clips/s and peak RSS."""
    path, data = Path(args.path), clips(args.model, args.clips + 1)

    def run(x: np.ndarray) -> np.ndarray:
        if args.way == "naive":
            return run_naive(args.model, path, x)
        return run_ours(path, x, args.way.split("-")[1], args.batch)

    run(data[:1])
    start = time.perf_counter()
    vecs = run(data[1:])
    seconds = time.perf_counter() - start
    np.save(args.out, vecs)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"way": args.way, "seconds": seconds, "clips_per_s": args.clips / seconds, "peak_rss_mb": rss}
        )
    )


def measure(model: str, way: str, path: Path, n: int, batch: int, tmp: Path) -> dict[str, float]:
    out = tmp / f"{model}-{way}.npy"
    cmd = [sys.executable, __file__, "--worker", way, "--model", model, "--path", str(path)]
    cmd += ["--clips", str(n), "--batch", str(batch), "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    row = json.loads(res.stdout.strip().splitlines()[-1])
    row["vecs"] = str(out)
    return row


def report(model: str, rows: list[dict[str, float]]) -> None:
    naive = rows[0]
    ref = np.load(str(naive["vecs"]))
    print(f"\n{model}: {len(ref)} clips of {FRAME_HW[0]}x{FRAME_HW[1]} uint8 frames, CPU")
    print("| path | clips/s | x naive | peak RSS MB | min cosine vs naive fp32 |")
    print("|---|---|---|---|---|")
    for row in rows:
        cos = float((np.load(str(row["vecs"])) * ref).sum(axis=1).min())
        ratio = row["clips_per_s"] / naive["clips_per_s"]
        print(
            f"| {row['way']} | {row['clips_per_s']:.3f} | {ratio:.2f} | "
            f"{row['peak_rss_mb']:.0f} | {cos:.5f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["videomae-b", "xclip-b32"])
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument(
        "--repeat", type=int, default=2, help="interleaved runs per way; the best is reported"
    )
    parser.add_argument("--worker")
    parser.add_argument("--model", default="videomae-b")
    parser.add_argument("--path")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.worker:
        args.way = args.worker
        return worker(args)
    with tempfile.TemporaryDirectory() as tmp_str:
        tmp = Path(tmp_str)
        for model in args.models:
            path = tmp / model
            build(model, path)
            n = args.clips if model == "videomae-b" else args.clips * 4
            ways = ["naive", "ours-float32", "ours-bfloat16"]
            runs = [[measure(model, w, path, n, args.batch, tmp) for w in ways] for _ in range(args.repeat)]
            report(model, [best([r[i] for r in runs]) for i in range(len(ways))])


def best(rows: list[dict[str, float]]) -> dict[str, float]:
    """Best-of-N (the machine is shared: the fastest run is the least disturbed); RSS is the max seen."""
    top = dict(max(rows, key=lambda r: r["clips_per_s"]))
    top["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rows)
    return top


if __name__ == "__main__":
    main()
