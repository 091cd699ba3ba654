"""Fault injection on real indexes: each reproduction of issue 12 (a dependable index) as a user meets it.

Readers beside readers and a writer, killed ingests, a full disk (a real tmpfs), read-only media (a real
read-only bind mount), damaged shards, a lost schema.json, edited sidecars and same-size edits, symbolic
links, hostile subtitles, bad query values and folders that are not indexes. Mounts need root; those tests
are skipped with the reason elsewhere. The index has no neural channel (BM25 only), so no model loads.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.synth import write_video
from tests.test_index import _corpus, _scene
from vrag.cli import main as cli
from vrag.media import open_video
from vrag.store._snapshot import snapshot_root

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
FAST = '[index]\ntext_encoder = ""\nchunker = "fixed"\nchunk_options = {window = 2.0}\nocr = "off"\n'
ROOT_ONLY = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() != 0, reason="mounting a tmpfs or a read-only bind mount needs root"
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("faults")
    (root / "fast.toml").write_text(FAST)
    videos = _corpus(root / "corpus")
    assert _cli("index", *map(str, videos), "--index", str(root / "idx"), "--encoder", "none", "-q",
                "--config", str(root / "fast.toml"))[0] == 0  # fmt: skip
    return {"root": root, "corpus": root / "corpus", "idx": root / "idx", "config": root / "fast.toml"}


def _cli(*args: str) -> tuple[int, str, str]:
    """Run the CLI in this process; returns (exit code, stdout, stderr)."""
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli(list(args))
    return code, out.getvalue(), err.getvalue()


def _copy(setup: dict[str, Path], tmp_path: Path) -> Path:
    shutil.copytree(setup["idx"], tmp_path / "idx")
    return tmp_path / "idx"


def _index(setup: dict[str, Path], idx: Path, *paths: Path | str) -> tuple[int, dict, str]:
    code, out, err = _cli("index", *map(str, paths), "--index", str(idx), "--encoder", "none", "--json",
                          "--config", str(setup["config"]))  # fmt: skip
    return code, json.loads(out) if out.strip() else {}, err


def _info(idx: Path) -> dict:
    code, out, err = _cli("info", "--index", str(idx), "--json")
    assert code == 0, err
    return json.loads(out)


# ------------------------------------------------------------------------------------------ 1. readers

READER = """
import json, sys, time
from pathlib import Path
from vrag.index import VideoIndex
seen = []
while not Path(sys.argv[2]).exists() or len(seen) < 2:
    with VideoIndex.open(sys.argv[1]) as index:
        hits = index.search("onions", k=3)
        seen.append([index.info().videos, hits[0].text])
print(json.dumps(seen))
"""


def test_readers_run_beside_each_other_and_a_writer(setup: dict[str, Path], tmp_path: Path) -> None:
    """Four reader processes and one writer at once: no refusal; readers see committed states only."""
    idx = _copy(setup, tmp_path)
    more = [write_video(tmp_path / f"extra{i}.mp4", 50, size=(64, 48), frame_fn=_scene((9 * i, 90, 40)),
                        subtitles=[(0.1, 1.5, f"extra talk number {i}")]) for i in range(3)]  # fmt: skip
    stop = tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(idx), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    writer = subprocess.run(
        [sys.executable, "-m", "vrag.cli", "index", *map(str, more), "--index", str(idx), "--encoder", "none",
         "-q", "--config", str(setup["config"])],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    stop.touch()
    results = [r.communicate(timeout=120) for r in readers]
    assert writer.returncode == 0, writer.stderr
    for reader, (out, err) in zip(readers, results, strict=True):
        assert reader.returncode == 0, err  # never "index is in use"
        seen = json.loads(out)
        counts = [videos for videos, _ in seen]
        assert counts == sorted(counts) and set(counts) <= {3, 4, 5, 6}  # committed states, in order
        assert all(text == "We chop the onions finely." for _, text in seen)
    assert _info(idx)["videos"] == 6
    left = [p for p in snapshot_root().glob("vrag-snapshot-*") if _mine(p, readers)]
    assert left == []  # each reader removed its snapshot when it closed


def _mine(path: Path, procs: list[subprocess.Popen[str]]) -> bool:
    return any(path.name.startswith(f"vrag-snapshot-{p.pid}-") for p in procs)


def test_a_reader_sees_the_last_committed_state_while_a_video_is_half_written(tmp_path: Path) -> None:
    from tests.test_store import SCHEMA, seg
    from tests.test_store import write_video as store_video
    from vrag.store import VideoRecord, open_store

    writer = open_store(tmp_path / "idx", schema=SCHEMA)
    reader = open_store(tmp_path / "idx", schema=SCHEMA)
    with writer.writing():
        store_video(writer, "a", [seg("a", i) for i in range(2)])
        writer.begin_video("b")
        writer.add_segments([seg("b", i) for i in range(3)])
        assert reader.count_segments() == 2 and not reader.has_video("b")  # half a video never shows
        writer.commit_video(VideoRecord("b", "b.mp4", 6.0))
        deadline = time.monotonic() + 10  # a busy reader refreshes at most once per five copy times
        while reader.count_segments() != 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reader.count_segments() == 5 and reader.has_video("b")
    writer.close()
    reader.close()


def test_a_busy_writer_never_makes_a_reader_wait(tmp_path: Path) -> None:
    """While the writer is inside an engine call, a reader with a snapshot answers from it at once."""
    import threading

    from tests.test_store import SCHEMA, seg
    from tests.test_store import write_video as store_video
    from vrag.store import open_store

    writer = open_store(tmp_path / "idx", schema=SCHEMA)
    reader = open_store(tmp_path / "idx", schema=SCHEMA)
    store_video(writer, "a", [seg("a", 0)])
    assert reader.count_segments() == 1  # the reader's snapshot
    inside, leave = threading.Event(), threading.Event()

    def slow_call() -> None:
        with writer._b._ws().exclusive(renew=True):  # type: ignore[attr-defined]
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=slow_call)
    thread.start()
    inside.wait(10)
    started = time.monotonic()
    assert reader.count_segments() == 1 and time.monotonic() - started < 2.0
    leave.set()
    thread.join()
    writer.close()
    reader.close()


def test_a_service_searches_while_it_indexes(setup: dict[str, Path], tmp_path: Path) -> None:
    """One process, one handle: searches in one thread while ``add`` runs in another (as ``vrag serve``)."""
    import threading

    from vrag.index import VideoIndex

    idx = _copy(setup, tmp_path)
    more = [write_video(tmp_path / f"more{i}.mp4", 50, subtitles=[(0.1, 1.5, f"more onions {i}")])
            for i in range(2)]  # fmt: skip
    with VideoIndex.open(idx) as index:  # the configuration it was built with
        errors: list[BaseException] = []
        adding = threading.Thread(target=lambda: _collect(errors, index.add, more))
        adding.start()
        counts = []
        while adding.is_alive():
            counts.append(len({h.video for h in index.search("onions", k=10)}))
        adding.join()
        assert not errors and counts == sorted(counts)
        assert len({h.video for h in index.search("onions", k=10)}) == 3 and index.info().videos == 5


def _collect(errors: list[BaseException], fn: object, *args: object) -> None:
    try:
        fn(*args)  # type: ignore[operator]
    except BaseException as err:
        errors.append(err)


# ------------------------------------------------------------------------------------------ 2. workers


def _children(pid: int) -> list[int]:
    kids = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (proc / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                kids.append(int(proc.name))
    return kids


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes through /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_end_when_the_indexing_process_is_killed(
    setup: dict[str, Path], tmp_path: Path, sig: signal.Signals
) -> None:
    cmd = [sys.executable, "-m", "vrag.cli", "index", str(setup["corpus"]), "--index", str(tmp_path / "idx"),
           "--encoder", "none", "--workers", "2", "-q", "--config", str(setup["config"])]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.DEVNULL)
    deadline, workers = time.monotonic() + 90, []
    while not workers and time.monotonic() < deadline and proc.poll() is None:
        workers = [k for k in _children(proc.pid) if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]
        time.sleep(0.05)
    assert workers, "no worker process started"
    everyone = _children(proc.pid)
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(map(_running, everyone)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [k for k in everyone if _running(k)]
    for pid in left:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == []


# ------------------------------------------------------------------------------------------ 3. full disk


@contextlib.contextmanager
def _mount(*args: str) -> Iterator[None]:
    subprocess.run(["mount", *args], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["umount", args[-1]], check=True, capture_output=True)


@ROOT_ONLY
def test_a_full_disk_is_a_clear_error_and_reads_go_on(setup: dict[str, Path], tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    one = setup["corpus"] / "cooking.mp4"
    with _mount("-t", "tmpfs", "-o", "size=12m", "tmpfs", str(disk)):  # the reproduction: too small at all
        code, _, err = _cli("index", str(one), "--index", str(disk / "idx"), "--encoder", "none",
                            "--config", str(setup["config"]))  # fmt: skip
        assert code == 2 and "no space left on its disk" in err and err.count("\n") == 1
        assert list(disk.iterdir()) == []  # nothing was created
    with _mount("-t", "tmpfs", "-o", "size=128m", "tmpfs", str(disk)):
        assert _index(setup, disk / "idx", one)[0] == 0
        with open(disk / "filler", "wb") as fh:  # leave 16 MB: less than a write may need
            os.posix_fallocate(fh.fileno(), 0, shutil.disk_usage(disk).free - (16 << 20))
        code, _, err = _index(setup, disk / "idx", setup["corpus"])
        assert code == 2 and "no space left on its disk" in err
        assert _info(disk / "idx")["videos"] == 1  # nothing partial is reported; reads work
        code, out, _ = _cli("search", "onions", "--index", str(disk / "idx"), "--json")
        assert code == 0 and json.loads(out)[0]["text"] == "We chop the onions finely."
        assert _cli("check", "--index", str(disk / "idx"))[0] == 0
        (disk / "filler").unlink()
        code, report, _ = _index(setup, disk / "idx", setup["corpus"])
        assert code == 0 and len(report["indexed"]) == 2 and _info(disk / "idx")["videos"] == 3


# ------------------------------------------------------------------------------------------ 4. read-only


@ROOT_ONLY
def test_an_index_on_read_only_media_is_read(setup: dict[str, Path], tmp_path: Path) -> None:
    idx = _copy(setup, tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    with _mount("--bind", str(idx), str(ro)):
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        assert _info(ro)["videos"] == 3
        code, out, _ = _cli("search", "rocket", "--index", str(ro), "--json", "-k", "1")
        assert code == 0 and "rocket" in json.loads(out)[0]["text"]
        assert _cli("check", "--index", str(ro))[0] == 0
        code, _, err = _cli("delete", "space.mkv", "--index", str(ro))
        assert code == 2 and "read-only storage" in err and "copy the folder" in err
        assert sorted(p.name for p in ro.iterdir()) == sorted(p.name for p in idx.iterdir())


# ------------------------------------------------------------------------------------------ 5. damage


def _payload_page(idx: Path) -> Path:
    (page,) = idx.glob("segments/segments/*/payload_storage/page_0.dat")
    return page


def test_damaged_payload_is_a_typed_error_found_by_check_and_healed(
    setup: dict[str, Path], tmp_path: Path
) -> None:
    idx = _copy(setup, tmp_path)
    with open(_payload_page(idx), "r+b") as fh:
        fh.write(np.random.default_rng(0).bytes(8192))
    code, out, err = _cli("search", "onions", "--index", str(idx))
    assert code == 2 and out == "" and "the segments shard is damaged" in err and "vrag check" in err
    code, out, _ = _cli("check", "--index", str(idx), "--json")
    report = json.loads(out)
    assert code == 1 and {p["kind"] for p in report["problems"]} == {"damaged-points", "missing-segments"}
    code, out, _ = _cli("check", "--repair", "--index", str(idx), "--json")
    repaired = json.loads(out)
    assert code == 1 and "moved the segments shard with its damage" in repaired["repaired"][0]
    assert list((idx / "damaged").iterdir())  # set aside, not deleted
    code, report, _ = _index(setup, idx, *repaired["reindex"])
    assert code == 0 and sorted(report["indexed"]) == sorted(repaired["reindex"])
    assert _cli("check", "--index", str(idx))[0] == 0
    code, out, _ = _cli("search", "onions", "--index", str(idx), "--json", "-k", "1")
    assert json.loads(out)[0]["text"] == "We chop the onions finely."


def test_lost_segments_are_reported_and_reindexing_heals_them(setup: dict[str, Path], tmp_path: Path) -> None:
    idx = _copy(setup, tmp_path)
    (tracker,) = idx.glob("segments/segments/*/mutable_id_tracker.mappings")
    tracker.write_bytes(b"")
    info = _info(idx)
    assert info["segments"] == 0 and any("run `vrag check`" in n for n in info["notes"])
    code, out, _ = _cli("check", "--index", str(idx))
    assert code == 1 and "3 videos do not have the segments their record counts" in out
    code, report, _ = _index(setup, idx, setup["corpus"])
    assert code == 0 and len(report["indexed"]) == 3 and report["skipped"] == []  # not "already indexed"
    assert _info(idx)["segments"] == 6 and _cli("check", "--index", str(idx))[0] == 0


def test_a_lost_ledger_is_set_aside_not_deleted_and_reindexing_heals_it(
    setup: dict[str, Path], tmp_path: Path
) -> None:
    idx = _copy(setup, tmp_path)
    shutil.rmtree(idx / "videos")  # the video records are gone; their segments are not
    code, out, _ = _cli("check", "--repair", "--index", str(idx), "--json")
    repaired = json.loads(out)
    assert code == 0 and repaired["repaired"][0] == "the videos shard was missing: made a new empty one"
    assert "moved the segments shard with its 6 segments of no committed video" in repaired["repaired"][1]
    (aside,) = (idx / "damaged").iterdir()
    assert len(list(aside.glob("segments/*/payload_storage"))) >= 1  # the segments were kept, not deleted
    assert len(repaired["reindex"]) == 3  # every video that owned one
    code, report, _ = _index(setup, idx, *repaired["reindex"])
    assert code == 0 and len(report["indexed"]) == 3
    assert _info(idx)["segments"] == 6 and _cli("check", "--index", str(idx))[0] == 0


def test_non_finite_vectors_are_found_and_json_never_carries_nan(tmp_path: Path) -> None:
    from tests.test_store import SCHEMA, seg, unit
    from tests.test_store import write_video as store_video
    from vrag.cli import _json
    from vrag.store import open_store

    with open_store(tmp_path / "idx", schema=SCHEMA) as store:
        store_video(store, "a", [seg("a", i) for i in range(3)])
    (chunk,) = (tmp_path / "idx").glob("segments/segments/*/vector_storage-vis/vectors/chunk_0.mmap")
    with open(chunk, "r+b") as fh:
        fh.write(np.full(4, np.nan, np.float32).tobytes())  # the first segment's vector
    with open_store(tmp_path / "idx", schema=SCHEMA) as store:
        report = store.check()
        assert [p.kind for p in report.problems] == ["non-finite-vectors", "missing-segments"]
        hits = store.search("vis", unit(1, 1, 0, 0), k=3)
    text = _json([{"score": h.score, "start": h.start} for h in hits])
    assert "NaN" not in text and json.loads(text)


# ------------------------------------------------------------------------------------------ 6. schema.json


def test_a_lost_schema_json_never_wipes_data(setup: dict[str, Path], tmp_path: Path) -> None:
    idx = _copy(setup, tmp_path)
    (idx / "schema.json").unlink()
    new = write_video(tmp_path / "new.mp4", 50, subtitles=[(0.1, 1.5, "a brand new talk")])
    code, report, _ = _index(setup, idx, new)
    assert code == 0 and report["indexed"] == [str(new)]
    assert _info(idx)["videos"] == 4 and (idx / "schema.json").exists()  # rebuilt from the kept copy
    for copy in idx.glob("*/vrag-schema.json"):
        copy.unlink()
    (idx / "schema.json").unlink()
    code, _, err = _index(setup, idx, new)
    assert code == 2 and "holds indexed data but its schema.json is missing" in err and "backup" in err
    (idx / "schema.json").write_text((setup["idx"] / "schema.json").read_text())
    assert _info(idx)["videos"] == 4  # nothing was discarded


# ------------------------------------------------------------------------------------------ 7-9. changes


def test_an_edited_sidecar_reindexes_its_video(
    setup: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = write_video(tmp_path / "talk.mp4", 50)
    sidecar = tmp_path / "talk.srt"
    sidecar.write_text("1\n00:00:00,100 --> 00:00:01,500\nThe mitochondria is the powerhouse.\n")
    idx = tmp_path / "idx"
    assert _index(setup, idx, video)[1]["indexed"] == [str(video)]
    sidecar.write_text("1\n00:00:00,100 --> 00:00:01,500\nThe ribosome is the powerhouse.\n")
    code, report, _ = _index(setup, idx, video)
    assert code == 0 and report["indexed"] == [str(video)]
    _, out, _ = _cli("search", "powerhouse", "--index", str(idx), "--json")
    assert [h["text"] for h in json.loads(out)] == ["The ribosome is the powerhouse."]
    assert _index(setup, idx, video)[1]["skipped"] == [str(video)]
    monkeypatch.chdir(tmp_path)
    report = _index(setup, idx, "talk.mp4")[1]  # the same file by a relative path: same sidecars, unchanged
    assert report["indexed"] == [] and len(report["skipped"]) == 1


def test_a_same_size_edit_is_detected(setup: dict[str, Path], tmp_path: Path) -> None:
    video = write_video(tmp_path / "raw.mkv", 100, codec="rawvideo")  # 460 kB: the id samples 5 x 64 kB
    idx = tmp_path / "idx"
    before = open_video(video).video_id
    assert _index(setup, idx, video)[1]["indexed"] == [str(video)]
    data = bytearray(video.read_bytes())
    data[80_000] ^= 0xFF  # a pixel between the sampled blocks
    video.write_bytes(bytes(data))
    assert open_video(video).video_id == before  # what the sampled id alone would miss
    code, report, _ = _index(setup, idx, video)
    assert code == 0 and report["indexed"] == [str(video)]
    os.utime(video, ns=(1, 1))  # only touched: the full hash says unchanged, and the new time is kept
    assert _index(setup, idx, video)[1]["skipped"] == [str(video)]
    (stored,) = json.loads(_cli("videos", "--index", str(idx), "--json")[1])
    assert stored["mtime_ns"] == 1


def test_a_linked_video_keeps_its_transcript_and_is_one_video(setup: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    video = write_video(tmp_path / "real" / "talk.mp4", 50)
    (tmp_path / "real" / "talk.srt").write_text("1\n00:00:00,100 --> 00:00:01,500\nLinked lecture words.\n")
    link = tmp_path / "links" / "lecture.mp4"
    link.symlink_to(video)
    idx = tmp_path / "idx"
    assert _index(setup, idx, link)[1]["indexed"] == [str(link)]
    _, out, _ = _cli("search", "lecture words", "--index", str(idx), "--json")
    assert [(h["text"], h["video"]) for h in json.loads(out)] == [("Linked lecture words.", str(video))]
    assert _index(setup, idx, video)[1]["skipped"] == [str(video)]
    assert _info(idx)["videos"] == 1


# ------------------------------------------------------------------------------------------ 10. hostile subs


def test_hostile_subtitles_are_contained(setup: dict[str, Path], tmp_path: Path) -> None:
    video = write_video(tmp_path / "talk.mp4", 100)  # 4 s
    huge = "spam " * 1_000_000  # one 5 MB cue
    (tmp_path / "talk.srt").write_text(
        "1\n00:00:00,100 --> 00:00:01,000\nred \x1b[31malert\x00 here\n\n"
        "2\n00:00:xx --> broken\nlost\n\n"
        f"3\n00:00:02,100 --> 00:00:03,000\n{huge}\n\n"
        "4\n00:00:09,000 --> 00:00:10,000\nafter the end\n"
    )
    idx = tmp_path / "idx"
    code, report, _ = _index(setup, idx, video)
    notes = " ".join(report["notes"])
    assert code == 0 and "1 bad cues skipped, the first at line 6" in notes
    assert "1 subtitle cues start after the video ends and were dropped" in notes
    assert "cut to 10000 characters" in notes
    code, out, _ = _cli("search", "red", "--index", str(idx))
    assert code == 0 and "\x1b" not in out and "\x00" not in out and "red [31malert here" in out
    code, out, _ = _cli("search", "spam after the end", "--index", str(idx), "--json", "-k", "10")
    texts = [h["text"] for h in json.loads(out)]
    assert texts and all("after the end" not in t and len(t) <= 10_000 for t in texts)
    assert sum(p.stat().st_blocks * 512 for p in idx.rglob("*") if p.is_file()) < 8 << 20


def test_control_characters_in_stored_text_are_escaped_on_the_terminal(
    setup: dict[str, Path], tmp_path: Path
) -> None:
    video = write_video(tmp_path / "bell\x07.mp4", 25, subtitles=[(0.1, 0.9, "plain words")])
    idx = tmp_path / "idx"
    assert _index(setup, idx, video)[0] == 0
    _, out, _ = _cli("search", "plain", "--index", str(idx))
    assert "\x07" not in out and "bell\\x07.mp4" in out
    _, out, _ = _cli("videos", "--index", str(idx), "--json")
    assert json.loads(out)[0]["path"].endswith("bell\x07.mp4")  # JSON escapes it, and keeps it exact


# ------------------------------------------------------------------------------------------ 11-12. inputs


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--where", "n=99999999999999999999999"], "outside the 64-bit integer range"),
        (["--after", "nan"], "after: must be a finite time"),
        (["--before", "inf"], "before: must be a finite time"),
        (["-k", "99999999999999999999"], "k must be a whole number from 1 to 10000"),
    ],
)
def test_bad_query_values_are_one_line_errors(setup: dict[str, Path], args: list[str], words: str) -> None:
    code, out, err = _cli("search", "onions", "--index", str(setup["idx"]), *args)
    assert code == 2 and out == "" and words in err and err.count("\n") == 1


def test_an_unsafe_llm_spec_is_a_one_line_error(setup: dict[str, Path]) -> None:
    code, _, err = _cli("ask", "onions?", "--index", str(setup["idx"]), "--llm", "py:os:getcwd")
    assert code == 2 and "not a callable that takes a prompt" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "verb", [["search", "x"], ["info"], ["index", "a.mp4", "--encoder", "none"], ["check"]]
)
def test_a_folder_that_is_not_an_index_is_refused_without_a_trace(tmp_path: Path, verb: list[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = _cli(*verb, "--index", str(tmp_path))
    assert code == 2 and "is not a vrag index (it holds notes.txt)" in err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
