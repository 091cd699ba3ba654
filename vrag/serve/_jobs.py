"""Index jobs: run one at a time in a background thread of the service while searches go on, each with a
log of events (progress, then the report or the error) that any number of readers can follow."""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vrag.errors import VragError

if TYPE_CHECKING:
    from vrag.index import VideoIndex
    from vrag.pipeline import IngestProgress

log = logging.getLogger(__name__)

__all__ = ["Event", "Job", "Jobs"]

_STOP = None


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a job's log: ``kind`` is ``queued``, ``progress``, ``done`` or ``error``."""

    kind: str
    data: dict[str, Any]


@dataclass
class Job:
    """An index job: the paths, its state and its events so far."""

    id: str
    paths: tuple[str, ...]
    state: str = "queued"
    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def push(self, kind: str, data: dict[str, Any], *, state: str | None = None) -> None:
        with self._lock:
            self.events.append(Event(kind, data))
            if state is not None:
                self.state = state

    def since(self, cursor: int) -> tuple[list[Event], bool]:
        """Events after the first ``cursor``, and whether the job is finished (no more will come)."""
        with self._lock:
            return self.events[cursor:], self.finished


class Jobs:
    """Runs index jobs one after another in a worker thread (the index takes one writer at a time).

    Args:
        index: the index to add to.
        keep: finished jobs remembered (the oldest are forgotten first).
    """

    def __init__(self, index: VideoIndex, *, keep: int = 100) -> None:
        self._index = index
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._keep = keep
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, paths: Sequence[str]) -> Job:
        job = Job(uuid.uuid4().hex, tuple(paths))
        job.push("queued", {"job": job.id, "paths": list(job.paths)})
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="vrag-index-jobs", daemon=True)
                self._thread.start()
        self._queue.put(job)
        return job

    @property
    def busy(self) -> bool:
        """Whether a job is queued or running."""
        with self._lock:
            return any(not j.finished for j in self._jobs.values())

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def close(self, timeout: float | None = None) -> None:
        """Drop queued jobs and wait for the running one to finish (the index must not close under it)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(_STOP)
        if self.busy:
            log.warning("waiting for the running index job to finish (killing the server is safe: a re-run "
                        "of the job completes what it began)")  # fmt: skip
        thread.join(timeout)

    def _work(self) -> None:
        while (job := self._queue.get()) is not _STOP:
            self._run(job)
        while not self._queue.empty():  # closing: what was still queued will not run
            left = self._queue.get_nowait()
            if left is not None:
                left.push(
                    "error", _error("Cancelled", "the server stopped before this job ran"), state="failed"
                )

    def _run(self, job: Job) -> None:
        job.state = "running"

        def progress(p: IngestProgress) -> None:
            job.push("progress", p.to_dict())

        try:
            report = self._index.add(list(job.paths), progress=False, on_progress=progress)
        except VragError as err:
            job.push("error", _error(type(err).__name__, str(err)), state="failed")
        except Exception as err:  # the job fails, the service goes on; the traceback goes to the log
            log.exception("index job %s failed", job.id)
            job.push(
                "error", _error("InternalError", f"{type(err).__name__} (see the server log)"), state="failed"
            )
        else:
            job.push("done", report.to_dict(), state="done")

    def _forget_old(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.finished]
        for key in finished[: max(len(self._jobs) - self._keep, 0)]:
            del self._jobs[key]


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": kind, "detail": " ".join(message.split())}
