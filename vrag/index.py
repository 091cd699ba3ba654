"""``VideoIndex``: the façade the CLI and the integrations call — add, search, delete, info.

Example:
    >>> import vrag
    >>> index = vrag.VideoIndex.open(".vrag")              # doctest: +SKIP
    >>> report = index.add(["lectures/"])                   # doctest: +SKIP
    >>> for hit in index.search("gradient descent", k=3):   # doctest: +SKIP
    ...     print(hit.video, hit.start, hit.end, hit.text)
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from vrag.config import IndexConfig, load_config
from vrag.errors import ConfigError, ModelUnavailableError, VragError
from vrag.store._schema import multi_channel
from vrag.types import Hit

if TYPE_CHECKING:
    from vrag.aggregate import Aggregator, BuildReport, TrainReport
    from vrag.encoders import TextEncoder, VideoEncoder
    from vrag.pipeline import IngestReport
    from vrag.search import Answer, Reranker
    from vrag.search._queries import ClipQuery
    from vrag.store import Store, StoredHit, StoreSchema

log = logging.getLogger(__name__)

__all__ = ["SEARCH_OPTIONS", "IndexInfo", "VideoIndex", "channel_name", "multi_channel", "resolve_ocr"]

PIPELINE_VERSION = 1
"""Bump when segment contents change for the same configuration (it is part of the fingerprint)."""


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """What an index holds and how it was built."""

    location: str
    videos: int
    segments: int
    channels: tuple[str, ...]
    fingerprint: str
    config: dict[str, Any]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "videos": self.videos,
            "segments": self.segments,
            "channels": list(self.channels),
            "fingerprint": self.fingerprint,
            "config": self.config,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class _Channels:
    """The encoders an index is built with, and the notices about those that could not be loaded."""

    visual: Mapping[str, VideoEncoder]
    text_channel: str | None
    text: TextEncoder | None
    notes: tuple[str, ...]

    @classmethod
    def load(cls, config: IndexConfig, stored: Mapping[str, Any] | None = None) -> _Channels:
        """Create the configured encoders. With the ``stored`` schema record of an existing index, an
        encoder that was skipped when it was built (no weights then) is not tried again.
        """
        from vrag.encoders import create_encoder

        visual: dict[str, VideoEncoder] = {}
        notes: list[str] = []
        for name in config.visual_encoders:
            if stored is not None and _skipped_at_build(name, stored):
                notes.append(
                    f"visual channel {name!r} skipped: it was not available when this index was built"
                )
                continue
            try:
                encoder = create_encoder(name, device=config.device, dtype=config.dtype)
            except ModelUnavailableError as err:
                notes.append(f"visual channel {name!r} skipped: {err}")
                log.warning("visual channel %r skipped: %s", name, err)
                continue
            _refuse_test_weights(encoder.spec, config)
            visual[channel_name(name)] = encoder  # type: ignore[assignment]
        text = create_encoder(config.text_encoder, device=config.device) if config.text_encoder else None
        text_channel = channel_name(config.text_encoder) if config.text_encoder else None
        return cls(visual, text_channel, text, tuple(notes))  # type: ignore[arg-type]

    def schema(self, config: IndexConfig, stored: Mapping[str, Any] | None = None) -> StoreSchema:
        """The store schema; an existing index keeps the video channels it was created with."""
        from vrag.store import DenseChannel, StoreSchema

        dense = {ch: DenseChannel(enc.spec.dim) for ch, enc in self.visual.items()}
        for ch, enc in self.visual.items():
            if enc.spec.vectors > 1:  # K vectors per clip (a Q-Former pooler): a MaxSim channel beside it
                dense[multi_channel(ch)] = DenseChannel(enc.spec.dim, multivector=True)
        if self.text_channel and self.text is not None:
            dense[self.text_channel] = DenseChannel(self.text.spec.dim)
        build = {"config": config.model_dump(mode="json"), "notes": list(self.notes)}
        videos = {ch: c.dim for ch, c in dense.items() if not c.multivector} if config.aggregator else {}
        if stored is not None:
            videos = dict(stored.get("video_channels") or {})
        return StoreSchema(
            dense=dense, sparse_text=True, video_channels=videos, fingerprint=self.fingerprint(config),
            build_info=build,
        )  # fmt: skip

    def fingerprint(self, config: IndexConfig) -> str:
        """Hash of everything that decides segment boundaries, text and vectors."""
        parts = {
            "pipeline": PIPELINE_VERSION,
            "chunker": config.chunker,
            "chunk_options": config.chunk_options,
            "ocr": config.ocr,
            "asr": config.asr,
            "channels": {
                ch: [enc.spec.source, enc.spec.dim, *([enc.spec.vectors] if enc.spec.vectors > 1 else [])]
                for ch, enc in self.visual.items()
            },
            "text": [self.text_channel, self.text.spec.dim if self.text else None],
        }
        blob = json.dumps(parts, sort_keys=True, default=str).encode()
        return hashlib.blake2b(blob, digest_size=8).hexdigest()


@dataclass
class _Shared:
    """An index open in this process: handles opened on the same location share it (one store per path)."""

    store: Store
    config: IndexConfig
    channels: _Channels
    users: int = 1
    writing: threading.RLock = field(default_factory=threading.RLock)


_SHARED: dict[str, _Shared] = {}
_SHARED_LOCK = threading.RLock()


def _share_key(location: str | Path | None, url: str | None) -> str | None:
    """What identifies an index in this process: the Edge folder's real path or the server URL."""
    if url is not None:
        return url
    if str(location) == ":memory:":
        return None  # every in-memory index is its own
    from vrag.store import DEFAULT_INDEX

    return str(Path(location if location is not None else DEFAULT_INDEX).expanduser().resolve())


def _train_progress(steps: int) -> Callable[..., None]:
    from tqdm.auto import tqdm

    bar = tqdm(total=steps, desc="train aggregator", unit="step", leave=False)

    def update(step: int, *_: Any, **__: Any) -> None:
        bar.n = step
        bar.refresh()
        if step >= steps:
            bar.close()

    return update


def _check_chunker(config: IndexConfig) -> None:
    """Unknown chunker names or options raise here (exit 2 in the CLI), not once per file."""
    from vrag.chunking import CHUNKERS

    CHUNKERS.create(config.chunker, **config.chunk_options)


def _skipped_at_build(name: str, stored: Mapping[str, Any]) -> bool:
    built_with = stored.get("build_info", {}).get("config", {}).get("visual_encoders", ())
    return name in built_with and channel_name(name) not in stored.get("dense", {})


def _refuse_test_weights(spec: Any, config: IndexConfig) -> None:
    if spec.test_only and not config.allow_test_encoders:
        raise ConfigError(
            f"encoder {spec.name!r} has random test weights; indexing with it would store meaningless "
            "vectors. Pick a real encoder (vrag.encoders.list_encoders()) or set allow_test_encoders in tests"
        )


def channel_name(encoder: str) -> str:
    """A store channel name for an encoder name, hub id or directory (``hf:org/model`` → ``org--model``)."""
    name = encoder.removeprefix("hf:").rstrip("/")
    name = Path(name).name if Path(name).is_dir() else name.replace("/", "--")
    return re.sub(r"[^A-Za-z0-9_.\-]", "-", name)[:64] or "encoder"


def resolve_ocr(mode: str) -> bool:
    """``"auto"`` means on when RapidOCR is installed."""
    if mode != "auto":
        return mode == "on"
    import importlib.util

    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


class VideoIndex:
    """A searchable index of videos. Open one with :meth:`open`; close it (or use ``with``).

    Example:
        >>> from vrag import VideoIndex
        >>> with VideoIndex.open(".vrag") as index:          # doctest: +SKIP
        ...     index.add(["talk.mp4"])
        ...     hits = index.search("the speaker shows a graph", k=5)
    """

    def __init__(
        self, store: Store, config: IndexConfig, channels: _Channels, *, key: str | None = None,
        writing: threading.RLock | None = None,
    ) -> None:  # fmt: skip
        self._store, self.config, self._channels = store, config, channels
        self._rerankers: dict[str, Reranker] = {}
        self._key: str | None = key
        self._writing = writing or threading.RLock()  # one writer at a time across shared handles
        self._closed = False

    @classmethod
    def open(
        cls,
        location: str | Path | None = None,
        config: IndexConfig | None = None,
        *,
        url: str | None = None,
        api_key: str | None = None,
    ) -> VideoIndex:
        """Open (or create) an index.

        Args:
            location: index folder for the embedded Qdrant Edge store (default ``.vrag``), or
                ``":memory:"``.
            config: how to build it. ``None`` reuses the configuration an existing index was built with,
                or the defaults (plus ``VRAG_*`` environment variables) for a new one.
            url: a Qdrant server / cluster instead of a folder.
            api_key: the server's API key.

        Raises:
            SchemaMismatchError: the index was built with other encoders or chunking (says how to rebuild).
            IndexLockedError: another process has the index folder open.
        """
        from vrag.store import open_store, read_schema_record

        key = _share_key(location, url)
        with _SHARED_LOCK:
            shared = _SHARED.get(key) if key else None
            if shared is not None:  # already open in this process: share its store and encoders
                if config is not None and config != shared.config:
                    raise ConfigError(
                        f"{key}: already open in this process with another configuration; close it first "
                        "or open it without a config to share it"
                    )
                shared.users += 1
                return cls(shared.store, shared.config, shared.channels, key=key, writing=shared.writing)
            record = read_schema_record(location, url=url, api_key=api_key)
            if config is None:
                stored = (record or {}).get("build_info", {}).get("config")
                config = IndexConfig(**stored) if stored else load_config()
            _check_chunker(config)
            channels = _Channels.load(config, record)
            schema = channels.schema(config, record)
            store = open_store(location, schema=schema, url=url, api_key=api_key)
            shared = _Shared(store, config, channels)
            if key:
                _SHARED[key] = shared
            return cls(store, config, channels, key=key, writing=shared.writing)

    @property
    def fingerprint(self) -> str:
        return self._store.schema.fingerprint

    def add(self, paths: str | Path | Iterable[str | Path], *, progress: bool | None = None) -> IngestReport:
        """Index videos (files or folders, scanned recursively). Already indexed files are skipped; a
        changed file replaces its old version; bad files are reported in the result, never raised.
        """
        from vrag.pipeline import Ingestor

        items = [paths] if isinstance(paths, str | Path) else list(paths)
        cfg = self.config
        ingestor = Ingestor(
            store=self._store, visual=self._channels.visual, text_channel=self._channels.text_channel,
            text=self._channels.text, fingerprint=self.fingerprint, chunker=cfg.chunker,
            chunk_options=cfg.chunk_options, ocr=resolve_ocr(cfg.ocr), asr=cfg.asr,
            batch=cfg.encode_batch, workers=cfg.workers,
        )  # fmt: skip
        with self._writing:
            report = ingestor.run(items, progress=progress)
            try:
                self.build_video_vectors()
            except VragError as err:  # segments are stored and searchable; the next add() retries this
                log.warning("video-level vectors not built: %s", err)
                report = dataclasses.replace(report, notes=(*report.notes, f"video vectors not built: {err}"))
            if report.indexed:
                self._store.optimize()
        return report

    def build_video_vectors(self, *, rebuild: bool = False) -> list[BuildReport]:
        """Aggregate each video's segment vectors into its K video-level vectors (one set per video channel),
        for the videos that have none yet (all with ``rebuild``). ``add`` calls it; a crash between a
        video's commit and this step is made good by the next ``add``."""
        from vrag.aggregate import build_video_vectors

        reports = []
        with self._writing:
            for channel in self._store.schema.video_channels:
                videos = self._store.iter_videos()
                missing = [v.video_id for v in videos if rebuild or channel not in v.channels]
                if missing:
                    aggregator = self._aggregator(channel)
                    reports.append(
                        build_video_vectors(self._store, aggregator, channel=channel, videos=missing)
                    )
        return reports

    def train_aggregator(
        self, *, channel: str | None = None, k: int = 8, steps: int = 300, out_dir: str | Path | None = None,
        resume: bool = False, progress: bool | None = None,
    ) -> TrainReport:  # fmt: skip
        """Train the learned (LV-MAE-style) aggregator on this index's own segment vectors (no labels), save
        it with the index's schema record, and rebuild every video's vectors with it.

        Args:
            channel: the video channel to train for (default: the text channel, else the first one).
            k: video-level vectors per video.
            steps: training steps.
            out_dir: checkpoint folder (default: ``aggregators/<channel>`` inside the index folder, where
                ``add`` finds it and uses it from then on; a server index needs ``aggregator="lvmae"`` and
                ``aggregator_options={"path": {channel: dir}}`` in its configuration).
            resume: continue the checkpoint in ``out_dir`` up to ``steps`` (default: train afresh on the
                index as it is now, e.g. after adding videos).
            progress: show a progress bar (default: on a terminal).
        """
        from vrag.aggregate import LVMAEConfig, build_video_vectors, create_aggregator, store_sequences
        from vrag.aggregate import train_aggregator as train

        channel = channel or self._default_video_channel()
        target = Path(out_dir) if out_dir is not None else self._aggregator_dir(channel)
        if target is None:
            raise ConfigError("a server index keeps no files: pass out_dir= for the aggregator checkpoint")
        sequences = [emb for _, emb, _ in store_sequences(self._store, channel)]
        if not sequences:
            raise ConfigError(f"channel {channel!r} has no segment vectors yet: index some videos first")
        schema = self._store.schema.to_record()
        show = sys.stderr.isatty() if progress is None else progress
        report = train(
            sequences, out_dir=target, config=LVMAEConfig(k=k), steps=steps, schema=schema, channel=channel,
            resume=resume, progress=None if not show else _train_progress(steps),
        )  # fmt: skip
        aggregator = create_aggregator("lvmae", path=target, expect_schema=schema)
        with self._writing:
            build_video_vectors(self._store, aggregator, channel=channel)
        return report

    def _default_video_channel(self) -> str:
        channels = list(self._store.schema.video_channels)
        if not channels:
            raise ConfigError(
                "this index has no video-level channels (built with aggregator=None, or before video "
                "vectors existed): rebuild it with an aggregator to use them"
            )
        text = self._channels.text_channel
        return text if text in channels else channels[0]

    def _aggregator_dir(self, channel: str) -> Path | None:
        if self._key is None or "://" in self._key:
            return None
        return Path(self._key) / "aggregators" / channel

    def _aggregator(self, channel: str) -> Aggregator:
        """The aggregator for a channel: a trained checkpoint in the index folder, else the configured one."""
        from vrag.aggregate import create_aggregator

        trained = self._aggregator_dir(channel)
        schema = self._store.schema.to_record()
        if trained is not None and (trained / "aggregator.json").is_file():
            return create_aggregator("lvmae", path=trained, expect_schema=schema)
        name, options = self.config.aggregator or "kmeans", dict(self.config.aggregator_options)
        if name == "lvmae":
            path = options.get("path", trained)
            options["path"] = path.get(channel) if isinstance(path, Mapping) else path  # {channel: dir}
            options.setdefault("expect_schema", schema)
            if options["path"] is None or not (Path(options["path"]) / "aggregator.json").is_file():
                raise ConfigError(
                    f"aggregator 'lvmae' for channel {channel!r} has no trained checkpoint yet: run "
                    "`vrag train aggregator` (or index with aggregator='kmeans' first)"
                )
        return create_aggregator(name, **options)

    def search(
        self,
        query: str | None = None,
        *,
        image: str | os.PathLike[str] | None = None,
        clip: ClipQuery | None = None,
        k: int = 10,
        video: str | Sequence[str] | None = None,
        after: float | None = None,
        before: float | None = None,
        where: Mapping[str, Any] | None = None,
        channels: Sequence[str] | None = None,
        weights: Mapping[str, float] | None = None,
        fusion: str | None = None,
        hierarchical: bool | None = None,
        top_videos: int = 20,
        rerank: str | Reranker | None = None,
        mmr: float | None = None,
        per_video: int | None = None,
        candidates: int | None = None,
        expand: int = 0,
        merge: bool = False,
    ) -> list[Hit]:
        """The segments that best match a query, fused across channels by the engine (RRF or DBSF).

        Give exactly one of ``query`` (words: every channel), ``image`` or ``clip`` (visual channels).

        Args:
            query: what to look for, in words.
            image: an image file: moments that look like it.
            clip: an example clip: a video file, or ``(file, start_s, end_s)``.
            k: how many hits.
            video: only these videos (paths or ids).
            after: only segments starting at or after this time (s).
            before: only segments ending at or before this time (s).
            where: payload filter, field → value or list of values (any matches): ``video_id``, ``video``
                (the full path as indexed) or fields stored with the segments (``speech``, ``ocr``, ...).
            channels: search only these channels (``vrag info`` lists them), e.g. ``["bm25"]``.
            weights: channel → RRF weight, Qdrant's meaning: a channel's ranks are divided by its weight
                (weight 3: its 3rd hit counts like another channel's 1st).
            fusion: ``"dbsf"`` (distribution-based score fusion: each channel's scores normalised, then
                summed; the default, measured better than RRF on our retrieval eval, see BENCHMARKS.md) or
                ``"rrf"`` (reciprocal rank fusion; the default when ``weights`` are given).
            hierarchical: first let each channel nominate its ``top_videos`` videos by their video-level
                vectors (MaxSim), then search segments inside them. ``None``: when the index has video
                vectors, more videos than ``top_videos``, and no ``where`` / ``after`` / ``before`` filter
                (the video-level stage cannot apply those).
            top_videos: videos each channel nominates in the hierarchical first stage.
            rerank: a reranker name (``sentence``, ``cross-encoder``, ``llm``, ``cascade``; see
                ``vrag.search.create_reranker``) or instance; it rescores ``candidates`` hits.
            mmr: diversity in [0, 1] for maximal marginal relevance over the candidates (0 = off).
            per_video: at most this many hits from any one video.
            candidates: hits fetched before reranking / MMR / ``per_video`` (default ``max(3 * k, 30)``
                when any of those is on, else ``k``).
            expand: widen each hit by this many neighbour segments on each side (context for answers).
            merge: join hits of one video that touch or overlap into one span (best score kept).

        Returns:
            Hits, best first, each with the score every channel gave it (``Hit.channel_scores``).
        """
        queries = self._query_vectors(query, image, clip)
        queries = self._only(queries, channels)
        if rerank is not None and query is None:
            raise ConfigError("rerankers score query text; rerank works with text queries only")
        ids = self._video_ids([video] if isinstance(video, str) else video) if video else None
        if hierarchical is None and (where or after is not None or before is not None):
            hierarchical = False  # the video-level stage cannot see payload or time filters
        ids = self._first_stage(queries, ids, hierarchical, top_videos)
        extra = rerank is not None or bool(mmr) or per_video is not None
        pool = candidates or (max(3 * k, 30) if extra else k)
        found = self._store.search_fused(
            queries, k=max(pool, k), fusion=fusion or ("rrf" if weights else "dbsf"), weights=weights,
            video_ids=ids, after=after, before=before, payload_filter=where, with_vectors=bool(mmr),
            channel_scores=True,
        )  # fmt: skip
        hits = sorted((_to_hit(h) for h in found), key=lambda h: (-h.score, h.video, h.start))  # ties: fixed
        dims = {ch: c.dim for ch, c in self._store.schema.dense.items() if not c.multivector}
        vectors = {(h.video_id, h.start): _joined(h.vectors, dims) for h in found}
        if rerank is not None:
            hits = self._reranker(rerank).rerank(query or "", hits)
        if per_video is not None:
            hits = _cap_per_video(hits, per_video)
        if mmr:
            from vrag.search import mmr as diversify

            hits = diversify(hits, [vectors.get((h.video_id, h.start)) for h in hits], k=k, diversity=mmr)
        hits = hits[:k]
        if expand:
            from vrag.search._queries import expand_hits

            hits = expand_hits(hits, expand, self._segments_of)
        if merge:
            from vrag.search import merge_hits

            return merge_hits(hits)
        return hits

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        llm: Callable[[str], str] | None = None,
        video: str | Sequence[str] | None = None,
        rerank: str | Reranker | None = None,
    ) -> Answer:
        """Answer ``question`` from the best ``k`` moments, with checked ``[video mm:ss–mm:ss]`` citations.

        Citations name the exact segment each quoted sentence comes from (segments are not merged here).

        Args:
            question: what to answer.
            k: how many retrieved segments the answer may use.
            llm: a ``prompt -> text`` callable; without one the answer quotes the best evidence sentences.
            video: only these videos (paths or ids).
            rerank: rescore the candidates first (see :meth:`search`).
        """
        from vrag.search import answer_with_llm, extractive_answer

        evidence = self.search(question, k=k, video=video, rerank=rerank)
        return (
            extractive_answer(question, evidence) if llm is None else answer_with_llm(question, evidence, llm)
        )

    def _query_vectors(
        self, query: str | None, image: str | os.PathLike[str] | None, clip: ClipQuery | None
    ) -> dict[str, Any]:
        if sum(x is not None for x in (query, image, clip)) != 1:
            raise ConfigError("search needs exactly one of: query text, image=, clip=")
        if image is not None:
            from vrag.search._queries import image_vectors

            return dict(image_vectors(self._channels.visual, image))
        if clip is not None:
            from vrag.search._queries import clip_vectors

            return dict(clip_vectors(self._channels.visual, clip))
        if not query or not query.strip():
            raise ConfigError("search needs a non-empty query")
        return self._queries(query)

    def _only(self, queries: dict[str, Any], channels: Sequence[str] | None) -> dict[str, Any]:
        if channels is None:
            return queries
        unknown = [c for c in channels if c not in queries]
        if unknown:
            raise ConfigError(
                f"channels {unknown} cannot take this query; this index's channels for it: {sorted(queries)}"
            )
        return {c: queries[c] for c in channels}

    def _first_stage(
        self, queries: Mapping[str, Any], ids: list[str] | None, hierarchical: bool | None, top_videos: int
    ) -> list[str] | None:
        """Hierarchical search's first stage: each video channel of the query nominates its ``top_videos``
        videos by video-level MaxSim; segments are then searched inside the union (no channel's best video
        is lost to another channel's ranking)."""
        total = self._store.count_videos()
        # only channels every video has vectors in: a video left out of the first stage would be unfindable
        video_channels = [c for c in self._store.schema.video_channels if c in queries]
        channels = [c for c in video_channels if self._store.count_videos(c) == total]
        if hierarchical is None:
            hierarchical = bool(channels) and total > top_videos
        if not hierarchical:
            return ids
        if not channels:
            raise ConfigError(
                "hierarchical search needs video-level vectors, for every video, in a channel of this query; "
                f"this index has {sorted(self._store.schema.video_channels) or 'none'} (build them with "
                "VideoIndex.build_video_vectors() or an add())"
            )
        nominated = {
            v.video_id: None
            for c in channels
            for v in self._store.search_videos(c, queries[c], k=top_videos, video_ids=ids)
        }
        return list(nominated)

    def _reranker(self, rerank: str | Reranker) -> Reranker:
        from vrag.search import create_reranker

        if not isinstance(rerank, str):
            return rerank
        if rerank == "llm":
            raise ConfigError(
                "the llm reranker needs a model: pass rerank=vrag.search.create_reranker('llm', llm=...) "
                "(in the CLI: vrag ask --llm PROVIDER:MODEL --rerank llm)"
            )
        if rerank not in self._rerankers:
            options: dict[str, Any] = {}
            if rerank == "sentence" and self._channels.text is not None:
                options["encoder"] = self._channels.text  # the index's own text encoder, already loaded
            if rerank in ("sentence", "cross-encoder", "cascade") and self.config.device:
                options["device"] = self.config.device
            self._rerankers[rerank] = create_reranker(rerank, **options)
        return self._rerankers[rerank]

    def _segments_of(self, video_id: str) -> Iterable[tuple[float, float, str]]:
        return ((s.start, s.end, s.text) for s in self._store.iter_segments(video_id))

    def _queries(self, query: str) -> dict[str, Any]:
        from vrag.store import SPARSE_CHANNEL

        queries: dict[str, Any] = {SPARSE_CHANNEL: query}
        if self._channels.text is not None and self._channels.text_channel:
            queries[self._channels.text_channel] = self._channels.text.encode_query([query])[0]
        for ch, enc in self._channels.visual.items():
            if enc.spec.has_text:
                queries[ch] = enc.encode_text([query])[0]
                if enc.spec.vectors > 1:
                    queries[multi_channel(ch)] = queries[ch]
        return queries

    def _video_ids(self, videos: Sequence[str]) -> list[str]:
        """Video ids for paths, ids, or bare file names (as citations show them) that name one video."""
        known = {v.video_id: v for v in self._store.iter_videos()}
        by_path = {str(Path(v.path).resolve()): v.video_id for v in known.values()}
        by_name: dict[str, list[str]] = {}
        for v in known.values():
            by_name.setdefault(Path(v.path).name, []).append(v.video_id)
        ids = []
        for item in videos:
            vid = item if item in known else by_path.get(str(Path(item).resolve()))
            if vid is None and Path(item).name == item and len(by_name.get(item, ())) == 1:
                vid = by_name[item][0]
            if vid is None:
                many = len(by_name.get(item, ())) > 1
                raise ConfigError(
                    f"{item}: "
                    + ("several indexed videos have this name; give the path or video id" if many else
                       "not in this index (give an indexed path, file name or video id; see `vrag info`)")
                )  # fmt: skip
            ids.append(vid)
        return ids

    def delete(self, videos: str | Sequence[str]) -> int:
        """Delete videos (paths or ids) and all their segments; returns how many were deleted."""
        ids = self._video_ids([videos] if isinstance(videos, str) else videos)
        with self._writing:
            for vid in ids:
                self._store.delete_video(vid)
        return len(ids)

    def info(self) -> IndexInfo:
        schema = self._store.schema
        return IndexInfo(
            str(self._store.location), self._store.count_videos(), self._store.count_segments(),
            schema.channels, schema.fingerprint, self.config.model_dump(mode="json"), self._channels.notes,
        )  # fmt: skip

    def close(self) -> None:
        """Release this handle; the index closes when the last handle opened on it in this process does."""
        with _SHARED_LOCK:
            if self._closed:
                return
            self._closed = True
            shared = _SHARED.get(self._key) if self._key else None
            if shared is not None and shared.store is self._store:
                shared.users -= 1
                if shared.users > 0:
                    return
                del _SHARED[self._key]  # type: ignore[arg-type]
            self._store.close()

    def __enter__(self) -> VideoIndex:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


SEARCH_OPTIONS: frozenset[str] = frozenset(inspect.signature(VideoIndex.search).parameters) - {
    "self", "query", "image", "clip",
}  # fmt: skip
"""``VideoIndex.search`` keywords besides what to search for (``k``, ``video``, ``where``, ``rerank``, ...):
the options the framework adapters accept and check names against."""


def _to_hit(hit: StoredHit) -> Hit:
    keyframe = hit.keyframes[0] if hit.keyframes else None
    return Hit(
        hit.video, hit.video_id, hit.start, hit.end, hit.score, hit.text, keyframe, dict(hit.channel_scores)
    )


def _joined(vectors: Mapping[str, Any], dims: Mapping[str, int]) -> Any:
    """One vector per hit for MMR similarity: its channels' unit vectors side by side (zeros for a channel
    it has no vector in; None when it has none at all)."""
    import numpy as np

    if not any(ch in vectors for ch in dims):
        return None
    parts = [
        np.asarray(vectors[ch], np.float32) / (np.linalg.norm(vectors[ch]) or 1.0)
        if ch in vectors
        else np.zeros(dim, np.float32)
        for ch, dim in dims.items()
    ]
    return np.concatenate(parts)


def _cap_per_video(hits: list[Hit], n: int) -> list[Hit]:
    if n < 1:
        raise ConfigError(f"per_video must be at least 1, got {n}")
    seen: dict[str, int] = {}
    out = []
    for hit in hits:
        seen[hit.video_id] = seen.get(hit.video_id, 0) + 1
        if seen[hit.video_id] <= n:
            out.append(hit)
    return out
