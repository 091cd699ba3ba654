"""Retrieval quality on generated lecture videos: Recall@1/5, MRR, span IoU per chunker and variant.

Generates ten lecture videos (slides with text, narration as subtitles, hard cuts and fades, mp4/mkv/webm;
~11 min of video) with ~110 paraphrased queries and their true slide intervals, indexes them with the fixed
and the semantic chunker (MiniLM + BM25, OCR on, visual channels off), and scores transcript only, OCR only,
fused and fused + sentence reranker (see ``vrag/eval/_retrieval.py`` for how each variant is made).

    .venv/bin/python benchmarks/retrieval_eval.py                      # the full table (~6-10 min, 2 cores)
    .venv/bin/python benchmarks/retrieval_eval.py --videos 3 --chunkers semantic   # quick look
    .venv/bin/python benchmarks/retrieval_eval.py --json --details     # per-query outcomes too
    .venv/bin/python benchmarks/retrieval_eval.py --misses             # list the queries ranked wrong

The corpus and indexes are kept in ``--workdir`` (default ``benchmarks/out/retrieval_eval``) and reused by
a re-run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORKDIR = ROOT / "benchmarks" / "out" / "retrieval_eval"

from vrag.eval._retrieval import CHUNKERS, DEFAULT_VARIANTS, VARIANTS, run_retrieval_eval  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="corpus + index folder")
    parser.add_argument("--videos", type=int, default=None, help="lectures to generate (1-10, default 10)")
    parser.add_argument("--seed", type=int, default=0, help="corpus layout seed")
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS), choices=VARIANTS)
    parser.add_argument("--chunkers", nargs="+", default=list(CHUNKERS), choices=CHUNKERS)
    parser.add_argument("-k", type=int, default=10, help="hits per query")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--details", action="store_true", help="with --json: every query's outcome")
    parser.add_argument("--misses", action="store_true", help="list queries whose top hit is wrong")
    args = parser.parse_args()
    report = run_retrieval_eval(
        args.workdir, variants=args.variants, videos=args.videos, seed=args.seed, progress=True,
        chunkers=args.chunkers, k=args.k,
    )  # fmt: skip
    if args.json:
        print(json.dumps(report.to_dict(details=args.details), indent=2))
        return
    print(report.format_table())
    print(f"\ncorpus: {report.corpus}; k={report.k}; {report.seconds:.0f} s")
    for note in report.notes:
        print(f"- {note}")
    for row in report.rows if args.misses else ():
        print(f"\n{row.chunker}/{row.variant}: {len(row.misses())} misses at rank 1")
        for o in row.misses():
            print(f"  [{o.query.source}] rank {o.rank}: {o.query.text!r} -> want {o.query.video} "
                  f"{o.query.start:.1f}-{o.query.end:.1f}, got {o.top}")  # fmt: skip


if __name__ == "__main__":
    main()
