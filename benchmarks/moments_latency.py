"""What moments cost a search: the retrieval eval's 110 queries searched with ``moments=False`` (the old way)
and ``moments=True``, in one process, on an index the eval built. The first pass with moments encodes every
cue it meets (cold cache); the second finds them cached (warm). The first pass without moments also warms the
store, so the ratios are against the last pass, again without moments.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/moments_latency.py [--workdir .vrag-eval]

Run ``vrag eval retrieval`` (or ``vrag eval timeaware``) first with the same ``--workdir`` to build the index.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=".vrag-eval")
    parser.add_argument("--chunker", default="semantic")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()

    from vrag.eval._lectures import make_lecture_corpus
    from vrag.index import VideoIndex

    workdir = Path(args.workdir)
    location = workdir / f"index-{args.chunker}-nall-s0"
    if not location.is_dir():
        print(f"{location}: no index; run `vrag eval retrieval --workdir {workdir}` first", file=sys.stderr)
        return 2
    queries = [q.text for q in make_lecture_corpus(workdir / "corpus-nall-s0").queries]
    with VideoIndex.open(location) as index:
        index.search(queries[0], k=args.k, moments=False)  # loads the encoder
        rows = []
        passes = (("moments off", False), ("moments on, cold", True), ("moments on, warm", True),
                  ("moments off, again", False))  # fmt: skip
        for label, moments in passes:
            started = time.perf_counter()
            for query in queries:
                index.search(query, k=args.k, moments=moments)
            rows.append((label, 1000 * (time.perf_counter() - started) / len(queries)))
    base = rows[-1][1]  # the first pass also warms the store: compare with the last
    print(f"| search ({len(queries)} queries, k={args.k}) | ms/query | vs off, again |")
    print("|---|--:|--:|")
    for label, ms in rows:
        print(f"| {label} | {ms:.1f} | {ms / base:.2f}x |")
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
