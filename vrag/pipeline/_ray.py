"""The Ray engine (``VideoIndex.add(paths, engine="ray")``, ``vrag index --engine ray``): a node or a cluster.

A Ray Data plan over the same per-video work as the local engine (extra ``vrag-video[ray]``)::

    list files (driver) ─► scan: probe + content id (CPU tasks) ─► driver drops what is indexed already
    ─► plan: transcript, shots, segments, OCR (CPU tasks) ─► decode each chunk's clips (CPU tasks)
    ─► encode: ``map_batches`` over an actor pool (one model load per actor; ``num_gpus`` per actor when the
       cluster has GPUs; clips of several videos share a forward pass) ─► write

Writes keep the local engine's contract: the same deterministic point ids, payloads and vectors (the actors
run :class:`~vrag.pipeline._ingest.SegmentEncoder`), and a two-phase commit per video. With a Qdrant server
(``url=``) the actors write their segments in parallel under the run's generation token and the driver
commits each video once all its chunks are written; with the embedded Edge index the driver is the one
writer (an index folder is never opened by two processes). Ray Data's streaming executor bounds the blocks
in flight, so memory stays flat. Killing the driver leaves nothing half-visible; running again finishes the
job, and a video already indexed is not planned again.

Paths may be local files and folders or fsspec URLs (``s3://bucket/videos/``, ``gs://...``; install the
filesystem package, e.g. ``s3fs``): each task copies a remote video (and its subtitle sidecars) into a
per-node cache before reading it, and the index records the URL.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrag.errors import ConfigError, ModelUnavailableError
from vrag.pipeline._ingest import (
    Chunk,
    FileFailure,
    IngestReport,
    ProgressCallback,
    ProgressTracker,
    SegmentEncoder,
    _Tally,
    chunk_rows,
    decode_chunk,
    video_record,
)
from vrag.pipeline._plan import VideoPlan, plan_video

if TYPE_CHECKING:
    from vrag.config import IndexConfig, QdrantConfig
    from vrag.encoders import EncoderSpec
    from vrag.store import Store

log = logging.getLogger(__name__)

__all__ = ["RayIngestor", "list_videos"]

INSTALL_HINT = "pip install 'vrag-video[ray]'"
CACHE_ENV = "VRAG_STAGE_DIR"


@dataclass(frozen=True, slots=True)
class Scanned:
    """A listed file after the scan task: its content id and duration (for the progress bar)."""

    path: str
    video_id: str
    duration: float


@dataclass(frozen=True, slots=True)
class ServerTarget:
    """Where actors write in parallel: a Qdrant server or cluster (``open_store(url=...)`` arguments)."""

    url: str
    api_key: str | None = None
    qdrant: QdrantConfig | None = None


class RayIngestor:
    """Index videos with Ray Data (see the module docstring).

    Args:
        store: the open store (the driver reads it, commits videos, and writes segments when it is an Edge
            index).
        config: how videos are cut and read, and how to run (``encode_batch`` segments per chunk).
        address: the Ray cluster to join (``"auto"``, ``"ray://HOST:10001"``); None: an already initialised
            runtime, else a local one started here (and shut down after the run).
        server: a Qdrant server the actors may write to themselves (None: the driver writes).
        actors: encoder actors (default: one per GPU of the cluster, else one).
        chunks_per_batch: chunks an actor encodes together (clips of several videos per forward pass).
    """

    def __init__(
        self, store: Store, config: IndexConfig, *, address: str | None = None,
        server: ServerTarget | None = None, actors: int | None = None, chunks_per_batch: int = 4,
    ) -> None:  # fmt: skip
        self.store, self.config = store, config  # the driver loads no model: the actors do
        self.address, self.server, self.actors = address, server, actors
        self.chunks_per_batch = chunks_per_batch
        self.fingerprint = store.schema.fingerprint
        self._by_path: dict[str, set[str]] = {}

    def run(
        self, paths: Iterable[str | Path], *, progress: bool | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:  # fmt: skip
        """Index every video under ``paths``; bad files are reported and skipped, never fatal.

        Args:
            paths: files, folders or fsspec URLs.
            progress: show the terminal bars (default: on a terminal).
            on_progress: called with an :class:`IngestProgress` after each step (as the local engine does).
        """
        started, tally = time.perf_counter(), _Tally()
        files = list_videos([str(p) for p in paths])
        show = sys.stderr.isatty() if progress is None else progress  # before Ray wraps sys.stderr
        with _RayRuntime(self.address) as ray:
            todo = self._scan(ray, files, tally)
            try:
                with ProgressTracker(todo, show=show, on_progress=on_progress) as bar:  # type: ignore[arg-type]
                    if todo:
                        self._stream(ray, todo, tally, bar)
            finally:
                self.store.purge_pending()
        return IngestReport(
            tuple(tally.indexed), tuple(tally.skipped), tuple(tally.failed), tally.segments,
            tally.video_seconds, time.perf_counter() - started, tuple(dict.fromkeys(tally.notes)),
        )  # fmt: skip

    # ----------------------------------------------------------------- driver side

    def _scan(self, ray: Any, files: Sequence[str], tally: _Tally) -> list[Scanned]:
        """Content ids in parallel; then, as the local engine does, skip files already indexed (and drop
        older versions recorded at their path) and index each distinct content once."""
        if not files:
            return []
        ds = ray.data.from_items([{"path": f} for f in files], override_num_blocks=min(len(files), 64))
        rows = ds.map(_scan_row, num_cpus=1).take_all()
        done: set[str] = set()
        by_path: dict[str, set[str]] = {}
        for video in self.store.iter_videos():
            by_path.setdefault(video.path, set()).add(video.video_id)
            if self.store.has_video(video.video_id, self.fingerprint):  # complete: lost segments re-index
                done.add(video.video_id)
        todo, seen = [], set()
        for row in sorted(rows, key=lambda r: r["path"]):
            found = pickle.loads(row["blob"])
            if isinstance(found, FileFailure):
                tally.failed.append(found)
            elif found.video_id in seen or found.video_id in done:
                tally.skipped.append(found.path)
                self._drop_old(by_path, found)
            else:
                seen.add(found.video_id)
                todo.append(found)
        self._by_path = by_path
        return todo

    def _stream(self, ray: Any, todo: Sequence[Scanned], tally: _Tally, bar: ProgressTracker) -> None:
        token = uuid.uuid4().hex  # this run's generation: every writer of a video uses it
        specs = _visual_specs(ray, self.store.schema.to_record(), self.config)
        ds = ray.data.from_items(
            [{"path": s.path, "video_id": s.video_id} for s in todo], override_num_blocks=len(todo)
        )
        options = {
            "chunker": self.config.chunker, "options": dict(self.config.chunk_options),
            "ocr": _resolve_ocr(self.config.ocr), "asr": self.config.asr,
        }  # fmt: skip
        ds = ds.map(_plan_row, fn_kwargs=options, num_cpus=1)
        ds = ds.flat_map(
            _decode_rows, fn_kwargs={"specs": specs, "batch": self.config.encode_batch}, num_cpus=1
        )
        gpus = _cluster_gpus(ray)
        actors = self.actors or max(1, int(gpus))
        ds = ds.map_batches(
            _EncodeActor,
            fn_constructor_kwargs={
                "record": self.store.schema.to_record(),
                "config": self.config.model_dump(mode="json"),
                "server": self.server,
                "token": token,
            },
            batch_size=self.chunks_per_batch,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
            num_gpus=1 if gpus else 0,
            num_cpus=1,
        )
        writer = _DriverWriter(self, token, tally, bar, {s.video_id: s for s in todo})
        for row in ds.iter_rows():
            writer.take(row)

    def _drop_old(self, by_path: dict[str, set[str]], video: Scanned) -> None:
        """A changed file replaces its old points once its current version is committed (or found indexed)."""
        for old in by_path.pop(video.path, set()) - {video.video_id}:
            self.store.delete_video(old)


class _DriverWriter:
    """The driver's half of the writer contract: begin each video with the run's token, write the chunks'
    records (Edge) or count the chunks the actors wrote (server); commit a video when all its chunks are
    in."""

    def __init__(
        self,
        engine: RayIngestor,
        token: str,
        tally: _Tally,
        bar: ProgressTracker,
        todo: Mapping[str, Scanned],
    ) -> None:
        self.engine, self.store, self.token, self.tally, self.bar = engine, engine.store, token, tally, bar
        self.todo = todo
        self.written: dict[str, int] = {}
        self.failed: set[str] = set()

    def take(self, row: Mapping[str, Any]) -> None:
        item = pickle.loads(row["blob"])
        if row["kind"] == "failed":
            self._fail(str(row["path"]), str(row["video_id"]), item)
            return
        plan, rows, n_chunks, records = item
        if plan.video_id in self.failed:
            return
        if plan.video_id not in self.written:
            self.store.begin_video(plan.video_id, generation=self.token)
            self.written[plan.video_id] = 0
            self.bar.start_file(Path(plan.path).name, len(plan.segments), plan.duration)
        if records is not None:
            self.store.add_segments(records)
        self.written[plan.video_id] += 1
        self.bar.advance(plan.segments[rows[-1]].end - plan.segments[rows[0]].start, len(rows))
        if self.written[plan.video_id] == n_chunks:
            self._commit(plan)

    def _commit(self, plan: VideoPlan) -> None:
        self.store.commit_video(video_record(plan))
        log.info("%s: indexed (%d segments)", plan.path, len(plan.segments))
        self.bar.end_file()
        self.tally.notes.append(f"{Path(plan.path).name}: {plan.speech}")
        self.tally.indexed.append(plan.path)
        self.tally.segments += len(plan.segments)
        self.tally.video_seconds += plan.duration
        self.engine._drop_old(self.engine._by_path, Scanned(plan.path, plan.video_id, plan.duration))

    def _fail(self, path: str, video_id: str, failure: FileFailure) -> None:
        if video_id in self.failed:
            return
        self.failed.add(video_id)
        self.tally.failed.append(failure)
        if video_id in self.todo:
            self.bar.skip(self.todo[video_id])  # type: ignore[arg-type]  # Scanned has the duration it reads


# ------------------------------------------------------------------------------------------- tasks


def _scan_row(row: dict[str, Any]) -> dict[str, Any]:
    """Probe one file and compute its content id (a bad file becomes an error, never a crash)."""
    from vrag.media import open_video

    path = row["path"]
    try:
        with open_video(_local(path)) as video:
            found: Any = Scanned(_stored_path(path), video.video_id, video.duration)
    except Exception as err:  # a bad file (or a library failing on it)
        found = _failure(_stored_path(path), err)
    return {"path": _stored_path(path), "blob": pickle.dumps(found)}


def _plan_row(
    row: dict[str, Any], *, chunker: str, options: dict[str, Any], ocr: bool, asr: Any
) -> dict[str, Any]:
    """Plan one video: transcript, segments, on-screen text (the local engine's ``plan_video``)."""
    from vrag.errors import MediaError
    from vrag.media import open_video

    path, video_id = row["path"], row["video_id"]
    try:
        video = open_video(_local(path))
        if video.video_id != video_id:
            raise MediaError(path, "the file changed while it was being indexed", "index it again")
        plan = replace(plan_video(video, chunker, options, ocr, asr), path=path)
        return {"kind": "plan", "path": path, "video_id": video_id, "blob": pickle.dumps(plan)}
    except Exception as err:
        return _failed(path, video_id, err)


def _decode_rows(
    row: dict[str, Any], *, specs: Sequence[EncoderSpec], batch: int
) -> Iterator[dict[str, Any]]:
    """One row per chunk of a planned video, with its decoded clips; errors pass through as rows."""
    if row["kind"] != "plan":
        yield row
        return
    plan: VideoPlan = pickle.loads(row["blob"])
    local = replace(plan, path=_local(plan.path))
    chunks = chunk_rows(plan, batch)
    for rows in chunks:
        try:
            chunk = decode_chunk(local, rows, specs)
        except Exception as err:
            yield _failed(plan.path, plan.video_id, err)
            return
        blob = pickle.dumps((Chunk(plan, rows, chunk.clips), len(chunks)), protocol=5)
        yield {"kind": "chunk", "path": plan.path, "video_id": plan.video_id, "blob": blob}


class _EncodeActor:
    """A pool member: loads the index's encoders once, encodes batches of chunks (videos mixed), and writes
    them itself to a Qdrant server, or hands the records back for the driver to write (Edge)."""

    def __init__(
        self, record: dict[str, Any], config: dict[str, Any], server: ServerTarget | None, token: str
    ) -> None:
        from vrag.config import IndexConfig
        from vrag.pipeline._channels import Channels

        channels = Channels.from_record(record, IndexConfig(**config))
        self.encoder = SegmentEncoder(channels.visual, channels.text_channel, channels.text)
        self.token = token
        self.store = None
        if server is not None:
            from vrag.store import StoreSchema, open_store

            schema = StoreSchema.from_record(record)
            self.store = open_store(
                schema=schema, url=server.url, api_key=server.api_key, qdrant=server.qdrant
            )

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"kind": [], "path": [], "video_id": [], "blob": []}
        chunks: list[tuple[Chunk, int]] = []
        for kind, path, video_id, blob in zip(
            batch["kind"], batch["path"], batch["video_id"], batch["blob"], strict=True
        ):
            if kind == "chunk":
                chunks.append(pickle.loads(blob))
            else:
                self._emit(out, kind, path, video_id, blob)
        for chunk, n, records in self._encode(chunks, out):
            if self.store is not None:
                self.store.begin_video(chunk.plan.video_id, generation=self.token)
                self.store.add_segments(records)
                sent: Any = None
            else:
                sent = records
            item = (chunk.plan, chunk.rows, n, sent)
            self._emit(out, "encoded", chunk.plan.path, chunk.plan.video_id, pickle.dumps(item, protocol=5))
        return out

    def _encode(
        self, chunks: Sequence[tuple[Chunk, int]], out: dict[str, list[Any]]
    ) -> Iterator[tuple[Chunk, int, list[Any]]]:
        """All chunks in one pass; if that fails, each alone, so one bad video fails only itself."""
        try:
            done = self.encoder.encode([c for c, _ in chunks]) if chunks else []
            yield from ((c, n, r) for (c, n), r in zip(chunks, done, strict=True))
            return
        except Exception:
            if len(chunks) == 1:
                raise
        for chunk, n in chunks:
            try:
                (records,) = self.encoder.encode([chunk])
            except Exception as err:
                failed = _failed(chunk.plan.path, chunk.plan.video_id, err)
                self._emit(out, "failed", failed["path"], failed["video_id"], failed["blob"])
                continue
            yield chunk, n, records

    @staticmethod
    def _emit(out: dict[str, list[Any]], kind: str, path: str, video_id: str, blob: bytes) -> None:
        for key, value in (("kind", kind), ("path", path), ("video_id", video_id), ("blob", blob)):
            out[key].append(value)


def _failed(path: str, video_id: str, err: Exception) -> dict[str, Any]:
    return {"kind": "failed", "path": path, "video_id": video_id, "blob": pickle.dumps(_failure(path, err))}


def _failure(path: str, err: BaseException) -> FileFailure:
    """What the report lists (errors travel as plain data: not every exception survives pickling)."""
    from vrag.errors import MediaError, VragError

    if not isinstance(err, VragError):
        err = MediaError(path, f"{type(err).__name__}: {err}", "check the file (it may be damaged)")
    log.info("%s failed: %s", path, err, exc_info=err)
    return FileFailure(path, type(err).__name__, str(err))


def _visual_specs(ray: Any, record: dict[str, Any], config: IndexConfig) -> list[EncoderSpec]:
    """The visual encoders' data contracts (what to decode), read by a CPU task: the driver loads no model."""

    def specs(record: dict[str, Any], config: dict[str, Any]) -> list[EncoderSpec]:
        from vrag.config import IndexConfig
        from vrag.pipeline._channels import Channels

        channels = Channels.from_record(record, IndexConfig(**{**config, "device": "cpu", "dtype": None}))
        return [enc.spec for enc in channels.visual.values()]

    task = ray.remote(num_cpus=1, num_gpus=0)(specs)
    return list(ray.get(task.remote(record, config.model_dump(mode="json"))))


def _resolve_ocr(mode: str) -> bool:
    from vrag.pipeline._channels import resolve_ocr

    return resolve_ocr(mode)


def _cluster_gpus(ray: Any) -> float:
    return float(ray.cluster_resources().get("GPU", 0.0))


# ------------------------------------------------------------------------------------------- runtime


class _RayRuntime:
    """``ray`` initialised for the run: join ``address``, reuse a runtime already up, or start a local one
    (small object store, no dashboard) and shut it down afterwards."""

    def __init__(self, address: str | None) -> None:
        self.address, self.started = address, False

    def __enter__(self) -> Any:
        try:
            import ray
            import ray.data
        except ImportError as err:
            raise ModelUnavailableError(
                f"the Ray engine needs Ray, which is not installed: {INSTALL_HINT}"
            ) from err
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if self.address is None:  # our own runtime, never one found on this machine (that is `auto`)
                kwargs["object_store_memory"] = 512 * 2**20
            try:
                ray.init(address=self.address or "local", **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise ConfigError(
                    f"cannot join the Ray cluster at {self.address!r} ({err}); start it with `ray start "
                    "--head` or pass --ray-address auto / ray://HOST:10001"
                ) from err
            self.started = True
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the driver shows vrag's own bar
        ctx.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        return ray

    def __exit__(self, *exc: object) -> None:
        if self.started:
            import ray

            ray.shutdown()


# ------------------------------------------------------------------------------------------- files


def list_videos(paths: Sequence[str]) -> list[str]:
    """The video files under ``paths`` (local files/folders or fsspec URLs), each once, in order."""
    from vrag.media import video_files
    from vrag.media._probe import VIDEO_EXTENSIONS

    out: list[str] = []
    for path in paths:
        if "://" not in path or path.startswith("file://"):
            local = path.removeprefix("file://")
            out += [str(p.resolve()) for p in video_files(local)]
            continue
        fs, root = _fs(path)
        if fs.isdir(root):
            names = sorted(p for p in fs.find(root) if Path(p).suffix.lower() in VIDEO_EXTENSIONS)
            out += [fs.unstrip_protocol(p) for p in names if not Path(p).name.startswith(".")]
        else:
            out.append(path)
    return list(dict.fromkeys(out))


def _fs(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError as err:
        raise ConfigError(f"{url}: URLs need fsspec: {INSTALL_HINT}") from err
    try:
        fs, root = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as err:
        raise ConfigError(
            f"{url}: no filesystem for this URL ({err}); install its fsspec package (s3fs, gcsfs, ...)"
        ) from err
    return fs, root


def _stored_path(path: str) -> str:
    """What the index records: the absolute path of a local file, the URL of a remote one."""
    if "://" not in path or path.startswith("file://"):
        return str(Path(path.removeprefix("file://")).resolve())
    return path


def _local(path: str) -> str:
    """A local file for ``path``: itself, or a remote video (and its subtitle sidecars) copied once into this
    node's cache (``$VRAG_STAGE_DIR``, default a ``vrag-stage`` folder in the temp dir)."""
    if "://" not in path or path.startswith("file://"):
        return path.removeprefix("file://")
    fs, remote = _fs(path)
    folder = Path(os.environ.get(CACHE_ENV) or Path(tempfile.gettempdir()) / "vrag-stage")
    target = folder / hashlib.sha1(path.encode()).hexdigest()[:16] / Path(remote).name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        stem = remote.rsplit(".", 1)[0]
        for name in [
            remote,
            *(p for p in fs.glob(stem + ".*") if p.rsplit(".", 1)[-1].lower() in {"srt", "vtt"}),
        ]:
            part = target.parent / f".{Path(name).name}.part"
            fs.get(name, str(part))
            part.rename(target.parent / Path(name).name)
    return str(target)
