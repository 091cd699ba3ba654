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

import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from vrag.errors import WorkerError
from vrag.pipeline._channels import resolve_ocr
from vrag.pipeline._plan import VideoPlan, decode_clips, encode_clips, forget_sources, init_worker, plan_video

if TYPE_CHECKING:
    from vrag.config import IndexConfig
    from vrag.encoders import VideoEncoder
    from vrag.media import VideoSource
    from vrag.pipeline._channels import Channels
    from vrag.store import SegmentRecord, Store

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["FileFailure", "IngestReport", "Ingestor", "auto_workers"]


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
        self.visual: Mapping[str, VideoEncoder] = channels.visual
        self.text_channel, self.text = channels.text_channel, channels.text
        self.fingerprint = store.schema.fingerprint
        self.chunker, self.chunk_options = config.chunker, dict(config.chunk_options)
        self.ocr, self.asr = resolve_ocr(config.ocr), config.asr
        self.batch, self.workers = config.encode_batch, config.workers
        self._by_path: dict[str, set[str]] = {}
        self._broke_pool: set[str] = set()

    def run(self, paths: Iterable[str | Path], *, progress: bool | None = None) -> IngestReport:
        """Index every video under ``paths``; bad files are reported and skipped, never fatal."""
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
            with _Progress(todo, show) as bar:
                while todo:
                    todo = self._drain(todo, workers, tally, bar)
        finally:
            forget_sources()
            self.store.purge_pending()  # segments of files that failed half-way
        return IngestReport(
            tuple(tally.indexed), tuple(tally.skipped), tuple(tally.failed), tally.segments,
            tally.video_seconds, time.perf_counter() - started, tuple(dict.fromkeys(tally.notes)),
        )  # fmt: skip

    def _drain(
        self, todo: Sequence[VideoSource], workers: int, tally: _Tally, bar: _Progress
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
            if src.video_id in seen or self.store.has_video(src.video_id, self.fingerprint):
                tally.skipped.append(str(src.path))
                self._drop_old_versions(str(Path(src.path).resolve()), src.video_id)
            else:
                seen.add(src.video_id)
                todo.append(src)
        return todo

    def _plan_task(self, pool: Executor, source: VideoSource) -> Future[VideoPlan]:
        return pool.submit(plan_video, source, self.chunker, dict(self.chunk_options), self.ocr, self.asr)

    def _one(
        self, pool: Executor, source: VideoSource, plan: Future[VideoPlan], tally: _Tally, bar: _Progress
    ) -> None:
        try:
            done = plan.result()
            n = self._write(pool, done, bar)
        except BrokenProcessPool:
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

    def _write(self, pool: Executor, plan: VideoPlan, bar: _Progress) -> int:
        from vrag.store import VideoRecord

        self.store.begin_video(plan.video_id)
        bar.start_file(Path(plan.path).name, len(plan.segments))
        texts = self._texts(plan)
        text_vecs = self._text_vectors(texts)
        specs = [enc.spec for enc in self.visual.values()]
        spans = [(s.start, s.end) for s in plan.segments]
        batches = [range(i, min(i + self.batch, len(spans))) for i in range(0, len(spans), self.batch)]

        def submit(rows: range) -> Future[list[np.ndarray]]:
            return pool.submit(decode_clips, plan.path, plan.video_id, [spans[i] for i in rows], specs)

        ahead = 2 if isinstance(pool, _Inline) else 4
        for rows, clips in _prefetch(pool, batches, lambda _pool, r: submit(r), ahead=ahead):
            encoded = zip(self.visual.items(), clips.result(), strict=True)
            vectors = {k: v for (ch, enc), c in encoded for k, v in encode_clips(ch, enc, c).items()}
            self.store.add_segments(self._records(plan, rows, texts, text_vecs, vectors))
            bar.advance(plan.segments[rows[-1]].end - plan.segments[rows[0]].start, len(rows))
        self.store.commit_video(
            VideoRecord(plan.video_id, plan.path, plan.duration, extra=_video_extra(plan))
        )
        bar.end_file()
        return len(plan.segments)

    def _texts(self, plan: VideoPlan) -> list[str]:
        screen = plan.ocr_text or ("",) * len(plan.segments)
        return [
            "\n".join(t for t in (seg.text, ocr) if t) for seg, ocr in zip(plan.segments, screen, strict=True)
        ]

    def _text_vectors(self, texts: Sequence[str]) -> dict[int, np.ndarray]:
        rows = [i for i, t in enumerate(texts) if t.strip()]
        if self.text is None or not rows:
            return {}
        vecs = self.text.encode_document([texts[i] for i in rows])
        return dict(zip(rows, vecs, strict=True))

    def _records(
        self, plan: VideoPlan, rows: range, texts: Sequence[str], text_vecs: Mapping[int, np.ndarray],
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

    def _drop_old_versions(self, path: str, video_id: str) -> None:
        """A changed file replaces its old points: once its current version is committed (or found already
        indexed, e.g. after a crash right after the commit), delete other videos recorded at the same path."""
        for old in self._by_path.pop(path, set()) - {video_id}:
            self.store.delete_video(old)


def _ids_by_path(store: Store) -> dict[str, set[str]]:
    by_path: dict[str, set[str]] = {}
    for video in store.iter_videos():
        by_path.setdefault(video.path, set()).add(video.video_id)
    return by_path


def auto_workers(video_seconds: float) -> int:
    """Worker processes for a job: none under 5 minutes of video, else one per spare core (at most 4)."""
    return 0 if video_seconds < 300 else max(1, min(4, (os.cpu_count() or 2) - 1))


def _executor(workers: int, jobs: int) -> Executor:
    if workers == 0 or jobs == 0:
        return _Inline()
    # spawn, not fork: a forked child deadlocked in FFmpeg threads inherited from the parent (seen here)
    ctx = get_context("spawn")
    return ProcessPoolExecutor(min(workers, jobs), mp_context=ctx, initializer=init_worker)


def _video_extra(plan: VideoPlan) -> dict[str, Any]:
    return {"width": plan.width, "height": plan.height, "segments": len(plan.segments), "speech": plan.speech}


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


class _Progress:
    """Two bars on a TTY (silent when piped): overall seconds of video with ETA, and the current file's
    segments."""

    def __init__(self, todo: Sequence[VideoSource], show: bool) -> None:
        self._total: Any = None
        self._file: Any = None
        if show and todo:
            from tqdm.auto import tqdm

            total = round(sum(v.duration for v in todo), 1)
            self._total = tqdm(total=total, unit="s", desc=f"indexing {len(todo)} videos", position=0)

    def start_file(self, name: str, segments: int) -> None:
        if self._total is not None:
            from tqdm.auto import tqdm

            self._file = tqdm(total=segments, unit="seg", desc=name, position=1, leave=False)

    def advance(self, seconds: float, segments: int = 0) -> None:
        if self._total is not None:
            self._total.update(round(seconds, 1))
        if self._file is not None:
            self._file.update(segments)

    def end_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def skip(self, source: VideoSource) -> None:
        self.end_file()
        self.advance(source.duration)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end_file()
        if self._total is not None:
            self._total.close()
