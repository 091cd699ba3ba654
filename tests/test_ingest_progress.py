"""The engine-neutral ingest progress: what a listener is told after each step (videos and seconds done, the
current file, an ETA), a failed file counted once, and a broken listener never stopping an ingest."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from vrag.pipeline import IngestProgress, ProgressTracker


def test_listeners_see_each_step_and_a_failed_file_counts_once(caplog: pytest.LogCaptureFixture) -> None:
    todo: Any = [SimpleNamespace(duration=30.0), SimpleNamespace(duration=10.0)]
    seen: list[IngestProgress] = []

    def broken(p: IngestProgress) -> None:
        raise RuntimeError("display gone")

    with caplog.at_level(logging.WARNING, logger="vrag.pipeline._ingest"):
        tracker = ProgressTracker(todo, on_progress=seen.append)
        tracker._listeners.append(broken)  # a second listener that fails: dropped, the first goes on
        tracker.start_file("a.mp4", segments=3, seconds=30.0)
        tracker.advance(12.0, 1)
        tracker.advance(12.0, 1)
        tracker.end_file()  # the file's last seconds count when it is done
        tracker.start_file("b.mp4", segments=2, seconds=10.0)
        tracker.advance(4.0, 1)
        tracker.skip(todo[1])  # failed half-way: its remaining seconds count once
    assert "progress listener" in caplog.text and broken not in tracker._listeners

    first, last = seen[0], seen[-1]
    assert (first.videos, first.seconds, first.videos_done, first.eta) == (2, 40.0, 0, None)
    assert [p.current for p in seen[1:4]] == ["a.mp4"] * 3 and seen[3].segments_done == 2
    assert seen[4].videos_done == 1 and seen[4].seconds_done == 30.0 and seen[4].current is None
    assert (last.videos_done, last.seconds_done, last.failed) == (2, 40.0, 1)
    assert [p.seconds_done for p in seen] == sorted(p.seconds_done for p in seen)
    assert last.eta == 0.0 and seen[2].eta == pytest.approx(seen[2].elapsed * 28.0 / 12.0)
    assert set(last.to_dict()) == {
        "videos", "videos_done", "seconds", "seconds_done", "elapsed", "eta", "failed", "current", "segments",
        "segments_done",
    }  # fmt: skip
