"""The Ray engine ends in the same index as the local engine: on a local Ray runtime, on a two-node cluster
(``ray.cluster_utils.Cluster``: two raylets on this machine), and after its driver is killed mid-run."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.synth import write_video
from vrag.config import IndexConfig
from vrag.index import VideoIndex
from vrag.store._query import Filter

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# one segment per chunk, so a video is written in several steps and a kill can land between them
TINY = {
    "visual_encoders": ("videomae-test",), "allow_test_encoders": True, "workers": 0, "ocr": "off",
    "encode_batch": 1,
}  # fmt: skip
TALKS = [
    ("cooking.mp4", (200, 60, 30), [(0.2, 1.8, "We chop the onions finely."), (2.2, 3.8, "Then fry them.")]),
    ("space.mkv", (20, 30, 160), [(0.1, 1.9, "The rocket leaves the pad."), (2.1, 3.8, "It reaches orbit.")]),
    ("garden.webm", (40, 160, 50), [(0.3, 3.5, "Water the tomato plants every morning.")]),
    ("sea.mp4", (10, 90, 120), [(0.2, 1.5, "Waves break on the shore."), (2.4, 3.9, "A boat sails out.")]),
    *(
        (f"extra{k}.mp4", (30 * k, 200 - 20 * k, 90), [(0.5, 3.5, f"Extra talk number {k}.")])
        for k in range(4)
    ),
]  # eight videos: enough that the kill below lands before the last one is committed


def _scene(colour: tuple[int, int, int]) -> Any:
    def frame(i: int, w: int, h: int) -> np.ndarray:
        img = np.zeros((h, w, 3), np.uint8)
        img[...] = colour if i < 50 else tuple(255 - c for c in colour)  # a cut at 2 s: two shots
        img[:, (i * 2) % w : (i * 2) % w + 6] = 255
        return img

    return frame


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("ray-corpus")
    return [
        write_video(root / name, 100, fps=25, size=(64, 48), frame_fn=_scene(colour), subtitles=cues)
        for name, colour, cues in TALKS
    ]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, corpus: list[Path]) -> dict[str, Any]:
    """The local engine's index of the corpus."""
    location = tmp_path_factory.mktemp("local") / "idx"
    with VideoIndex.open(location, IndexConfig(**TINY)) as index:
        assert index.add(corpus, progress=False).ok
    return _points(location)


def _points(location: Path) -> dict[str, Any]:
    """Every stored point of both collections: id → (payload less the per-write generation token, vectors)."""
    with VideoIndex.open(location) as index:
        store = index._store
        out = {}
        for coll in ("segments", "videos"):
            for row in store._scroll(coll, Filter(), with_vectors=True):
                payload = {k: v for k, v in row.payload.items() if k != "generation"}
                out[f"{coll}/{row.id}"] = (payload, dict(_arrays(row.vectors)))
        return out


def _arrays(vectors: dict[str, Any]) -> Any:
    for name, vec in vectors.items():
        if hasattr(vec, "indices"):  # a sparse (BM25) vector
            yield f"{name}.indices", np.asarray(vec.indices)
            yield f"{name}.values", np.asarray(vec.values)
        else:
            yield name, np.asarray(vec)


def _assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert sorted(got) == sorted(want)  # same point ids: nothing missing, nothing extra, nothing pending
    for pid, (payload, vectors) in want.items():
        assert got[pid][0] == payload, pid
        assert sorted(got[pid][1]) == sorted(vectors), pid
        for channel, vec in vectors.items():
            np.testing.assert_allclose(got[pid][1][channel], vec, atol=1e-5, err_msg=f"{pid} {channel}")


def test_local_runtime_same_index_and_resume_skips(
    tmp_path: Path, corpus: list[Path], reference: dict[str, Any]
) -> None:
    assert not ray.is_initialized()
    location, broken = tmp_path / "idx", tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video" * 100)
    with VideoIndex.open(location, IndexConfig(**TINY)) as index:
        report = index.add([*corpus, broken], engine="ray", progress=False)  # starts a runtime, stops it
        assert sorted(report.indexed) == sorted(str(p.resolve()) for p in corpus)
        assert [(f.path, f.error) for f in report.failed] == [(str(broken), "NotAVideoError")]
        assert report.segments == len([k for k in reference if k.startswith("segments/")])
    assert not ray.is_initialized()
    _assert_same(_points(location), reference)


@pytest.fixture(scope="module")
def cluster() -> Any:
    """Two raylets on this machine: a head with one CPU and a worker node with two."""
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    nodes = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 150 * 2**20, "include_dashboard": False},
    )
    nodes.add_node(num_cpus=2, object_store_memory=150 * 2**20)
    nodes.wait_for_nodes()
    ray.init(address=nodes.address, include_dashboard=False, log_to_driver=False)
    yield nodes
    ray.shutdown()
    nodes.shutdown()


def test_two_node_cluster_same_index(
    tmp_path: Path, corpus: list[Path], reference: dict[str, Any], cluster: Any
) -> None:
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    location = tmp_path / "idx"
    with VideoIndex.open(location, IndexConfig(**TINY)) as index:
        assert index.add(corpus, engine="ray", progress=False).ok
        again = index.add(corpus, engine="ray", progress=False)
        assert again.indexed == () and len(again.skipped) == len(corpus)  # nothing planned again
    assert ray.is_initialized()  # a runtime the engine did not start is left running
    _assert_same(_points(location), reference)


# The indexing process SIGKILLs itself at a set point: after its first commit, once it has begun another video
# and written part of it. A real kill at a fixed step, whatever the machine's speed.
_CRASHING_CLI = """
import os, signal, sys
from vrag.pipeline import _ray
from vrag.cli import main

take = _ray._DriverWriter.take

def take_then_die(self, row):
    take(self, row)
    if self.tally.indexed and len(self.written) > len(self.tally.indexed):
        os.kill(os.getpid(), signal.SIGKILL)

_ray._DriverWriter.take = take_then_die
sys.exit(main(sys.argv[1:]))
"""


def _kill_mid_video(args: list[str]) -> int:
    """``vrag ARGS`` in a subprocess that SIGKILLs itself mid-video after one commit; its exit status."""
    proc = subprocess.run(
        [sys.executable, "-c", _CRASHING_CLI, *args], stdin=subprocess.DEVNULL, capture_output=True,
        cwd=Path(__file__).resolve().parents[1], timeout=240,
    )  # fmt: skip
    return proc.returncode


def test_killed_driver_rerun_ends_in_same_index(
    tmp_path: Path, corpus: list[Path], reference: dict[str, Any], cluster: Any
) -> None:
    toml = tmp_path / "vrag.toml"
    toml.write_text(
        '[index]\nvisual_encoders = ["videomae-test"]\nallow_test_encoders = true\nworkers = 0\n'
        'ocr = "off"\nencode_batch = 1\n'
    )
    location = tmp_path / "idx"
    args = ["--config", str(toml), "--index", str(location), "index", *map(str, corpus), "--engine", "ray",
            "--ray-address", cluster.address]  # fmt: skip
    assert _kill_mid_video(args) == -signal.SIGKILL
    with VideoIndex.open(location) as index:
        committed = index.info().videos
        assert 1 <= committed < len(corpus)  # killed mid-run: one video committed, one half-written
        again = index.add(corpus, engine="ray", progress=False)  # run again (joins the same cluster)
        assert len(again.skipped) == committed and len(again.indexed) == len(corpus) - committed
    _assert_same(_points(location), reference)


def test_remote_urls_are_listed_and_staged_with_their_subtitles(
    tmp_path: Path, corpus: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What each Ray task does with an fsspec URL (here fsspec's in-memory filesystem, as s3:// would be)."""
    import fsspec

    from vrag.media import load_transcript, open_video
    from vrag.pipeline._ray import _local, _stored_path, list_videos

    fs = fsspec.filesystem("memory")
    fs.pipe("/bucket/talks/cooking.mp4", corpus[0].read_bytes())
    fs.pipe("/bucket/talks/cooking.en.srt", b"1\n00:00:00,500 --> 00:00:01,500\nHello kitchen\n")
    fs.pipe("/bucket/talks/notes.txt", b"not a video")
    monkeypatch.setenv("VRAG_STAGE_DIR", str(tmp_path / "stage"))
    urls = list_videos(["memory://bucket/talks/"])
    assert urls == [fs.unstrip_protocol("/bucket/talks/cooking.mp4")]  # videos only, as URLs
    assert _stored_path(urls[0]) == urls[0]  # the index records the URL
    local = Path(_local(urls[0]))
    assert local.is_relative_to(tmp_path / "stage") and local.read_bytes() == corpus[0].read_bytes()
    assert _local(urls[0]) == str(local)  # staged once per node
    with open_video(local) as video, open_video(corpus[0]) as original:
        assert video.video_id == original.video_id  # same content, same id
        assert [c.text for c in load_transcript(video, asr="off").cues] == ["Hello kitchen"]
