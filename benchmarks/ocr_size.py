"""On-screen text: character error rate and time vs the size RapidOCR detects text at, on the demo lectures.

RapidOCR finds text boxes on a copy of the frame shrunk to ``det_limit_side_len`` (longest side) and reads
each box from the frame itself, so a smaller detection size costs less without blurring what is read, as
long as the boxes are still found. For every slide of the demo corpus (``examples/make_demo_corpus.py``:
exact titles and bullets in ``ground_truth.json``) the frame in the middle of the slide is read at each size;
CER = edit distance / length of the expected text (case-folded words, bullets' dashes dropped).

    python benchmarks/ocr_size.py [--sizes 1280 640 480 400 320] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def slides(directory: Path) -> list[tuple[object, str]]:
    """(RGB frame in the middle of each slide with text, the text it shows)."""
    from make_demo_corpus import make_corpus

    from vrag.media import open_video
    from vrag.media._ocr import normalize_text

    make_corpus(directory)
    truth = json.loads((directory / "ground_truth.json").read_text())
    out = []
    for name, rows in truth.items():
        with open_video(directory / name) as video:
            for row in rows:
                if row["title"]:
                    frame = video.frames_at([(row["start"] + row["end"]) / 2]).data[0]
                    out.append((frame, normalize_text(" ".join([row["title"], *row["bullets"]]))))
    return out


def measure(size: int, frames: list[tuple[object, str]], repeat: int) -> dict[str, float]:
    from rapidocr_onnxruntime import RapidOCR

    from vrag.media._ocr import normalize_text, ocr_image

    engine = RapidOCR(det_limit_type="max", det_limit_side_len=size)
    errors = chars = 0
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        texts = [ocr_image(frame, engine=engine) for frame, _ in frames]  # type: ignore[arg-type]
        best = min(best, time.process_time() - start)
    for text, (_, want) in zip(texts, frames, strict=True):
        errors += edit_distance(normalize_text(text), want)
        chars += len(want)
    return {"det_side": size, "cer": errors / chars, "cpu_ms_per_frame": 1000 * best / len(frames)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1280, 640, 480, 400, 320])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        frames = slides(Path(tmp))
        rows = [measure(size, frames, ns.repeat) for size in ns.sizes]
    if ns.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{len(frames)} slides (480x270)\n\n| detection side px | CER | CPU ms per frame |\n|---|---|---|")
    for r in rows:
        print(f"| {r['det_side']} | {r['cer']:.3f} | {r['cpu_ms_per_frame']:.0f} |")


if __name__ == "__main__":
    main()
