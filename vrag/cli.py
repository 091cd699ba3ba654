"""The ``vrag`` command: argument parsing only; every verb calls the public API.

Global options (``--index``, ``--json``, ``--quiet``, ...) go before or after the verb. Settings come from a
``vrag.toml`` (``--config FILE``, else one in the working directory, else in the user config directory) with
``[index]``, ``[search]`` and ``[llm]`` tables, then ``VRAG_*`` environment variables, then flags.
Exit codes: 0 success, 1 some files failed (they are listed), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from vrag import __version__
from vrag._format import parse_time, printable, span, timestamp
from vrag.errors import ConfigError, VragError

if TYPE_CHECKING:
    from vrag.index import VideoIndex
    from vrag.search import Step
    from vrag.types import Hit, Segment

EXAMPLES = """examples:
  vrag index lectures/ talk.mp4                 index videos (./.vrag by default; --index DIR elsewhere)
  vrag search "gradient descent" -k 3           the best moments, as video mm:ss–mm:ss score text
  vrag search "loss curve" --video talk.mp4 --after 1:30 --json
  vrag ask "why does the loss diverge?" --llm ollama:llama3.1
  vrag videos                                   what is indexed
  vrag --index /data/idx info --json            global options go before or after the verb
"""

VERB_EXAMPLES = {
    "index": (
        "examples:\n  vrag index lectures/ talk.mp4\n  vrag index clips/ --encoder none --chunker shots\n"
        "  vrag index s3://bucket/videos/ --engine ray --ray-address auto --qdrant-url http://qdrant:6333"
    ),
    "search": (
        'examples:\n  vrag search "gradient descent" -k 3\n'
        '  vrag search "loss curve" --video talk.mp4 --after 1:30 --before 2:00\n'
        "  vrag search --image slide.png --channel xclip-base-patch32\n"
        '  vrag search "optimizer" --channel bm25 --jsonl'
    ),
    "ask": (
        'examples:\n  vrag ask "why does the loss diverge?"\n'
        '  vrag ask "summarise the talk" --llm ollama:llama3.1\n'
        '  vrag ask "what is a tensor?" --llm my-model --llm-url http://localhost:8000/v1 --json'
    ),
    "videos": "examples:\n  vrag videos\n  vrag videos --json",
    "info": "examples:\n  vrag info\n  vrag info --json",
    "check": "examples:\n  vrag check\n  vrag check --repair --index /data/idx",
    "delete": "examples:\n  vrag delete talk.mp4\n  vrag delete 3f2a9c0d1e...",
    "chunk": "examples:\n  vrag chunk talk.mp4\n  vrag chunk clips/ --chunker shots --json",
    "serve": (
        "examples:\n  vrag serve                                  http://127.0.0.1:8000 (page, API, /docs)\n"
        "  vrag serve --index /data/idx --root /data/videos\n"
        "  VRAG_API_KEY=$(openssl rand -hex 24) vrag serve --host 0.0.0.0"
    ),
    "mcp": "examples:\n  vrag mcp --index /data/idx          (a chatbot starts this; it speaks MCP on stdio)",
}


def _globals(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options every verb takes, before or after it. Copies on the verbs default to "not given", so a value
    before the verb is not reset by the verb's parser."""
    none: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    flag: dict[str, Any] = {"action": "store_true"} | none
    group = parser.add_argument_group("global options")
    group.add_argument("--json", help="print JSON instead of text", **flag)
    group.add_argument("--jsonl", help="print one JSON object per line (streams)", **flag)
    group.add_argument("-q", "--quiet", help="no progress bars or notes; errors still show", **flag)
    group.add_argument("--verbose", help="show tracebacks for errors", **flag)
    group.add_argument("--index", help="index folder (default: $VRAG_INDEX, else .vrag)", **none)
    group.add_argument("--qdrant-url", help="Qdrant server URL (default: $VRAG_QDRANT_URL)", **none)
    group.add_argument("--qdrant-api-key", help="Qdrant API key (default: $VRAG_QDRANT_API_KEY)", **none)
    group.add_argument("--config", help="vrag.toml to use (default: ./vrag.toml, else the user's)", **none)


def _verb(verbs: Any, name: str, help: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = verbs.add_parser(
        name, help=help, description=help, epilog=VERB_EXAMPLES.get(name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    _globals(parser, top=False)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vrag", description="Make video searchable and answerable.", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"vrag {__version__}")
    _globals(parser, top=True)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    index = _verb(verbs, "index", "index videos (files or folders)")
    index.add_argument("paths", nargs="+")
    index.add_argument("--encoder", action="append", help="visual encoder (repeatable; 'none' for none)")
    index.add_argument("--chunker", help="chunker name (default: semantic)")
    index.add_argument("--workers", type=int, help="decode/chunk processes (0: in-process)")
    index.add_argument(
        "--engine", choices=("local", "ray"), default="local",
        help="local: this machine's processes; ray: Ray Data, a local runtime or a cluster (vrag-video[ray])",
    )  # fmt: skip
    index.add_argument(
        "--ray-address", help="Ray cluster to join: auto, ray://HOST:10001 (default: start one)"
    )
    index.add_argument("--ray-actors", type=int, help="encoder actors (default: one per GPU, else one)")
    index.set_defaults(run=_index)

    search = _verb(verbs, "search", "find the moments that match a query")
    search.add_argument("query", nargs="?", help="what to look for, in words")
    search.add_argument("--image", help="query by an image file instead (visual channels)")
    search.add_argument("--clip", help="query by an example clip: a video file (visual channels)")
    search.add_argument("--clip-start", help="the example clip starts at this time (90 or 1:30)")
    search.add_argument("--clip-end", help="the example clip ends at this time")
    _search_options(search, k=5)
    search.add_argument("--channel", action="append", help="search only this channel (repeatable)")
    search.add_argument("--fusion", help="channel fusion: dbsf (default) or rrf")
    search.add_argument("--mmr", type=float, help="diversity 0..1 (maximal marginal relevance)")
    search.add_argument("--per-video", type=int, help="at most N hits per video")
    search.add_argument("--expand", type=int, help="add N neighbour segments each side")
    search.add_argument("--merge", action="store_true", default=None, help="join touching hits of one video")
    _time_flags(search)
    search.set_defaults(run=_search)

    ask = _verb(verbs, "ask", "answer a question with cited moments")
    ask.add_argument("question")
    _search_options(ask, k=5)
    ask.add_argument(
        "--llm",
        help="PROVIDER:MODEL (ollama:llama3.1, openai:gpt-4o-mini), MODEL with --llm-url, or py:MODULE:NAME "
        "(default: [llm] model in vrag.toml; none: an extractive answer)",
    )
    ask.add_argument("--llm-url", help="an OpenAI-compatible API root, e.g. http://localhost:8000/v1")
    ask.add_argument(
        "--steps", type=int, default=1,
        help="search steps (1-6): search again with sub-queries while the evidence does not answer",
    )  # fmt: skip
    _time_flags(ask)
    ask.set_defaults(run=_ask)

    _verb(verbs, "info", "what the index holds and how it was built").set_defaults(run=_info)
    check = _verb(verbs, "check", "verify every stored point and the video ledger (exit 1 when damaged)")
    check.add_argument(
        "--repair", action="store_true", help="set damaged data aside; list the videos to index again"
    )
    check.set_defaults(run=_check)
    _verb(verbs, "videos", "list the indexed videos (id, duration, segments, path)").set_defaults(run=_videos)
    delete = _verb(verbs, "delete", "remove videos (paths, file names or ids) from the index")
    delete.add_argument("videos", nargs="+")
    delete.set_defaults(run=_delete)

    chunk = _verb(verbs, "chunk", "cut videos into segments (no index)")
    chunk.add_argument("paths", nargs="+", help="video files or folders (scanned recursively)")
    chunk.add_argument("--chunker", default="semantic", help="chunker name (default: semantic)")
    chunk.set_defaults(run=_chunk)
    _eval_verbs(verbs)
    _train_verbs(verbs)
    _serve_verbs(verbs)
    return parser


def _search_options(parser: argparse.ArgumentParser, *, k: int) -> None:
    parser.add_argument("-k", type=int, help=f"number of hits (default {k}, or [search] k)")
    parser.add_argument(
        "--video", action="append", help="only this video (path, file name or id; repeatable)"
    )
    parser.add_argument("--after", help="only moments starting at or after this time (90 or 1:30)")
    parser.add_argument("--before", help="only moments ending at or before this time")
    parser.add_argument("--where", action="append", help="payload filter KEY=VALUE (repeatable)")
    parser.add_argument("--rerank", help="rescore the candidates: sentence, cross-encoder, cascade, qwen3-vl")


def _time_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-temporal", dest="temporal", action="store_false", default=None,
        help="search the words as they are: no relations in time ('right after the part about X')",
    )  # fmt: skip
    parser.add_argument(
        "--no-moments", dest="moments", action="store_false", default=None,
        help="cite whole segments: do not look for the cue inside each hit that answers",
    )  # fmt: skip


def _eval_verbs(verbs: Any) -> None:
    evaluate = verbs.add_parser("eval", help="quality evaluations on generated suites")
    suites = evaluate.add_subparsers(dest="suite", required=True)
    retrieval = _verb(suites, "retrieval", "Recall@1/5, MRR and span IoU on generated lectures")
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
    timeaware = _verb(
        suites, "timeaware", "relational, moment, unanswerable and two-step questions on generated lectures"
    )
    timeaware.add_argument("--workdir", default=".vrag-eval", help="corpus + index folder (reused)")
    timeaware.add_argument("--videos", type=int, help="lectures to generate (1-10, default 10)")
    timeaware.add_argument("--seed", type=int, default=0, help="corpus layout seed (default 0)")
    timeaware.add_argument("--chunker", default="semantic", help="fixed or semantic (default semantic)")
    timeaware.add_argument("-k", type=int, default=10, help="hits per search (default 10)")
    timeaware.add_argument("--details", action="store_true", help="with --json: every question's outcome")
    timeaware.set_defaults(run=_eval_timeaware)
    temporal = _verb(suites, "temporal", "spatial vs temporal understanding of video encoders")
    temporal.add_argument(
        "--encoder", action="append", help="encoder name, glob ('*-test'), hf: id or folder (repeatable)"
    )
    temporal.add_argument("--pairs", type=int, default=16, help="clip pairs per kind (default 16)")
    temporal.add_argument("--seed", type=int, default=0, help="suite seed (default 0)")
    temporal.add_argument("--device", help="cpu, cuda, ... (default: CUDA when present)")
    temporal.add_argument("--dtype", default="float32", help="compute dtype (default float32)")
    temporal.set_defaults(run=_eval_temporal)


def _train_verbs(verbs: Any) -> None:
    train = verbs.add_parser("train", help="train learned components on your own data")
    trainers = train.add_subparsers(dest="trainer", required=True)
    qf = _verb(trainers, "qformer", "Q-Former pooler on (video, caption) pairs")
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
    agg = _verb(trainers, "aggregator", "LV-MAE-style video-level aggregator on the index's own vectors")
    agg.add_argument("--channel", help="video channel to train for (default: the text channel)")
    agg.add_argument("--k", type=int, default=8, help="video-level vectors per video (default 8)")
    agg.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    agg.add_argument("--out", help="checkpoint folder (default: inside the index folder, used from then on)")
    agg.add_argument("--resume", action="store_true", help="continue the saved run up to --steps")
    agg.set_defaults(run=_train_aggregator)


def _serve_verbs(verbs: Any) -> None:
    serve = _verb(
        verbs, "serve", "HTTP API and a web page to search, watch, ask and index (needs vrag-video[server])"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need a key)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--api-key", help="require `Authorization: Bearer KEY` (default: $VRAG_API_KEY)")
    serve.add_argument(
        "--root",
        action="append",
        help="folder the server may read videos from (repeatable; default: the cwd)",
    )
    serve.add_argument("--cors-origin", action="append", help="allow this web origin to call the API")
    serve.add_argument("--max-upload-mb", type=float, default=64.0, help="largest search upload (default 64)")
    serve.add_argument("--timeout", type=float, default=60.0, help="seconds a search may take (default 60)")
    serve.set_defaults(run=_serve)
    _verb(verbs, "mcp", "MCP server on stdio for chatbots: search_videos, ask_videos").set_defaults(run=_mcp)


# ------------------------------------------------------------------------------------------- opening


def _open(args: argparse.Namespace, *, create: bool = False, **overrides: Any) -> VideoIndex:
    """Open the index the flags (else ``VRAG_INDEX`` / ``VRAG_QDRANT_URL``) name. Its stored configuration is
    the base; ``vrag.toml``'s ``[index]``, ``VRAG_*`` settings and flags apply on top (reads never mind
    settings that only shape ingest; ``add`` refuses them, naming each). Only ``index`` may create one."""
    from vrag.config import IndexConfig, load_config
    from vrag.index import VideoIndex
    from vrag.store import DEFAULT_INDEX, read_schema_record

    location, url = _where(args)
    qdrant = args.settings.qdrant
    key = args.qdrant_api_key or os.environ.get("VRAG_QDRANT_API_KEY") or (qdrant.key() if url else None)
    record = read_schema_record(location, url=url, api_key=key, qdrant=qdrant)
    if record is None and not create:
        where = url or location or DEFAULT_INDEX
        raise ConfigError(
            f"no index at {where}: run `vrag index PATH...` first, or pass --index DIR / --qdrant-url"
        )
    stored = (record or {}).get("build_info", {}).get("config")
    base = IndexConfig(**stored) if stored else None
    config = load_config(base=base, table=args.settings.index, **overrides)
    return VideoIndex.open(location, config, url=url, api_key=key, qdrant=qdrant)


def _where(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Flags win over the environment, so ``--index`` works while ``VRAG_QDRANT_URL`` is set (and back);
    both win over ``[qdrant] url`` of vrag.toml."""
    if args.index or args.qdrant_url:
        return args.index, args.qdrant_url
    index, url = os.environ.get("VRAG_INDEX"), os.environ.get("VRAG_QDRANT_URL")
    if index or url:
        return index, url
    return None, args.settings.qdrant.url


def _json(value: Any, **options: Any) -> str:
    """JSON any parser reads: NaN and infinities become ``null`` (``json.dumps`` would write ``NaN``)."""
    return json.dumps(_finite(value), allow_nan=False, **options)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class _Printable:
    """Standard output that shows control characters as escapes (``vrag._format.printable``): indexed text
    comes from files anyone can write, and an ESC sequence in a subtitle must not drive the terminal."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return int(self._stream.write(printable(text)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _emit(args: argparse.Namespace, rows: Iterable[dict[str, Any]], human: Iterable[str]) -> None:
    """Rows as one JSON array (``--json``), one object per line (``--jsonl``), else the human lines."""
    if args.jsonl:
        for row in rows:
            print(_json(row), flush=True)
    elif args.json:
        print(_json(list(rows), indent=1))
    else:
        for line in human:
            print(line)


# ------------------------------------------------------------------------------------------- verbs


def _index(args: argparse.Namespace) -> int:
    encoders = None if args.encoder is None else tuple(e for e in args.encoder if e != "none")
    overrides = {"visual_encoders": encoders, "chunker": args.chunker, "workers": args.workers}
    with _open(args, create=True, **overrides) as index:
        report = index.add(
            args.paths, progress=False if args.quiet or args.json or args.jsonl else None, engine=args.engine,
            ray_address=args.ray_address, ray_actors=args.ray_actors,
        )  # fmt: skip
    if args.jsonl:
        rows = [{"path": p, "status": "indexed"} for p in report.indexed]
        rows += [{"path": p, "status": "skipped"} for p in report.skipped]
        rows += [{"status": "failed", **f.to_dict()} for f in report.failed]
        rows.append(
            {"status": "done", **{k: v for k, v in report.to_dict().items() if not isinstance(v, list)}}
        )
        _emit(args, rows, ())
    elif args.json:
        print(_json(report.to_dict(), indent=1))
    else:
        print(
            f"indexed {len(report.indexed)} videos ({report.segments} segments, {report.video_seconds:.0f} s "
            f"of video) in {report.seconds:.1f} s; {len(report.skipped)} already indexed; "
            f"{len(report.failed)} failed"
        )
        for note in () if args.quiet else report.notes:
            print(f"  note: {note}")
    for f in report.failed:
        print(printable(f"FAILED {f.path}: {f.error}: {f.message}"), file=sys.stderr)
    return 1 if report.failed else 0


def _options(args: argparse.Namespace, **more: Any) -> Any:
    """The search options the flags give, over ``[search]`` of vrag.toml."""
    from vrag.search import SearchOptions, parse_where

    defaults = {"k": 5, **args.settings.search}  # the CLI shows 5 hits unless vrag.toml says otherwise
    if "rerank" in more:  # the caller's reranker (vrag ask's LLM judge) replaces the file's choice
        defaults.pop("rerank", None)
    base = SearchOptions.from_mapping(defaults, owner="[search] in vrag.toml")
    flags = {
        "k": args.k, "video": args.video, "after": args.after, "before": args.before,
        "where": parse_where(args.where), "rerank": args.rerank, "temporal": args.temporal,
        "moments": args.moments, **more,
    }  # fmt: skip
    return base.replace(**flags)


def _search(args: argparse.Namespace) -> int:
    clip = None
    if args.clip:
        times = [None if t is None else parse_time(t, what=n) for n, t in (("--clip-start", args.clip_start),
                 ("--clip-end", args.clip_end))]  # fmt: skip
        clip = (args.clip, *times)
    elif args.clip_start is not None or args.clip_end is not None:
        raise ConfigError("--clip-start/--clip-end need --clip FILE")
    options = _options(
        args, channels=args.channel, fusion=args.fusion, mmr=args.mmr, per_video=args.per_video,
        expand=args.expand, merge=args.merge,
    )  # fmt: skip
    with _open(args) as index:
        hits = index.search(args.query, image=args.image, clip=clip, options=options)
    _emit(args, (h.to_dict() for h in hits), (format_hit(h) for h in hits))
    return 0


def format_hit(hit: Hit, width: int = 90) -> str:
    """``video mm:ss.s–mm:ss.s score text`` on one line; the moment (``@ mm:ss.s–mm:ss.s`` and its text)
    when it is narrower than the hit, and the relation that produced the hit on a second line."""
    moment = hit.moment
    narrower = moment is not None and (moment.start, moment.end) != (hit.start, hit.end)
    text = " ".join((moment.text if moment is not None and narrower else hit.text).split())
    text = text if len(text) <= width else text[: width - 3] + "..."
    at = f" @ {span(moment.start, moment.end)}" if moment is not None and narrower else ""
    line = f"{os.path.basename(hit.video)} {span(hit.start, hit.end)}{at} {hit.score:.3f} {text}"
    return line + (f"\n    ({hit.relation})" if hit.relation else "")


def _ask(args: argparse.Namespace) -> int:
    from vrag.llm import resolve_llm

    settings = args.settings.llm
    name, url = args.llm or settings.model, args.llm_url or settings.base_url
    key = os.environ.get(settings.api_key_env) if settings.api_key_env else None
    llm = resolve_llm(name, base_url=url, api_key=key, timeout=settings.timeout) if name else None
    by_llm = (args.rerank or args.settings.search.get("rerank")) == "llm"  # the answering model judges
    if by_llm and llm is None:
        raise ConfigError("--rerank llm: pass --llm too (the answering model then judges the evidence)")
    if by_llm:
        from vrag.search import create_reranker

        options = _options(args, rerank=create_reranker("llm", llm=llm))
    else:
        options = _options(args)
    with _open(args) as index:
        answer = index.ask(args.question, k=options.k, llm=llm, options=options, steps=args.steps)
    if args.json or args.jsonl:
        print(_json(answer.to_dict(), indent=None if args.jsonl else 1))
        return 0
    print(answer.text)
    for dropped in answer.dropped:
        print(printable(f"  (removed a citation that matches no evidence: {dropped})"), file=sys.stderr)
    for claim in answer.removed:
        print(printable(f"  (removed a sentence with no verified citation: {claim})"), file=sys.stderr)
    if (args.steps > 1 or args.verbose) and not args.quiet:
        for step in answer.trace:
            print(printable(f"  step: {format_step(step)}"), file=sys.stderr)
    return 0


def format_step(step: Step) -> str:
    """One search step of a trace on one line: purpose, query, limits, what it found, its verdict."""
    limits = [f"in {step.video}"] if step.video else []
    limits += [f"after {timestamp(step.after)}"] if step.after is not None else []
    limits += [f"before {timestamp(step.before)}"] if step.before is not None else []
    found = ", ".join(f"{name} {span(s, e)}" for name, s, e, _ in step.found[:2]) or "nothing"
    where = f" ({', '.join(limits)})" if limits else ""
    note = f"; {step.note}" if step.note else ""
    return f"{step.purpose} {step.query!r}{where} -> {found}{note}"


def _info(args: argparse.Namespace) -> int:
    with _open(args) as index:
        info = index.info()
    if args.json or args.jsonl:
        print(_json(info.to_dict(), indent=None if args.jsonl else 1))
        return 0
    print(f"{info.location}: {info.videos} videos, {info.segments} segments")
    print(f"  channels: {', '.join(info.channels)}  fingerprint: {info.fingerprint}")
    for note in () if args.quiet else info.notes:
        print(f"  note: {note}")
    return 0


def _check(args: argparse.Namespace) -> int:
    with _open(args) as index:
        report = index.check(repair=args.repair)
    if args.json or args.jsonl:
        print(_json(report.to_dict(), indent=None if args.jsonl else 1))
        return 0 if report.ok else 1
    n = len(report.problems)
    state = "ok" if report.ok else f"{n} problem{'s' if n > 1 else ''}"
    print(f"{report.location}: {state} ({report.videos} videos, {report.segments} segments)")
    for problem in report.problems:
        print(f"  {problem.shard}: {problem.message}")
    for line in report.repaired:
        print(f"  repaired: {line}")
    if report.pending:
        print(f"  note: {report.pending} segments of an unfinished write; the next `vrag index` removes them")
    where = f"--index {shlex.quote(report.location)}"
    if report.reindex:
        print(f"  to heal: vrag index {where} {' '.join(shlex.quote(p) for p in report.reindex)}")
    if not args.repair and any(p.kind != "missing-segments" for p in report.problems):
        print(f"  to repair: vrag check --repair {where}")
    return 0 if report.ok else 1


def _videos(args: argparse.Namespace) -> int:
    with _open(args) as index:
        videos = index.videos()
    human = [
        f"{v.video_id[:12]}  {timestamp(v.duration, decimals=0):>8}  {v.n_segments:4d} seg  {v.path}"
        for v in videos
    ]
    _emit(args, (v.to_dict() for v in videos), human or ["no videos indexed"])
    return 0


def _delete(args: argparse.Namespace) -> int:
    with _open(args) as index:
        n = index.delete(args.videos)
    print(_json({"deleted": n}) if args.json or args.jsonl else f"deleted {n} videos")
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
        print(_json({"videos": videos, "failed": [f.to_dict() for f in failed]}, indent=1))
    for f in failed:
        print(printable(f"FAILED {f.path}: {f.error}: {f.message}"), file=sys.stderr)
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
    print(_json(report.to_dict(details=args.details), indent=1) if args.json else report.format_table())
    return 0


def _eval_timeaware(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vrag.eval._timeaware import run_timeaware_eval

    report = run_timeaware_eval(
        Path(args.workdir), videos=args.videos, seed=args.seed, chunker=args.chunker, k=args.k,
        progress=not args.json,
    )  # fmt: skip
    print(_json(report.to_dict(details=args.details), indent=1) if args.json else report.format_table())
    return 0


def _eval_temporal(args: argparse.Namespace) -> int:
    from vrag.eval import run_temporal_eval

    if not args.encoder:  # no default: "every encoder" would download every checkpoint
        raise ConfigError("pass --encoder NAME (repeatable; globs work: '*-test' = the tiny test encoders)")
    report = run_temporal_eval(
        args.encoder, pairs_per_kind=args.pairs, seed=args.seed, device=args.device,
        dtype=args.dtype, progress=not args.json and sys.stderr.isatty(),
    )  # fmt: skip
    print(_json(report.to_dict(), indent=1) if args.json else report.format_table())
    return 0


def _train_qformer(args: argparse.Namespace) -> int:
    from vrag.train import train_qformer

    report = train_qformer(
        args.data_dir, base=args.base, out_dir=args.out, steps=args.steps, batch=args.batch, lr=args.lr,
        text_encoder=args.text_encoder, k=args.k, size=args.size, amp=args.amp, resume=not args.no_resume,
        eval_fraction=args.eval_fraction, checkpoint_every=args.checkpoint_every, seed=args.seed,
        device=args.device, progress=not args.json and sys.stderr.isatty(),
    )  # fmt: skip
    print(_json(report.to_dict(), indent=1) if args.json else report.format_table())
    return 0


def _train_aggregator(args: argparse.Namespace) -> int:
    with _open(args) as index:
        report = index.train_aggregator(
            channel=args.channel, k=args.k, steps=args.steps, out_dir=args.out, resume=args.resume,
            progress=not args.json and sys.stderr.isatty(),
        )  # fmt: skip
    print(_json(report.to_dict(), indent=1, default=str) if args.json else report.format_table())
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        from vrag.serve import API_KEY_ENV, ServeConfig, run_server
    except ImportError as err:
        raise ConfigError(
            f'vrag serve needs the server extra: pip install "vrag-video[server]" ({err})'
        ) from err
    config = ServeConfig(
        host=args.host, port=args.port, api_key=args.api_key or os.environ.get(API_KEY_ENV),
        roots=args.root or (),
        cors_origins=args.cors_origin or (), max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        timeout=args.timeout, search=args.settings.search, llm=args.settings.llm,
    )  # fmt: skip
    with _open(args, create=True) as index:
        run_server(index, config)
    return 0


def _mcp(args: argparse.Namespace) -> int:
    try:
        from vrag.serve import llm_from_config, run_mcp
    except ImportError as err:
        raise ConfigError(
            f'vrag mcp needs the server extra: pip install "vrag-video[server]" ({err})'
        ) from err
    from vrag.search import SearchOptions

    options = SearchOptions.from_mapping(args.settings.search, owner="[search] in vrag.toml")
    llm = llm_from_config(args.settings.llm)
    with _open(args) as index:
        run_mcp(index, options=options, llm=llm)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from vrag.config import load_settings

    args = _parser().parse_args(argv)
    stdout, sys.stdout = sys.stdout, _Printable(sys.stdout)
    logger = logging.getLogger("vrag")
    level = logger.level
    if args.quiet:  # notes and warnings off (the report keeps them); errors still show
        logger.setLevel(logging.ERROR)
    try:
        args.settings = load_settings(args.config)
        return int(args.run(args))
    except VragError as error:
        if args.verbose:
            raise
        print(f"vrag: {printable(str(error))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `vrag ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        return 141
    finally:
        sys.stdout = stdout
        logger.setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
