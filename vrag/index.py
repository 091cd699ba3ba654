"""``VideoIndex``: the façade the CLI, the service and the integrations call — add, search, ask, delete, info.

It opens the store and the encoder channels and hands each call to the part that does the work: ingest to
:mod:`vrag.pipeline`, search to :class:`vrag.search.Retriever`, answers to :mod:`vrag.search`, video-level
vectors to :mod:`vrag.aggregate`.

Example:
    >>> import vrag
    >>> index = vrag.VideoIndex.open(".vrag")              # doctest: +SKIP
    >>> report = index.add(["lectures/"])                   # doctest: +SKIP
    >>> for hit in index.search("gradient descent", k=3):   # doctest: +SKIP
    ...     print(hit.video, hit.start, hit.end, hit.text)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from vrag.config import IndexConfig, load_config
from vrag.errors import ConfigError, StoreFullError, VragError
from vrag.types import Hit

if TYPE_CHECKING:
    from vrag.aggregate import BuildReport, TrainReport
    from vrag.aggregate._index import VideoVectors
    from vrag.config import QdrantConfig
    from vrag.pipeline import Channels, IngestReport, ProgressCallback
    from vrag.pipeline._ray import ServerTarget
    from vrag.search import Answer, Reranker, Retriever, SearchOptions
    from vrag.search._queries import ClipQuery
    from vrag.store import CheckReport, Store, StoredSegment, StoredVideo

log = logging.getLogger(__name__)

__all__ = ["IndexInfo", "VideoIndex"]

OPTIMIZE_AFTER = 10_000
"""``add`` rebuilds the HNSW graph once this many segments are searched exactly (a 10k exact scan is ~1.5 ms
on 2 cores; the HNSW build at 100k took 102 s there, see BENCHMARKS.md)."""


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


@dataclass
class _Shared:
    """An index open in this process: handles opened on the same location share it (one store per path)."""

    store: Store
    config: IndexConfig
    channels: Channels
    users: int = 1
    writing: threading.RLock = field(default_factory=threading.RLock)
    server: ServerTarget | None = None  # a Qdrant server index: where the Ray engine's actors write


_SHARED: dict[str, _Shared] = {}
_SHARED_LOCK = threading.RLock()


def _share_key(location: str | Path | None, url: str | None, qdrant: QdrantConfig | None) -> str | None:
    """What identifies an index in this process: the Edge folder's real path, or the server URL (with the
    collection prefix and tenant)."""
    if url is not None:
        return url if qdrant is None else f"{url}#{qdrant.prefix}/{qdrant.tenant or ''}"
    if str(location) == ":memory:":
        return None  # every in-memory index is its own
    from vrag.store import DEFAULT_INDEX

    return str(Path(location if location is not None else DEFAULT_INDEX).expanduser().resolve())


class VideoIndex:
    """A searchable index of videos. Open one with :meth:`open`; close it (or use ``with``).

    Example:
        >>> from vrag import VideoIndex
        >>> with VideoIndex.open(".vrag") as index:          # doctest: +SKIP
        ...     index.add(["talk.mp4"])
        ...     hits = index.search("the speaker shows a graph", k=5)
    """

    def __init__(
        self, store: Store, config: IndexConfig, channels: Channels, *, key: str | None = None,
        writing: threading.RLock | None = None, server: ServerTarget | None = None,
    ) -> None:  # fmt: skip
        from vrag.search import Retriever

        self._store, self.config, self._channels = store, config, channels
        self._server = server
        self.retriever: Retriever = Retriever(store, channels)
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
        qdrant: QdrantConfig | None = None,
        create: bool = True,
    ) -> VideoIndex:
        """Open (or create) an index.

        Reading an existing index loads no model until a query needs one, and settings that only shape
        ingest never stop it from being read: :meth:`add` is what refuses settings other than the index was
        built with (saying which differ).

        Args:
            location: index folder for the embedded Qdrant Edge store (default ``.vrag``), or
                ``":memory:"``.
            config: how to build (a new index) or how to run (device, batch sizes, workers). ``None``
                reuses the configuration an existing index was built with, or the defaults (plus ``VRAG_*``
                environment variables) for a new one.
            url: a Qdrant server / cluster instead of a folder (default: ``qdrant.url``).
            api_key: the server's API key (default: ``qdrant``'s).
            qdrant: server settings (``[qdrant]`` of vrag.toml): collection prefix, shards, replicas, write
                consistency, on-disk storage, tenant, timeout and retries.
            create: make a new index when there is none (``False``: a ``ConfigError``, so a mistyped path
                is not a new empty index; the framework adapters open this way).

        Any number of handles (in this process or others) may read one folder, beside one writer: reads see
        the last committed state. Writing (``add``, ``delete``, ...) takes the folder's writer lock for the
        duration of the call.

        Raises:
            ConfigError: no index there and ``create=False``.
            IndexLockedError: creating a new index while another process writes the folder.
            StoreError: the index cannot be opened.
        """
        from vrag.pipeline import Channels
        from vrag.pipeline._ray import ServerTarget
        from vrag.store import DEFAULT_INDEX, StoreSchema, open_store, read_schema_record

        if qdrant is not None and location is None:
            url, api_key = url or qdrant.url, api_key or qdrant.key()
        key = _share_key(location, url, qdrant)
        with _SHARED_LOCK:
            shared = _SHARED.get(key) if key else None
            if shared is not None:  # already open in this process: share its store and encoders
                if config is not None and config != shared.config:
                    raise ConfigError(
                        f"{key}: already open in this process with another configuration; close it first "
                        "or open it without a config to share it"
                    )
                shared.users += 1
                return cls(
                    shared.store, shared.config, shared.channels, key=key, writing=shared.writing,
                    server=shared.server,
                )  # fmt: skip
            record = read_schema_record(location, url=url, api_key=api_key, qdrant=qdrant)
            if record is None and not create:
                where = url or location or DEFAULT_INDEX
                raise ConfigError(
                    f"no vrag index at {where}: build one first (`vrag index VIDEOS... --index {where}` or "
                    f"`VideoIndex.open({str(where)!r}).add(videos)`), or pass an open VideoIndex"
                )
            if record is None:
                channels = Channels.build(config or load_config())
                schema = channels.schema()
            else:
                channels = Channels.from_record(record, config)
                schema = StoreSchema.from_record(record)
            store = open_store(location, schema=schema, url=url, api_key=api_key, qdrant=qdrant)
            server = ServerTarget(url, api_key, qdrant) if url else None
            shared = _Shared(store, channels.config, channels, server=server)
            if key:
                _SHARED[key] = shared
            return cls(
                store, channels.config, channels, key=key, writing=shared.writing, server=shared.server
            )

    @property
    def fingerprint(self) -> str:
        return self._store.schema.fingerprint

    def add(
        self, paths: str | Path | Iterable[str | Path], *, progress: bool | None = None,
        on_progress: ProgressCallback | None = None,
        engine: Literal["local", "ray"] = "local", ray_address: str | None = None,
        ray_actors: int | None = None,
    ) -> IngestReport:  # fmt: skip
        """Index videos (files or folders, scanned recursively). Already indexed files are skipped; a
        changed file replaces its old version; bad files are reported in the result, never raised.

        Args:
            paths: files and folders; with ``engine="ray"`` also fsspec URLs (``s3://bucket/videos/``).
            progress: show progress bars (default: when stderr is a terminal).
            on_progress: called with a :class:`vrag.pipeline.IngestProgress` after each step (videos and
                seconds done, the current file, an ETA), e.g. to stream progress to a web page.
            engine: ``"local"`` (worker processes on this machine) or ``"ray"`` (Ray Data: a local Ray
                runtime, or the cluster at ``ray_address``; needs ``vrag-video[ray]``). Both store the same
                index.
            ray_address: the Ray cluster to join (``"auto"``, ``"ray://HOST:10001"``).
            ray_actors: encoder actors (default: one per GPU of the cluster, else one).

        Raises:
            ConfigError: this handle's settings would store segments unlike the index's own (names them),
                or an unknown engine.
        """
        self._channels.check_ingest(self.config)
        items = [paths] if isinstance(paths, str | Path) else list(paths)
        with self._writing, self._store.writing():
            report = self._ingestor(engine, ray_address, ray_actors).run(
                items, progress=progress, on_progress=on_progress
            )
            try:
                self.build_video_vectors()
            except VragError as err:  # segments are stored and searchable; the next add() retries this
                log.warning("video-level vectors not built: %s", err)
                report = dataclasses.replace(report, notes=(*report.notes, f"video vectors not built: {err}"))
            if report.indexed:
                try:
                    self._store.optimize(min_unindexed=OPTIMIZE_AFTER)
                except StoreFullError as err:  # exact search still finds everything; the next add() retries
                    report = dataclasses.replace(report, notes=(*report.notes, f"not optimized: {err}"))
        return report

    def _ingestor(self, engine: str, address: str | None, actors: int | None) -> Any:
        if engine == "local":
            if address is not None or actors is not None:
                raise ConfigError("ray_address / ray_actors need engine='ray'")
            from vrag.pipeline import Ingestor

            return Ingestor(self._store, self._channels, self.config)
        if engine != "ray":
            raise ConfigError(f"unknown engine {engine!r}: use 'local' or 'ray'")
        from vrag.pipeline._ray import RayIngestor

        return RayIngestor(self._store, self.config, address=address, server=self._server, actors=actors)

    def build_video_vectors(self, *, rebuild: bool = False) -> list[BuildReport]:
        """Aggregate each video's segment vectors into its K video-level vectors (one set per video channel),
        for the videos that have none yet (all with ``rebuild``). ``add`` calls it; a crash between a
        video's commit and this step is made good by the next ``add``."""
        with self._writing, self._store.writing():
            return self._video_vectors().build(rebuild=rebuild)

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
        with self._writing, self._store.writing():
            return self._video_vectors().train(
                channel=channel, k=k, steps=steps, out_dir=out_dir, resume=resume, progress=progress
            )

    def search(
        self,
        query: str | None = None,
        *,
        image: str | os.PathLike[str] | None = None,
        clip: ClipQuery | None = None,
        options: SearchOptions | None = None,
        **settings: Any,
    ) -> list[Hit]:
        """The segments that best match a query, fused across channels by the engine.

        Give exactly one of ``query`` (words: every channel that takes text), ``image`` or ``clip`` (visual
        channels). Options are :class:`vrag.search.SearchOptions` fields, as keywords (``k=5``,
        ``video="talk.mp4"``, ``after="1:30"``, ``where={...}``, ``channels=["bm25"]``, ``rerank="sentence"``,
        ``mmr=0.3``, ``per_video=2``, ``expand=1``, ``merge=True``, ...) or as an ``options`` object that the
        keywords then amend.

        Returns:
            Hits, best first: a relevance ``score`` in [0, 1], the raw fused score and the score each channel
            gave (``Hit.channel_scores``).

        Raises:
            ConfigError: an unknown option (close names suggested) or an invalid value.
        """
        from vrag.search import Query, SearchOptions

        opts = SearchOptions.from_mapping(settings, base=options)
        return self.retriever.search(Query(query, image, clip), opts)

    def ask(
        self,
        question: str,
        *,
        k: int = 5,
        llm: Callable[[str], str] | None = None,
        video: str | Sequence[str] | None = None,
        rerank: str | Reranker | None = None,
        options: SearchOptions | None = None,
        steps: int = 1,
        min_support: float | None = None,
    ) -> Answer:
        """Answer ``question`` from the best ``k`` moments, with checked ``[video mm:ss–mm:ss]`` citations,
        or abstain ("Not found in the indexed videos.", no citation) when the evidence does not answer it.

        Citations point at the exact moment (cue) each quoted sentence comes from. A relation in time in the
        question ("what comes right after the part about X?") is searched inside the anchor's video (read
        by ``llm`` when one is given, else by the built-in parser).

        Args:
            question: what to answer.
            k: how many retrieved segments the answer may use.
            llm: a ``prompt -> text`` callable (``vrag.llm.resolve_llm`` makes one for an OpenAI-compatible
                server); without one the answer quotes the best evidence moments.
            video: only these videos (paths or ids).
            rerank: rescore the candidates first (see :meth:`search`).
            options: other search options for the evidence.
            steps: search steps (1–6): while the evidence does not answer, search again with sub-queries
                (from ``llm``, or the question's parts); ``Answer.trace`` lists every search.
            min_support: abstain below this evidence score (default :data:`vrag.search.MIN_SUPPORT`,
                calibrated for the bundled MiniLM text encoder).
        """
        from vrag.search import MIN_SUPPORT, SearchOptions, answer_with_llm, extractive_answer, gather

        opts = SearchOptions.from_mapping({"k": k, "video": video, "rerank": rerank}, base=options)
        if llm is not None and opts.decomposer is None:
            opts = opts.replace(decomposer=llm)
        floor = MIN_SUPPORT if min_support is None else min_support
        evidence, trace = gather(self.retriever, question, opts, steps=steps, llm=llm, min_support=floor)
        answer = (
            extractive_answer(question, evidence, min_support=floor)
            if llm is None
            else answer_with_llm(question, evidence, llm, min_support=floor)
        )
        return dataclasses.replace(answer, trace=trace)

    def videos(self) -> list[StoredVideo]:
        """Every indexed video (id, path, duration, segments, ...), in id order."""
        return list(self._store.iter_videos())

    def video(self, video_id: str) -> StoredVideo | None:
        """One indexed video by its id, or None."""
        return self._store.get_video(video_id)

    def segment(self, segment_id: str) -> StoredSegment | None:
        """One indexed segment by its point id (``Hit.id``), or None."""
        return self._store.get_segment(segment_id)

    def delete(self, videos: str | Sequence[str]) -> int:
        """Delete videos (paths, file names or ids) and all their segments; returns how many were deleted."""
        ids = self.retriever.video_ids([videos] if isinstance(videos, str) else videos)
        with self._writing, self._store.writing():
            for vid in ids:
                self._store.delete_video(vid)
        return len(ids)

    def check(self, *, repair: bool = False) -> CheckReport:
        """Verify every stored point and the video ledger against the segments present.

        Args:
            repair: also set aside what is damaged (see :meth:`vrag.store.Store.check`); ``add`` the paths in
                the report's ``reindex`` to index those videos again.
        """
        if not repair:
            return self._store.check()
        with self._writing, self._store.writing():
            return self._store.check(repair=True)

    def info(self) -> IndexInfo:
        """What the index holds (a note says so when the video records count segments that are missing)."""
        schema = self._store.schema
        segments = self._store.count_segments()
        counted = sum(v.n_segments for v in self._store.iter_videos())
        notes = [*self._channels.notes, *self._store.notes]
        if counted != segments:
            notes.append(
                f"the video records count {counted} segments but {segments} are present: run `vrag check`"
            )
        return IndexInfo(
            str(self._store.location), self._store.count_videos(), segments, schema.channels,
            schema.fingerprint, self.config.model_dump(mode="json"), tuple(notes),
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

    def _video_vectors(self) -> VideoVectors:
        from vrag.aggregate._index import VideoVectors

        folder = None if self._key is None or "://" in self._key else Path(self._key)
        return VideoVectors(self._store, self.config, folder, self._channels.text_channel)
