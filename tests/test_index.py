"""VideoIndex + pipeline: idempotent, resumable after kill -9, bad files isolated, schema checked, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.synth import write_video
from vrag.cli import main as cli
from vrag.config import IndexConfig
from vrag.errors import ConfigError
from vrag.index import VideoIndex
from vrag.media import open_video

pytestmark = pytest.mark.integration

TINY = {"visual_encoders": ("videomae-test",), "allow_test_encoders": True, "workers": 0, "ocr": "off"}


def _scene(colour: tuple[int, int, int]):
    def frame(i: int, w: int, h: int) -> np.ndarray:
        img = np.zeros((h, w, 3), np.uint8)
        img[...] = colour
        img[:, (i * 2) % w : (i * 2) % w + 6] = 255 - np.array(colour, np.uint8)  # a moving bar
        return img

    return frame


def _corpus(root: Path) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    talks = [
        (
            "cooking.mp4",
            (200, 60, 30),
            [(0.2, 1.8, "We chop the onions finely."), (2.0, 3.6, "Then fry them in butter.")],
        ),
        (
            "space.mkv",
            (20, 30, 160),
            [(0.1, 1.9, "The rocket leaves the launch pad."), (2.1, 3.8, "It reaches orbit.")],
        ),
        ("garden.webm", (40, 160, 50), [(0.3, 3.5, "Water the tomato plants every morning.")]),
    ]
    paths = []
    for name, colour, cues in talks:
        paths.append(
            write_video(root / name, 100, fps=25, size=(64, 48), frame_fn=_scene(colour), subtitles=cues)
        )
    return paths


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _corpus(tmp_path_factory.mktemp("corpus"))


def _state(location: Path) -> tuple[int, list[tuple[str, str, float, float]]]:
    with VideoIndex.open(location) as index:
        segments = sorted((s.id, s.video, s.start, s.end) for s in index._store.iter_segments())
        return index.info().videos, segments


def test_add_search_and_idempotent_readd(tmp_path: Path, corpus: list[Path]) -> None:
    with VideoIndex.open(tmp_path / "idx", IndexConfig(**TINY)) as index:
        first = index.add(corpus)
        assert sorted(first.indexed) == sorted(map(str, corpus)) and first.ok and first.segments >= 3
        hits = index.search("frying onions in butter", k=3)
        assert hits[0].video.endswith("cooking.mp4")
        assert hits[0].start <= 2.0 < hits[0].end and "butter" in hits[0].text
        again = index.add(corpus)
        assert again.indexed == () and sorted(again.skipped) == sorted(map(str, corpus))
        assert index.info().segments == first.segments


def test_search_filters_by_video_and_time(tmp_path: Path, corpus: list[Path]) -> None:
    config = IndexConfig(**TINY, chunker="fixed", chunk_options={"window": 2.0})
    with VideoIndex.open(tmp_path / "idx", config) as index:
        index.add(corpus)
        only = index.search("rocket orbit onions tomato", k=10, video=str(corpus[1]))
        assert only and {h.video for h in only} == {str(corpus[1])}
        late = index.search("rocket orbit onions tomato", k=10, after=1.5)
        assert late and all(h.start == 2.0 for h in late)  # the garden's second half has no words
        early = index.search("rocket orbit onions tomato", k=10, before=2.0)
        assert len(early) == 3 and all(h.end == 2.0 for h in early)
        assert {h.text for h in late} == {"Then fry them in butter.", "It reaches orbit."}
        with pytest.raises(ConfigError, match="not in this index"):
            index.search("x", video="nope.mp4")


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path: Path, corpus: list[Path]) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    with VideoIndex.open(tmp_path / "idx", IndexConfig(**TINY)) as index:
        report = index.add([*corpus, bad])
    assert [f.path for f in report.failed] == [str(bad)]
    assert report.failed[0].error == "NotAVideoError" and "broken.mp4" in report.failed[0].message
    assert len(report.indexed) == len(corpus)


def test_changed_file_replaces_its_old_points(tmp_path: Path) -> None:
    path = write_video(
        tmp_path / "v.mp4", 50, frame_fn=_scene((10, 200, 10)), subtitles=[(0.1, 1.5, "first take")]
    )
    with VideoIndex.open(tmp_path / "idx", IndexConfig(**TINY)) as index:
        index.add(path)
        write_video(path, 75, frame_fn=_scene((200, 10, 10)), subtitles=[(0.1, 2.5, "second take")])
        assert index.add(path).indexed == (str(path),)
        assert index.add(path).skipped == (str(path),)  # the new version is what is stored now
        assert index.info().videos == 1
        hits = index.search("take", k=10)
    fresh = open_video(path)
    assert {h.text for h in hits} == {"second take"}
    assert {h.video_id for h in hits} == {fresh.video_id} and max(h.end for h in hits) == fresh.duration


def test_other_ingest_settings_still_read_but_add_refuses_naming_them(
    tmp_path: Path, corpus: list[Path]
) -> None:
    with VideoIndex.open(tmp_path / "idx", IndexConfig(**TINY)) as index:
        index.add(corpus[:1])
    other = IndexConfig(**{**TINY, "visual_encoders": ("xclip-test",), "ocr": "on"})
    with VideoIndex.open(tmp_path / "idx", other) as index:
        assert index.search("onions", k=1)[0].video.endswith("cooking.mp4")  # reads work
        with pytest.raises(ConfigError) as info:
            index.add(corpus[1:2])
        assert index.info().videos == 1  # nothing was written
    message = str(info.value)
    assert "visual_encoders = ('xclip-test',)" in message and "('videomae-test',)" in message
    assert "ocr = 'on'" in message and "--index NEW_DIR" in message and "delete" not in message


def test_reopen_without_config_reuses_the_stored_one(tmp_path: Path, corpus: list[Path]) -> None:
    with VideoIndex.open(tmp_path / "idx", IndexConfig(**{**TINY, "chunker": "fixed"})) as index:
        index.add(corpus[:1])
    with VideoIndex.open(tmp_path / "idx") as index:
        assert index.config.chunker == "fixed" and index.info().videos == 1


def test_worker_processes_give_the_same_index(tmp_path: Path, corpus: list[Path]) -> None:
    with VideoIndex.open(tmp_path / "a", IndexConfig(**TINY)) as index:
        index.add(corpus)
    with VideoIndex.open(tmp_path / "b", IndexConfig(**{**TINY, "workers": 2})) as index:
        index.add(corpus)
    assert _state(tmp_path / "a")[1] == _state(tmp_path / "b")[1]


_CRASHER = """
import os, signal, sys
from vrag.config import IndexConfig
from vrag.index import VideoIndex
from vrag.store import Store

calls = 0
real = Store.add_segments

def add_then_die(self, records):
    global calls
    out = real(self, records)
    calls += 1
    if calls == {after}:
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of the ingest
    return out

Store.add_segments = add_then_die
index = VideoIndex.open(sys.argv[1], IndexConfig(**{config}))
index.add(sys.argv[2:])
"""


@pytest.mark.slow
def test_kill_9_mid_ingest_then_rerun_equals_uninterrupted_run(tmp_path: Path, corpus: list[Path]) -> None:
    config = {**TINY, "encode_batch": 1}
    script = textwrap.dedent(_CRASHER).format(after=3, config=repr(config))
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "crashed"), *map(str, corpus)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    assert run.returncode == -signal.SIGKILL, run.stderr
    with VideoIndex.open(tmp_path / "crashed") as index:
        visible_after_crash = index.info().videos
        index.add(corpus)
    with VideoIndex.open(tmp_path / "clean", IndexConfig(**config)) as index:
        index.add(corpus)
    assert visible_after_crash < len(corpus)
    assert _state(tmp_path / "crashed") == _state(tmp_path / "clean")


def test_cli_index_search_info_delete_json(
    tmp_path: Path, corpus: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    idx = str(tmp_path / "idx")
    config = tmp_path / "vrag.toml"
    config.write_text(
        '[index]\nvisual_encoders = ["videomae-test"]\nallow_test_encoders = true\nworkers = 0\nocr = "off"\n'
    )
    bad = tmp_path / "empty.mp4"
    bad.write_bytes(b"")
    assert cli(["index", *map(str, corpus), str(bad), "--index", idx, "--config", str(config), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert len(report["indexed"]) == 3 and report["failed"][0]["path"] == str(bad)

    assert cli(["search", "rocket launch", "--index", idx, "--json", "-k", "2"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["video"].endswith("space.mkv") and hits[0]["start"] == 0.0
    assert {"video", "video_id", "start", "end", "score", "text"} <= set(hits[0])

    assert cli(["info", "--index", idx, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["videos"] == 3
    assert cli(["delete", str(corpus[1]), "--index", idx]) == 0
    capsys.readouterr()
    assert cli(["info", "--index", idx, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["videos"] == 2


def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none"
    assert cli(["search", "anything", "--index", str(missing)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vrag: no index at") and not missing.exists()
    assert cli(["chunk", str(tmp_path), "--chunker", "semantik"]) == 2
    assert "Did you mean 'semantic'" in capsys.readouterr().err


def test_cli_env_and_flags_and_the_stored_config(
    tmp_path: Path, corpus: list[Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = tmp_path / "idx"
    config = tmp_path / "vrag.toml"
    config.write_text(
        '[index]\nvisual_encoders = ["videomae-test"]\nallow_test_encoders = true\nchunker = "fixed"\n'
    )
    monkeypatch.setenv("VRAG_INDEX", str(idx))
    monkeypatch.setenv("VRAG_QDRANT_URL", "http://127.0.0.1:9")  # ignored: --index names the index below
    assert cli(["index", str(corpus[0]), "--index", str(idx), "--config", str(config), "--workers", "0"]) == 0
    monkeypatch.delenv("VRAG_QDRANT_URL")
    # a later run without --config builds on the stored configuration (fixed chunker), not the defaults
    assert cli(["index", str(corpus[1]), "--workers", "0", "--json"]) == 0
    capsys.readouterr()
    assert cli(["info", "--json"]) == 0  # VRAG_INDEX names the index
    info = json.loads(capsys.readouterr().out)
    assert info["videos"] == 2 and info["config"]["chunker"] == "fixed"


def test_unavailable_visual_encoder_is_skipped_with_a_note(
    tmp_path: Path, corpus: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = IndexConfig(**{**TINY, "visual_encoders": ("hf:someone/missing-model",)})
    with VideoIndex.open(tmp_path / "idx", config) as index:
        report = index.add(corpus[:1])
        info = index.info()
    assert report.ok and info.channels == ("minilm", "bm25")
    assert "someone/missing-model" in info.notes[0] and "--local-dir" in info.notes[0]
    with VideoIndex.open(tmp_path / "idx", config) as index:  # not retried on reopen: the note stays
        assert "someone/missing-model" in index.info().notes[0] and index.info().channels == (
            "minilm",
            "bm25",
        )
        assert index.search("onions")[0].video.endswith("cooking.mp4")


_UNGUARDED = """
import json, sys
from vrag.config import IndexConfig
from vrag.index import VideoIndex

# no `if __name__ == "__main__":` guard: spawned workers re-import this script and cannot start
with VideoIndex.open(sys.argv[1], IndexConfig(**{config})) as index:
    report = index.add(sys.argv[2:])
print("REPORT", json.dumps(report.to_dict()))
"""


@pytest.mark.slow
def test_dead_workers_fail_their_files_with_the_fix_not_the_batch(tmp_path: Path, corpus: list[Path]) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(_UNGUARDED).format(config=repr({**TINY, "workers": 1})))
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "idx"), *map(str, corpus[:2])],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()}, timeout=300,
    )  # fmt: skip
    reports = [json.loads(line[7:]) for line in run.stdout.splitlines() if line.startswith("REPORT ")]
    report = reports[-1]  # the parent's (a re-imported child may print before it dies)
    assert run.returncode == 0 and report["indexed"] == []
    assert [f["error"] for f in report["failed"]] == ["WorkerError", "WorkerError"]
    assert "__main__" in report["failed"][0]["message"]


def test_a_file_failing_mid_pipeline_leaves_nothing_behind(tmp_path: Path, corpus: list[Path]) -> None:
    from tests.test_media_bad_input import garble, real_video

    damaged = garble(real_video(tmp_path / "damaged.mp4"))  # opens fine; frames in its middle cannot decode
    config = IndexConfig(**TINY, chunker="fixed", chunk_options={"window": 0.04})  # a segment per frame
    with VideoIndex.open(tmp_path / "idx", config) as index:
        report = index.add([damaged, *corpus])
        assert [(f.path, f.error) for f in report.failed] == [(str(damaged), "DecodeError")]
        assert len(report.indexed) == len(corpus)
        store = index._store
        assert store.count_segments() == report.segments == len(list(store.iter_segments()))
        assert store.purge_pending() == 0  # its half-written segments were already cleaned up


def test_opening_an_open_index_again_in_one_process_shares_it(tmp_path: Path, corpus: list[Path]) -> None:
    first = VideoIndex.open(tmp_path / "idx", IndexConfig(**TINY))
    first.add(corpus[:1], progress=False)
    second = VideoIndex.open(tmp_path / "idx")  # e.g. a framework retriever and a tool on one folder
    assert second.search("onions", k=1)[0].video == first.search("onions", k=1)[0].video
    with pytest.raises(ConfigError, match="already open in this process with another configuration"):
        VideoIndex.open(tmp_path / "idx", IndexConfig(**{**TINY, "chunker": "fixed"}))
    first.close()
    first.close()  # closing a handle twice does not release the other handle's share
    assert second.info().videos == 1
    second.close()
    with VideoIndex.open(tmp_path / "idx") as again:  # everything was released: a fresh open works
        assert again.info().videos == 1
