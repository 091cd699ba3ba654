"""The ``vrag`` command: argument parsing only; every verb calls the public API.

    vrag index PATH... [--index DIR | --qdrant-url URL] [--config FILE] [--encoder NAME]... [--json]
    vrag search ["TEXT" | --image FILE | --clip FILE [--clip-start S --clip-end S]] [-k N]
                [--video PATH_OR_ID] [--after S] [--before S] [--where KEY=VALUE] [--channel NAME]
                [--rerank NAME] [--mmr X] [--per-video N] [--expand N] [--merge] [--json]
    vrag ask "QUESTION" [-k N] [--video PATH_OR_ID] [--llm PROVIDER:MODEL] [--rerank NAME] [--json]
    vrag info [--json]
    vrag delete PATH_OR_ID...
    vrag chunk PATH... [--chunker NAME] [--json]
    vrag eval retrieval [--workdir DIR] [--videos N] [--variant NAME]... [--chunker NAME]... [--json]
    vrag eval temporal [--encoder NAME_OR_GLOB]... [--pairs N] [--seed S] [--json]
    vrag train qformer DATA_DIR --out DIR [--base NAME] [--steps N] [--amp] [--json]
    vrag train aggregator [--index DIR] [--channel NAME] [--k K] [--steps N] [--resume] [--json]

Settings also come from ``VRAG_INDEX``, ``VRAG_QDRANT_URL``, ``VRAG_API_KEY`` and ``VRAG_*`` config variables.
Exit codes: 0 success, 1 some files failed (they are listed), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vrag import __version__
from vrag._format import span
from vrag.errors import ConfigError, VragError

if TYPE_CHECKING:
    from vrag.index import VideoIndex
    from vrag.types import Hit, Segment


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vrag", description="Make video searchable and answerable.")
    parser.add_argument("--version", action="version", version=f"vrag {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument("--verbose", action="store_true", help="show tracebacks for errors")
    store = argparse.ArgumentParser(add_help=False, parents=[common])
    store.add_argument("--index", help="index folder (default: $VRAG_INDEX, else .vrag)")
    store.add_argument("--qdrant-url", help="Qdrant server URL (default: $VRAG_QDRANT_URL)")
    store.add_argument("--api-key", default=os.environ.get("VRAG_API_KEY"), help="Qdrant API key")
    store.add_argument("--config", help="TOML file with index settings ([index] table)")

    index = verbs.add_parser("index", parents=[store], help="index videos (files or folders)")
    index.add_argument("paths", nargs="+")
    index.add_argument("--encoder", action="append", help="visual encoder (repeatable; 'none' for none)")
    index.add_argument("--chunker", help="chunker name (default: semantic)")
    index.add_argument("--workers", type=int, help="decode/chunk processes (0: in-process)")
    index.set_defaults(run=_index)

    search = verbs.add_parser("search", parents=[store], help="find the moments that match a query")
    search.add_argument("query", nargs="?", help="what to look for, in words")
    search.add_argument("--image", help="query by an image file instead (visual channels)")
    search.add_argument("--clip", help="query by an example clip: a video file (visual channels)")
    search.add_argument("--clip-start", type=float, help="the example clip starts at S seconds")
    search.add_argument("--clip-end", type=float, help="the example clip ends at S seconds")
    search.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    search.add_argument("--video", action="append", help="only this video (path or id; repeatable)")
    search.add_argument("--after", type=float, help="only segments starting at or after S seconds")
    search.add_argument("--before", type=float, help="only segments ending at or before S seconds")
    search.add_argument("--where", action="append", help="payload filter KEY=VALUE (repeatable)")
    search.add_argument("--channel", action="append", help="search only this channel (repeatable)")
    search.add_argument("--fusion", choices=("rrf", "dbsf"), help="channel fusion (default dbsf)")
    search.add_argument("--rerank", help="reranker: sentence, cross-encoder, cascade")
    search.add_argument("--mmr", type=float, help="diversity 0..1 (maximal marginal relevance)")
    search.add_argument("--per-video", type=int, help="at most N hits per video")
    search.add_argument("--expand", type=int, default=0, help="add N neighbour segments each side")
    search.add_argument("--merge", action="store_true", help="join touching hits of one video into one span")
    search.set_defaults(run=_search)

    ask = verbs.add_parser("ask", parents=[store], help="answer a question with cited moments")
    ask.add_argument("question")
    ask.add_argument("-k", type=int, default=5, help="segments the answer may draw on (default 5)")
    ask.add_argument("--video", action="append", help="only this video (path or id; repeatable)")
    ask.add_argument("--llm", help="PROVIDER:MODEL through LangChain/LlamaIndex, or py:MODULE:NAME")
    ask.add_argument("--rerank", help="rescore the evidence first: sentence, cross-encoder, cascade")
    ask.set_defaults(run=_ask)

    info = verbs.add_parser("info", parents=[store], help="what the index holds and how it was built")
    info.set_defaults(run=_info)
    delete = verbs.add_parser("delete", parents=[store], help="remove videos (paths or ids) from the index")
    delete.add_argument("videos", nargs="+")
    delete.set_defaults(run=_delete)

    chunk = verbs.add_parser("chunk", parents=[common], help="cut videos into segments (no index)")
    chunk.add_argument("paths", nargs="+", help="video files or folders (scanned recursively)")
    chunk.add_argument("--chunker", default="semantic", help="chunker name (default: semantic)")
    chunk.set_defaults(run=_chunk)

    evaluate = verbs.add_parser("eval", help="quality evaluations on generated suites")
    suites = evaluate.add_subparsers(dest="suite", required=True)
    retrieval = suites.add_parser(
        "retrieval", parents=[common], help="Recall@1/5, MRR and span IoU on generated lectures"
    )
    retrieval.add_argument("--workdir", default=".vrag-eval", help="corpus + index folder (reused)")
    retrieval.add_argument("--videos", type=int, help="lectures to generate (1-10, default 10)")
    retrieval.add_argument("--seed", type=int, default=0, help="corpus layout seed (default 0)")
    retrieval.add_argument(
        "--variant", action="append", help="transcript, ocr, fused, fused+rerank, dense, bm25, split"
    )
    retrieval.add_argument("--chunker", action="append", help="fixed, semantic (default both)")
    retrieval.add_argument("-k", type=int, default=10, help="hits per query (default 10)")
    retrieval.add_argument("--details", action="store_true", help="with --json: every query's outcome")
    retrieval.set_defaults(run=_eval_retrieval)
    temporal = suites.add_parser(
        "temporal", parents=[common], help="spatial vs temporal understanding of video encoders"
    )
    temporal.add_argument(
        "--encoder", action="append", help="encoder name, glob ('*-test'), hf: id or folder (repeatable)"
    )
    temporal.add_argument("--pairs", type=int, default=16, help="clip pairs per kind (default 16)")
    temporal.add_argument("--seed", type=int, default=0, help="suite seed (default 0)")
    temporal.add_argument("--device", help="cpu, cuda, ... (default: CUDA when present)")
    temporal.add_argument("--dtype", default="float32", help="compute dtype (default float32)")
    temporal.set_defaults(run=_eval_temporal)

    train = verbs.add_parser("train", help="train learned components on your own data")
    trainers = train.add_subparsers(dest="trainer", required=True)
    qf = trainers.add_parser("qformer", parents=[common], help="Q-Former pooler on (video, caption) pairs")
    qf.add_argument("data_dir", help="captions.jsonl + videos, or videos with same-name .txt captions")
    qf.add_argument("--out", required=True, help="output folder (checkpoints; resumed when it exists)")
    qf.add_argument("--base", default="videomae-base", help="frozen video encoder whose tokens it reads")
    qf.add_argument("--steps", type=int, default=1000)
    qf.add_argument("--batch", type=int, default=64)
    qf.add_argument("--lr", type=float, default=1e-4)
    qf.add_argument("--k", type=int, default=32, help="query tokens = vectors per clip")
    qf.add_argument("--size", default="small", choices=["tiny", "small", "base"])
    qf.add_argument("--text-encoder", default="minilm")
    qf.add_argument("--amp", action="store_true", help="bf16 autocast")
    qf.add_argument("--no-resume", action="store_true", help="start over even if --out has checkpoints")
    qf.add_argument("--eval-fraction", type=float, default=0.1, help="held-out pairs for evaluation")
    qf.add_argument("--checkpoint-every", type=int, default=200)
    qf.add_argument("--seed", type=int, default=0)
    qf.add_argument("--device")
    qf.set_defaults(run=_train_qformer)
    agg = trainers.add_parser(
        "aggregator", parents=[store], help="LV-MAE-style video-level aggregator on the index's own vectors"
    )
    agg.add_argument("--channel", help="video channel to train for (default: the text channel)")
    agg.add_argument("--k", type=int, default=8, help="video-level vectors per video (default 8)")
    agg.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    agg.add_argument("--out", help="checkpoint folder (default: inside the index folder, used from then on)")
    agg.add_argument("--resume", action="store_true", help="continue the saved run up to --steps")
    agg.set_defaults(run=_train_aggregator)
    return parser


def _open(args: argparse.Namespace, *, create: bool = False, **overrides: Any) -> VideoIndex:
    """Open the index the flags (else ``VRAG_INDEX`` / ``VRAG_QDRANT_URL``) name. Its stored configuration is
    the base; ``--config``, ``VRAG_*`` settings and flags apply on top. Only ``index`` may create one."""
    from vrag.config import IndexConfig, load_config
    from vrag.index import VideoIndex
    from vrag.store import DEFAULT_INDEX, read_schema_record

    location, url = _where(args)
    record = read_schema_record(location, url=url, api_key=args.api_key)
    if record is None and not create:
        where = url or location or DEFAULT_INDEX
        raise ConfigError(
            f"no index at {where}: run `vrag index PATH...` first, or pass --index DIR / --qdrant-url"
        )
    stored = (record or {}).get("build_info", {}).get("config")
    base = IndexConfig(**stored) if stored else None
    config = load_config(args.config, base=base, **{k: v for k, v in overrides.items() if v is not None})
    return VideoIndex.open(location, config, url=url, api_key=args.api_key)


def _where(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Flags win over the environment, so ``--index`` works while ``VRAG_QDRANT_URL`` is set (and back)."""
    if args.index or args.qdrant_url:
        return args.index, args.qdrant_url
    return os.environ.get("VRAG_INDEX"), os.environ.get("VRAG_QDRANT_URL")


def _index(args: argparse.Namespace) -> int:
    encoders = None if args.encoder is None else tuple(e for e in args.encoder if e != "none")
    overrides = {"visual_encoders": encoders, "chunker": args.chunker, "workers": args.workers}
    with _open(args, create=True, **overrides) as index:
        report = index.add(args.paths)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(
            f"indexed {len(report.indexed)} videos ({report.segments} segments, {report.video_seconds:.0f} s "
            f"of video) in {report.seconds:.1f} s; {len(report.skipped)} already indexed; "
            f"{len(report.failed)} failed"
        )
        for note in report.notes:
            print(f"  note: {note}")
    for f in report.failed:
        print(f"FAILED {f.path}: {f.error}: {f.message}", file=sys.stderr)
    return 1 if report.failed else 0


def _ask(args: argparse.Namespace) -> int:
    from vrag.search._llm import resolve_llm

    llm = resolve_llm(args.llm) if args.llm else None
    with _open(args) as index:
        rerank: Any = args.rerank
        if rerank == "llm" and llm is not None:  # the answering model also judges the evidence
            from vrag.search import create_reranker

            rerank = create_reranker("llm", llm=llm)
        answer = index.ask(args.question, k=args.k, video=args.video, llm=llm, rerank=rerank)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=1))
        return 0
    print(answer.text)
    for dropped in answer.dropped:
        print(f"  (removed a citation that matches no evidence: {dropped})", file=sys.stderr)
    return 0


def _search(args: argparse.Namespace) -> int:
    clip = None
    if args.clip:
        clip = (args.clip, args.clip_start, args.clip_end)
    elif args.clip_start is not None or args.clip_end is not None:
        raise ConfigError("--clip-start/--clip-end need --clip FILE")
    with _open(args) as index:
        hits = index.search(
            args.query, image=args.image, clip=clip, k=args.k, video=args.video, after=args.after,
            before=args.before, where=_where_filter(args.where), channels=args.channel, fusion=args.fusion,
            rerank=args.rerank, mmr=args.mmr, per_video=args.per_video, expand=args.expand, merge=args.merge,
        )  # fmt: skip
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], indent=1))
    else:
        for hit in hits:
            print(format_hit(hit))
    return 0


def format_hit(hit: Hit, width: int = 90) -> str:
    """``video mm:ss.s–mm:ss.s score text`` on one line."""
    text = " ".join(hit.text.split())
    text = text if len(text) <= width else text[: width - 3] + "..."
    return f"{os.path.basename(hit.video)} {span(hit.start, hit.end)} {hit.score:.3f} {text}"


def _where_filter(items: Sequence[str] | None) -> dict[str, Any] | None:
    """``KEY=VALUE`` flags → a payload filter; a key given twice matches any of its values; digits: ints."""
    if not items:
        return None
    where: dict[str, list[Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--where {item!r}: write KEY=VALUE")
        number = value.lstrip("-").isdigit() and str(int(value)) == value  # "007" stays a string
        where.setdefault(key, []).append(int(value) if number else value)
    return {k: v[0] if len(v) == 1 else v for k, v in where.items()}


def _info(args: argparse.Namespace) -> int:
    with _open(args) as index:
        info = index.info()
    if args.json:
        print(json.dumps(info.to_dict(), indent=1))
        return 0
    print(f"{info.location}: {info.videos} videos, {info.segments} segments")
    print(f"  channels: {', '.join(info.channels)}  fingerprint: {info.fingerprint}")
    for note in info.notes:
        print(f"  note: {note}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    with _open(args) as index:
        n = index.delete(args.videos)
    print(json.dumps({"deleted": n}) if args.json else f"deleted {n} videos")
    return 0


def _chunk(args: argparse.Namespace) -> int:
    from vrag.chunking import CHUNKERS, chunk_video
    from vrag.media import scan_videos
    from vrag.pipeline import FileFailure

    CHUNKERS.create(args.chunker)  # an unknown name is a usage error (exit 2), not a failure per file
    report = scan_videos(args.paths)
    failed = [FileFailure(str(path), type(err).__name__, str(err)) for path, err in report.failed]
    videos = []
    for video in report.videos:
        try:
            with video:
                segments = chunk_video(video, chunker=args.chunker)
        except Exception as err:  # one bad file never stops the rest
            failed.append(FileFailure(str(video.path), type(err).__name__, str(err)))
            continue
        if not args.json:
            _print_segments(str(video.path), segments)
        videos.append(
            {
                "video": str(video.path),
                "video_id": video.video_id,
                "segments": list(map(_segment_json, segments)),
            }
        )
    if args.json:
        print(json.dumps({"videos": videos, "failed": [f.to_dict() for f in failed]}, indent=1))
    for f in failed:
        print(f"FAILED {f.path}: {f.error}: {f.message}", file=sys.stderr)
    return 1 if failed else 0


def _print_segments(path: str, segments: Sequence[Segment]) -> None:
    print(f"{path}  ({len(segments)} segments)")
    for seg in segments:
        text = " ".join(seg.text.split())
        text = text if len(text) <= 80 else text[:77] + "..."
        print(f"  {span(seg.start, seg.end)}  {len(seg.shots):2d} shots  {text}")


def _segment_json(seg: Segment) -> dict[str, Any]:
    return {
        "start": seg.start, "end": seg.end, "shots": len(seg.shots),
        "keyframes": list(seg.keyframes), "text": seg.text,
    }  # fmt: skip


def _eval_retrieval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vrag.eval._retrieval import CHUNKERS, DEFAULT_VARIANTS, run_retrieval_eval

    report = run_retrieval_eval(
        Path(args.workdir), variants=args.variant or DEFAULT_VARIANTS, videos=args.videos, seed=args.seed,
        chunkers=args.chunker or CHUNKERS, k=args.k, progress=not args.json,
    )  # fmt: skip
    print(json.dumps(report.to_dict(details=args.details), indent=1) if args.json else report.format_table())
    return 0


def _eval_temporal(args: argparse.Namespace) -> int:
    from vrag.eval import run_temporal_eval

    if not args.encoder:  # no default: "every encoder" would download every checkpoint
        raise ConfigError("pass --encoder NAME (repeatable; globs work: '*-test' = the tiny test encoders)")
    report = run_temporal_eval(
        args.encoder, pairs_per_kind=args.pairs, seed=args.seed, device=args.device,
        dtype=args.dtype, progress=not args.json and sys.stderr.isatty(),
    )  # fmt: skip
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.format_table())
    return 0


def _train_qformer(args: argparse.Namespace) -> int:
    from vrag.train import train_qformer

    report = train_qformer(
        args.data_dir, base=args.base, out_dir=args.out, steps=args.steps, batch=args.batch, lr=args.lr,
        text_encoder=args.text_encoder, k=args.k, size=args.size, amp=args.amp, resume=not args.no_resume,
        eval_fraction=args.eval_fraction, checkpoint_every=args.checkpoint_every, seed=args.seed,
        device=args.device, progress=not args.json and sys.stderr.isatty(),
    )  # fmt: skip
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.format_table())
    return 0


def _train_aggregator(args: argparse.Namespace) -> int:
    with _open(args) as index:
        report = index.train_aggregator(
            channel=args.channel, k=args.k, steps=args.steps, out_dir=args.out, resume=args.resume,
            progress=not args.json and sys.stderr.isatty(),
        )  # fmt: skip
    print(json.dumps(report.to_dict(), indent=1, default=str) if args.json else report.format_table())
    return 0


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
