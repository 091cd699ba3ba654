"""Streaming, idempotent ingest (the local engine): plan + decode in worker processes, encode in batches,
write in batches.

Worker processes open each video, cut it into segments (shots → scenes, with its transcript and
on-screen text) and decode the clips each visual encoder asks for (its ``EncoderSpec`` says how many
frames, where, at what size). The main process keeps the encoders busy: it encodes clip batches as they
arrive (several segments at a time, across videos), and writes each video with the store's two-phase
commit, so a crash never leaves half a video visible and a re-run finishes the job. Futures in flight are
bounded, so memory stays flat however long the videos are.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from vrag.errors import StoreError, WorkerError
from vrag.pipeline._channels import resolve_ocr
from vrag.pipeline._plan import VideoPlan, decode_clips, encode_clips, forget_sources, init_worker, plan_video

if TYPE_CHECKING:
    from vrag.config import IndexConfig
    from vrag.encoders import EncoderSpec, TextEncoder, VideoEncoder
    from vrag.media import VideoSource
    from vrag.pipeline._channels import Channels
    from vrag.store import SegmentRecord, Store, VideoRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = [
    "Chunk", "FileFailure", "IngestProgress", "IngestReport", "Ingestor", "ProgressCallback",
    "ProgressTracker", "SegmentEncoder", "auto_workers", "chunk_rows", "decode_chunk", "video_record",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class FileFailure:
    """A file that could not be indexed: its path, the error class and the message (which says the fix)."""

    path: str
    error: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "error": self.error, "message": self.message}


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What ``VideoIndex.add`` did.

    Attributes:
        indexed: paths indexed by this run.
        skipped: paths already indexed with the same content and pipeline (nothing to do).
        failed: files that could not be indexed, with why.
        segments: segments written by this run.
        video_seconds: seconds of video indexed by this run.
        seconds: wall time of the run.
        notes: one-line notices (a channel skipped, a transcript missing, ...).
    """

    indexed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: tuple[FileFailure, ...] = ()
    segments: int = 0
    video_seconds: float = 0.0
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "indexed": list(self.indexed),
            "skipped": list(self.skipped),
            "failed": [f.to_dict() for f in self.failed],
            "segments": self.segments,
            "video_seconds": round(self.video_seconds, 3),
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }


# ------------------------------------------------------------------------------------------- main side


class _Inline(Executor):
    """Runs tasks at submit time (``workers=0``): same code path, no processes."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:
            future.set_exception(err)
        return future


@dataclass
class _Tally:
    indexed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    segments: int = 0
    video_seconds: float = 0.0

    def fail(self, path: str | Path, err: BaseException) -> None:
        self.failed.append(FileFailure(str(path), type(err).__name__, str(err)))
        log.info("%s failed: %s", path, err, exc_info=err)  # the report lists it; callers decide how loud


class Ingestor:
    """Writes videos into a store with an index's channels (``VideoIndex.add`` builds one).

    Args:
        store: the open store (its schema matches ``channels``).
        channels: the index's encoder channels (loaded here: ingest needs every encoder).
        config: how videos are cut and read (chunker, OCR, ASR) and how to run (batch, workers).
    """

    def __init__(self, store: Store, channels: Channels, config: IndexConfig) -> None:
        self.store = store
        self.encoder = SegmentEncoder(channels.visual, channels.text_channel, channels.text)
        self.fingerprint = store.schema.fingerprint
        self.chunker, self.chunk_options = config.chunker, dict(config.chunk_options)
        self.ocr, self.asr = resolve_ocr(config.ocr), config.asr
        self.batch, self.workers = config.encode_batch, config.workers
        self._by_path: dict[str, set[str]] = {}
        self._broke_pool: set[str] = set()

    def run(
        self, paths: Iterable[str | Path], *, progress: bool | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:  # fmt: skip
        """Index every video under ``paths``; bad files are reported and skipped, never fatal.

        Args:
            paths: files or folders (scanned recursively).
            progress: show progress bars (default: when stderr is a terminal).
            on_progress: called with an :class:`IngestProgress` after each step.
        """
        from vrag.media import scan_videos

        started, tally = time.perf_counter(), _Tally()
        scan = scan_videos(list(paths))
        for path, err in scan.failed:
            tally.fail(path, err)
        self._by_path = _ids_by_path(self.store)
        todo = self._todo(scan.videos, tally)
        show = sys.stderr.isatty() if progress is None else progress
        workers = auto_workers(sum(v.duration for v in todo)) if self.workers is None else self.workers
        try:
            with ProgressTracker(todo, show=show, on_progress=on_progress) as bar:
                while todo:
                    todo = self._drain(todo, workers, tally, bar)
        finally:
            forget_sources()
        self.store.purge_pending()  # segments of files that failed half-way (a store error keeps them hidden)
        return IngestReport(
            tuple(tally.indexed), tuple(tally.skipped), tuple(tally.failed), tally.segments,
            tally.video_seconds, time.perf_counter() - started, tuple(dict.fromkeys(tally.notes)),
        )  # fmt: skip

    def _drain(
        self, todo: Sequence[VideoSource], workers: int, tally: _Tally, bar: ProgressTracker
    ) -> list[VideoSource]:
        """Index ``todo`` with one worker pool; if a worker dies, fail the video it was on and return the
        videos not yet indexed (the caller starts a fresh pool for them)."""
        with _executor(workers, len(todo)) as pool:
            for k, (source, plan) in enumerate(_prefetch(pool, todo, self._plan_task, ahead=workers + 1)):
                try:
                    self._one(pool, source, plan, tally, bar)
                except BrokenProcessPool as err:
                    if source.video_id not in self._broke_pool:  # it may have been a prefetched file: retry
                        self._broke_pool.add(source.video_id)
                        return list(todo[k:])
                    tally.fail(source.path, WorkerError(source.path, str(err) or "a worker process died"))
                    bar.skip(source)
                    return list(todo[k + 1 :])
        return []

    def _todo(self, sources: Sequence[VideoSource], tally: _Tally) -> list[VideoSource]:
        todo, seen = [], set()
        for src in sources:
            if src.video_id in seen or self._current(src):
                tally.skipped.append(str(src.path))
                self._drop_old_versions(str(Path(src.path).resolve()), src.video_id)
            else:
                seen.add(src.video_id)
                todo.append(src)
        return todo

    def _current(self, src: VideoSource) -> bool:
        """Whether the index holds this video complete, made with this pipeline from this very content and
        these subtitle files: same size and time, or (when those changed) the same full-content hash. The same
        content found at another path is a duplicate: indexed once, as before."""
        from vrag.media._fingerprint import content_hash, source_facts

        video = self.store.get_video(src.video_id)
        if video is None or not self.store.has_video(src.video_id, self.fingerprint):
            return False
        if video.path != str(Path(src.path).resolve()):
            return True
        now = source_facts(src.path)
        if video.extra.get("sidecars", "") != now.sidecars:
            return False
        if (video.extra.get("size"), video.extra.get("mtime_ns")) == (now.size, now.mtime_ns):
            return True
        digest = content_hash(src.path)
        if video.hash and digest != video.hash:
            return False
        self.store.update_video(src.video_id, hash=digest, extra=now.to_extra())  # touched, or an old record
        return True

    def _plan_task(self, pool: Executor, source: VideoSource) -> Future[VideoPlan]:
        return pool.submit(plan_video, source, self.chunker, dict(self.chunk_options), self.ocr, self.asr)

    def _one(
        self,
        pool: Executor,
        source: VideoSource,
        plan: Future[VideoPlan],
        tally: _Tally,
        bar: ProgressTracker,
    ) -> None:
        try:
            done = plan.result()
            n = self._write(pool, done, bar)
        except (BrokenProcessPool, StoreError):  # not this file's fault: the pool or the index failed
            raise
        except Exception as err:  # a bad file (or a library failing on it) never stops the batch
            tally.fail(source.path, err)
            bar.skip(source)
            return
        tally.notes.append(f"{source.path.name}: {done.speech}")
        tally.indexed.append(str(source.path))
        tally.segments += n
        tally.video_seconds += done.duration
        self._drop_old_versions(done.path, done.video_id)

    def _write(self, pool: Executor, plan: VideoPlan, bar: ProgressTracker) -> int:
        self.store.begin_video(plan.video_id)
        bar.start_file(Path(plan.path).name, len(plan.segments), plan.duration)
        specs = [enc.spec for enc in self.encoder.visual.values()]

        def submit(rows: range) -> Future[Chunk]:
            return pool.submit(decode_chunk, plan, rows, specs)

        ahead = 2 if isinstance(pool, _Inline) else 4
        for rows, chunk in _prefetch(pool, chunk_rows(plan, self.batch), lambda _, r: submit(r), ahead=ahead):
            (records,) = self.encoder.encode([chunk.result()])
            self.store.add_segments(records)
            bar.advance(plan.segments[rows[-1]].end - plan.segments[rows[0]].start, len(rows))
        self.store.commit_video(video_record(plan))
        bar.end_file()
        return len(plan.segments)

    def _drop_old_versions(self, path: str, video_id: str) -> None:
        """A changed file replaces its old points: once its current version is committed (or found already
        indexed, e.g. after a crash right after the commit), delete other videos recorded at the same path."""
        for old in self._by_path.pop(path, set()) - {video_id}:
            self.store.delete_video(old)


# ------------------------------------------------------------------------------- the step engines share


@dataclass(frozen=True, slots=True)
class Chunk:
    """Some consecutive segments of one planned video with their decoded clips (one array per visual
    channel, ``[len(rows), T, H, W, 3]``): what a decoder hands an encoder, in any engine."""

    plan: VideoPlan
    rows: range
    clips: tuple[np.ndarray, ...]


def chunk_rows(plan: VideoPlan, batch: int) -> list[range]:
    """The plan's segments in runs of ``batch`` (the unit decoded and written together)."""
    n = len(plan.segments)
    return [range(i, min(i + batch, n)) for i in range(0, n, batch)]


def decode_chunk(plan: VideoPlan, rows: range, specs: Sequence[EncoderSpec]) -> Chunk:
    """Decode the clips of ``plan.segments[rows]`` for each visual encoder spec (worker side)."""
    spans = [(plan.segments[i].start, plan.segments[i].end) for i in rows]
    return Chunk(plan, rows, tuple(decode_clips(plan.path, plan.video_id, spans, specs)))


def video_record(plan: VideoPlan) -> VideoRecord:
    """The record ``commit_video`` writes for a planned video."""
    from vrag.store import VideoRecord

    digest = plan.source.hash if plan.source else ""  # the full-content hash, for exact change detection
    return VideoRecord(plan.video_id, plan.path, plan.duration, digest, extra=_video_extra(plan))


class SegmentEncoder:
    """Chunks in, segment records out: visual vectors (clips of several videos batched together when their
    decoded sizes match), text vectors of speech + on-screen text, the payload. Both engines call it, so
    they store the same segments.

    Args:
        visual: channel → visual encoder.
        text_channel: the text channel's name (None: no text vectors).
        text: the text encoder.
    """

    def __init__(
        self, visual: Mapping[str, VideoEncoder], text_channel: str | None, text: TextEncoder | None
    ) -> None:
        self.visual, self.text_channel, self.text = dict(visual), text_channel, text

    def encode(self, chunks: Sequence[Chunk]) -> list[list[SegmentRecord]]:
        """The records of each chunk, in order (one encoder call per channel and clip size)."""
        texts = [self._texts(c.plan, c.rows) for c in chunks]
        flat = [t for part in texts for t in part]
        found = self._text_vectors(flat)
        vectors = self._visual_vectors(chunks)
        out, at = [], 0
        for chunk, part, vecs in zip(chunks, texts, vectors, strict=True):
            text_vecs = {i: found[at + j] for j, i in enumerate(chunk.rows) if at + j in found}
            at += len(part)
            by_row = dict(zip(chunk.rows, part, strict=True))
            out.append(self._records(chunk.plan, chunk.rows, by_row, text_vecs, vecs))
        return out

    def _visual_vectors(self, chunks: Sequence[Chunk]) -> list[dict[str, np.ndarray]]:
        out: list[dict[str, np.ndarray]] = [{} for _ in chunks]
        for k, (channel, enc) in enumerate(self.visual.items()):
            groups: dict[tuple[int, ...], list[int]] = {}
            for i, chunk in enumerate(chunks):
                groups.setdefault(chunk.clips[k].shape[1:], []).append(i)
            for members in groups.values():
                clips = np.concatenate([chunks[i].clips[k] for i in members])
                for name, vecs in encode_clips(channel, enc, clips).items():
                    at = 0
                    for i in members:
                        n = len(chunks[i].rows)
                        out[i][name] = vecs[at : at + n]
                        at += n
        return out

    def _texts(self, plan: VideoPlan, rows: range) -> list[str]:
        screen = plan.ocr_text or ("",) * len(plan.segments)
        return ["\n".join(t for t in (plan.segments[i].text, screen[i]) if t) for i in rows]

    def _text_vectors(self, texts: Sequence[str]) -> dict[int, np.ndarray]:
        rows = [i for i, t in enumerate(texts) if t.strip()]
        if self.text is None or not rows:
            return {}
        vecs = self.text.encode_document([texts[i] for i in rows])
        return dict(zip(rows, vecs, strict=True))

    def _records(
        self, plan: VideoPlan, rows: range, texts: Mapping[int, str], text_vecs: Mapping[int, np.ndarray],
        vectors: Mapping[str, np.ndarray],
    ) -> list[SegmentRecord]:  # fmt: skip
        from vrag._cues import pack_cues
        from vrag.store import SegmentRecord

        out = []
        for j, i in enumerate(rows):
            seg = plan.segments[i]
            vecs = {ch: v[j] for ch, v in vectors.items()}
            if self.text_channel and i in text_vecs:
                vecs[self.text_channel] = text_vecs[i]
            extra: dict[str, Any] = {"speech": seg.text, "ocr": plan.ocr_text[i] if plan.ocr_text else ""}
            if cues := pack_cues(seg.cues, seg.text):  # per-cue times: search points at the moment
                extra["cues"] = cues
            shots = tuple((s.start, s.end) for s in seg.shots)
            out.append(
                SegmentRecord(
                    plan.video_id,
                    plan.path,
                    seg.start,
                    seg.end,
                    vecs,
                    text=texts[i],
                    keyframes=seg.keyframes,
                    shots=shots,
                    extra=extra,
                )
            )
        return out


def _ids_by_path(store: Store) -> dict[str, set[str]]:
    by_path: dict[str, set[str]] = {}
    for video in store.iter_videos():
        by_path.setdefault(video.path, set()).add(video.video_id)
    return by_path


def auto_workers(video_seconds: float) -> int:
    """Worker processes for a job: none under 5 minutes of video, else one per spare core (at most 4)."""
    return 0 if video_seconds < 300 else max(1, min(4, (os.cpu_count() or 2) - 1))


def _executor(workers: int, jobs: int) -> Executor:
    if jobs == 0:
        return _Inline()
    if workers == 0:  # no process to start: one thread plans and decodes while this one encodes and writes
        return ThreadPoolExecutor(1, thread_name_prefix="vrag-plan")
    # spawn, not fork: a forked child deadlocked in FFmpeg threads inherited from the parent (seen here)
    ctx = get_context("spawn")
    return ProcessPoolExecutor(
        min(workers, jobs), mp_context=ctx, initializer=init_worker, initargs=(os.getpid(),)
    )


def _video_extra(plan: VideoPlan) -> dict[str, Any]:
    facts = plan.source.to_extra() if plan.source else {}
    return {
        "width": plan.width, "height": plan.height, "segments": len(plan.segments), "speech": plan.speech,
        **facts,
    }  # fmt: skip


def _prefetch(
    pool: Executor, items: Sequence[T], submit: Callable[[Executor, T], Future[Any]], *, ahead: int
) -> Iterator[tuple[T, Future[Any]]]:
    """Yield ``(item, future)`` in order, keeping up to ``ahead`` tasks submitted in advance."""
    queue: deque[tuple[T, Future[Any]]] = deque()
    for item in items:
        queue.append((item, submit(pool, item)))
        if len(queue) > ahead:
            yield queue.popleft()
    while queue:
        yield queue.popleft()


ProgressCallback = Callable[["IngestProgress"], None]
"""Receives an :class:`IngestProgress` after each step of an ingest run (``VideoIndex.add(on_progress=)``)."""


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """Where an ingest run stands: what a progress callback receives, from any engine.

    Attributes:
        videos: videos this run indexes (files already indexed are not counted).
        videos_done: of those, the ones finished (indexed or failed).
        seconds: seconds of video this run indexes.
        seconds_done: of those, the seconds done.
        elapsed: wall seconds since the run started.
        failed: files that failed so far.
        current: the file being written (its name), if any.
        segments: segments of the current file.
        segments_done: of those, the ones written.
    """

    videos: int
    videos_done: int = 0
    seconds: float = 0.0
    seconds_done: float = 0.0
    elapsed: float = 0.0
    failed: int = 0
    current: str | None = None
    segments: int = 0
    segments_done: int = 0

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far (``None`` until some video is done)."""
        if self.seconds_done <= 0 or self.elapsed <= 0:
            return None
        return max(self.seconds - self.seconds_done, 0.0) * self.elapsed / self.seconds_done

    def to_dict(self) -> dict[str, Any]:
        eta = self.eta
        return {
            "videos": self.videos, "videos_done": self.videos_done, "seconds": round(self.seconds, 3),
            "seconds_done": round(self.seconds_done, 3), "elapsed": round(self.elapsed, 3),
            "eta": None if eta is None else round(eta, 3), "failed": self.failed, "current": self.current,
            "segments": self.segments, "segments_done": self.segments_done,
        }  # fmt: skip


class ProgressTracker:
    """The progress of one ingest run, told to listeners as an :class:`IngestProgress` after each step.

    An engine calls :meth:`start_file`, :meth:`advance`, :meth:`end_file` and :meth:`skip`; the listeners
    are the terminal bars (``show``) and the caller's ``on_progress``. A listener that raises is dropped
    with a warning (a progress display never stops an ingest).
    """

    def __init__(
        self, todo: Sequence[VideoSource], *, show: bool = False, on_progress: ProgressCallback | None = None
    ) -> None:
        self._started = time.perf_counter()
        self._state = IngestProgress(videos=len(todo), seconds=sum(v.duration for v in todo))
        self._file_seconds, self._file_done = 0.0, 0.0  # the current file's duration and seconds done
        self._listeners: list[ProgressCallback] = []
        if show and todo:
            self._listeners.append(_Bars())
        if on_progress is not None:
            self._listeners.append(on_progress)
        self._tell()

    @property
    def state(self) -> IngestProgress:
        return self._state

    def start_file(self, name: str, segments: int, seconds: float) -> None:
        self._file_seconds, self._file_done = seconds, 0.0
        self._tell(current=name, segments=segments, segments_done=0)

    def advance(self, seconds: float, segments: int = 0) -> None:
        self._file_done += seconds
        s = self._state
        self._tell(
            seconds_done=min(s.seconds_done + seconds, s.seconds), segments_done=s.segments_done + segments
        )

    def end_file(self) -> None:
        """The current file is written: it counts as done, with all its seconds."""
        self._finish(self._file_seconds)

    def skip(self, source: VideoSource) -> None:
        """A file failed (before or while it was written): it counts as done, with all its seconds."""
        self._finish(source.duration, failed=1)

    def _finish(self, seconds: float, failed: int = 0) -> None:
        s = self._state
        rest = max(seconds - self._file_done, 0.0)
        self._file_seconds, self._file_done = 0.0, 0.0
        self._tell(
            videos_done=s.videos_done + 1, seconds_done=min(s.seconds_done + rest, s.seconds),
            failed=s.failed + failed, current=None, segments=0, segments_done=0,
        )  # fmt: skip

    def _tell(self, **changes: Any) -> None:
        changes["elapsed"] = time.perf_counter() - self._started
        self._state = dataclasses.replace(self._state, **changes)
        for listener in list(self._listeners):
            try:
                listener(self._state)
            except Exception as err:
                log.warning("progress listener %r dropped: %s", listener, err, exc_info=err)
                self._listeners.remove(listener)

    def __enter__(self) -> ProgressTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        for listener in self._listeners:
            if isinstance(listener, _Bars):
                listener.close()


class _Bars:
    """Two bars on a TTY: overall seconds of video with ETA, and the current file's segments."""

    def __init__(self) -> None:
        self._total: Any = None
        self._file: Any = None
        self._name: str | None = None

    def __call__(self, p: IngestProgress) -> None:
        from tqdm.auto import tqdm

        if self._total is None:
            self._total = tqdm(
                total=round(p.seconds, 1), unit="s", desc=f"indexing {p.videos} videos", position=0
            )
        self._total.update(round(p.seconds_done, 1) - self._total.n)
        if p.current != self._name:
            self._close_file()
            self._name = p.current
            if p.current is not None:
                self._file = tqdm(total=p.segments, unit="seg", desc=p.current, position=1, leave=False)
        if self._file is not None:
            self._file.update(p.segments_done - self._file.n)

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        self._close_file()
        if self._total is not None:
            self._total.close()
