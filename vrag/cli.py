"""The ``vrag`` command: argument parsing only; every verb calls the public API.

    vrag chunk PATH... [--chunker NAME] [--json] [--verbose]

Exit codes: 0 success, 1 some files failed (they are listed), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from vrag import __version__
from vrag._format import span
from vrag.errors import VragError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vrag", description="Make video searchable and answerable.")
    parser.add_argument("--version", action="version", version=f"vrag {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks for errors")
    verbs = parser.add_subparsers(dest="verb", required=True)
    chunk = verbs.add_parser("chunk", help="decode videos and cut them into segments with exact times")
    chunk.add_argument("paths", nargs="+", help="video files or folders (scanned recursively)")
    chunk.add_argument("--chunker", default="semantic", help="chunker name (default: semantic)")
    chunk.add_argument("--json", action="store_true", help="print JSON instead of text")
    chunk.set_defaults(run=_chunk)
    return parser


def _chunk(args: argparse.Namespace) -> int:
    from vrag.chunking import chunk_video
    from vrag.media import scan_videos

    report = scan_videos(args.paths)
    results: list[dict[str, Any]] = []
    failed = [(str(path), str(error)) for path, error in report.failed]
    for video in report.videos:
        try:
            segments = chunk_video(video, chunker=args.chunker)
        except VragError as error:
            failed.append((str(video.path), str(error)))
            continue
        results.append({"video": str(video.path), "video_id": video.video_id, "segments": segments})
        if not args.json:
            _print_segments(str(video.path), segments)
    if args.json:
        print(json.dumps({"videos": [_segments_json(r) for r in results], "failed": dict(failed)}, indent=1))
    else:
        for path, why in failed:
            print(f"FAILED {path}: {why}", file=sys.stderr)
    return 1 if failed else 0


def _print_segments(path: str, segments: Sequence[Any]) -> None:
    print(f"{path}  ({len(segments)} segments)")
    for seg in segments:
        text = seg.text if len(seg.text) <= 80 else seg.text[:77] + "..."
        print(f"  {span(seg.start, seg.end)}  {len(seg.shots):2d} shots  {text}")


def _segments_json(result: dict[str, Any]) -> dict[str, Any]:
    segments = [
        {"start": s.start, "end": s.end, "shots": len(s.shots), "keyframes": list(s.keyframes), "text": s.text}
        for s in result["segments"]
    ]
    return {**result, "segments": segments}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except VragError as error:
        if args.verbose:
            raise
        print(f"vrag: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
