"""vrag.store on both backends: Qdrant Edge (a folder) and qdrant-client (":memory:")."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from vrag.errors import ConfigError, UnknownNameError, VragError
from vrag.store import (
    IndexLockedError,
    SchemaMismatchError,
    SegmentRecord,
    Store,
    StoreError,
    StoreSchema,
    VideoRecord,
    open_store,
    segment_point_id,
)

SCHEMA = StoreSchema(
    dense={"vis": (4, "cosine"), "txt": (3, "cosine")},
    sparse_text=True,
    video_channels={"agg": 4},
    fingerprint="fp1",
    build_info={"vrag": "test"},
)
ROOT = Path(__file__).resolve().parents[1]

Opener = Callable[..., Store]


def unit(*xs: float) -> list[float]:
    v = np.asarray(xs, dtype=np.float64)
    return (v / np.linalg.norm(v)).tolist()


def seg(
    video: str, i: int, *, vis: list[float] | None = None, txt: list[float] | None = None, text: str = ""
) -> SegmentRecord:
    vectors = {"vis": vis if vis is not None else unit(1, i + 1, 0, 0)}
    if txt is not None:
        vectors["txt"] = txt
    return SegmentRecord(
        video, f"/videos/{video}.mp4", 2.0 * i, 2.0 * i + 2.0, vectors, text=text,
        keyframes=(2.0 * i + 0.5, 2.0 * i + 1.5), shots=((2 * i, 2 * i + 1.0), (2 * i + 1.0, 2 * i + 2.0)),
        extra={"lang": "en" if i % 2 == 0 else "fr"},
    )  # fmt: skip


def write_video(store: Store, video: str, records: list[SegmentRecord], **vectors: object) -> None:
    store.begin_video(video)
    store.add_segments(records)
    store.commit_video(
        VideoRecord(video, f"/videos/{video}.mp4", 2.0 * len(records), hash="h" + video, vectors=vectors)
    )  # type: ignore[arg-type]


@pytest.fixture(params=["edge", "memory"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the same index again each call (Edge: one folder; memory: one injected client)."""
    opened: list[Store] = []
    client = None
    if request.param == "memory":
        from qdrant_client import QdrantClient

        client = QdrantClient(":memory:")

    def _open(schema: StoreSchema = SCHEMA) -> Store:
        store = (
            open_store(tmp_path / "idx", schema=schema)
            if client is None
            else open_store(client=client, schema=schema)
        )
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()
    if client is not None:
        client.close()


def test_written_segment_reads_back_exactly(opener: Opener) -> None:
    store = opener()
    rec = seg("a", 3, txt=unit(1, 0, 0), text="a red car turns left")
    write_video(store, "a", [rec])
    (hit,) = store.search("vis", rec.vectors["vis"], k=5)
    assert hit.id == segment_point_id("a", 6.0, 8.0, "fp1")
    assert (hit.video_id, hit.video, hit.start, hit.end) == ("a", "/videos/a.mp4", 6.0, 8.0)
    assert hit.text == "a red car turns left"
    assert hit.keyframes == (6.5, 7.5)
    assert hit.shots == ((6.0, 7.0), (7.0, 8.0))
    assert hit.channels == ("vis", "txt", "bm25")
    assert hit.extra == {"lang": "fr"}
    assert hit.score == pytest.approx(1.0, abs=1e-5)


def test_search_ranks_nearest_first(opener: Opener) -> None:
    store = opener()
    write_video(store, "a", [seg("a", i) for i in range(6)])
    hits = store.search("vis", unit(1, 3, 0, 0), k=3)
    assert [h.start for h in hits] == [
        4.0,
        6.0,
        8.0,
    ]  # i=2 exact, then i=3 (cos .997), i=4 (.992) before i=1 (.990)
    assert hits[0].score > hits[1].score > hits[2].score


def test_uncommitted_segments_are_invisible(opener: Opener) -> None:
    store = opener()
    store.begin_video("a")
    store.add_segments([seg("a", i, text="hello") for i in range(3)])
    assert store.search("vis", unit(1, 1, 0, 0), k=5) == []
    assert store.search("bm25", "hello", k=5) == []
    assert store.count_segments() == 0 and list(store.iter_segments()) == []
    assert not store.has_video("a") and store.get_video("a") is None
    store.commit_video(VideoRecord("a", "/videos/a.mp4", 6.0))
    assert store.count_segments("a") == 3 and store.has_video("a") and store.video_status("a") == "fp1"


def test_reindexing_replaces_without_duplicates(opener: Opener) -> None:
    store = opener()
    write_video(store, "a", [seg("a", i) for i in range(4)])
    store.begin_video("a")  # re-index: the old version stays visible until the new one commits
    assert not store.has_video("a")
    store.add_segments([seg("a", 0, vis=unit(0, 0, 1, 0)), seg("a", 7)])  # one id reused, one new
    assert store.count_segments("a") == 3  # seg 0 went pending; 1-3 still committed
    store.commit_video(VideoRecord("a", "/videos/a.mp4", 16.0))
    assert [(s.start, s.end) for s in store.iter_segments("a")] == [(0.0, 2.0), (14.0, 16.0)]
    assert store.get_video("a").n_segments == 2  # type: ignore[union-attr]


def test_begin_video_drops_leftovers_and_purge_pending(opener: Opener) -> None:
    store = opener()
    store.begin_video("a")
    store.add_segments([seg("a", i) for i in range(3)])
    store.begin_video("b")
    store.add_segments([seg("b", 0)])
    store.begin_video("a")  # a crashed first attempt: its pending points go
    store.add_segments([seg("a", 5)])
    store.commit_video(VideoRecord("a", "/videos/a.mp4", 12.0))
    assert [s.start for s in store.iter_segments("a")] == [10.0]
    assert store.purge_pending() == 0  # "b" is still being written by us
    store.close()
    assert opener().purge_pending() == 1  # a new opener is writing nothing: "b"'s pending segment goes


def test_delete_video_removes_everything(opener: Opener) -> None:
    store = opener()
    write_video(store, "a", [seg("a", i) for i in range(3)], agg=np.eye(4)[:2])
    write_video(store, "b", [seg("b", i) for i in range(2)])
    store.delete_video("a")
    assert store.count_segments() == 2 and store.count_segments("a") == 0
    assert not store.has_video("a") and [v.video_id for v in store.iter_videos()] == ["b"]
    assert store.search_videos("agg", np.eye(4)[:1], k=5) == []


def test_missing_channel_and_filters(opener: Opener) -> None:
    store = opener()
    write_video(store, "a", [seg("a", i, txt=unit(1, i, 0) if i < 2 else None) for i in range(5)])
    write_video(store, "b", [seg("b", i) for i in range(5)])
    assert {h.start for h in store.search("txt", unit(1, 0, 0), k=10)} == {0.0, 2.0}
    assert {h.video_id for h in store.search("vis", unit(1, 1, 0, 0), k=10, video_ids=["b"])} == {"b"}
    timed = store.search("vis", unit(1, 1, 0, 0), k=10, after=2.0, before=8.0)
    assert sorted({(h.start, h.end) for h in timed}) == [(2.0, 4.0), (4.0, 6.0), (6.0, 8.0)]
    french = store.search("vis", unit(1, 1, 0, 0), k=10, payload_filter={"lang": "fr", "video_id": "a"})
    assert sorted(h.start for h in french) == [2.0, 6.0]
    with pytest.raises(ConfigError, match="filter 'lang'"):
        store.search("vis", unit(1, 1, 0, 0), payload_filter={"lang": 1.5})


def test_fused_search_rrf_dbsf_weights_and_bm25(opener: Opener) -> None:
    store = opener()
    recs = [
        seg("a", 0, vis=unit(1, 0, 0, 0), txt=unit(0, 1, 0), text="a dog barks"),
        seg("a", 1, vis=unit(0, 1, 0, 0), txt=unit(1, 0, 0), text="the cat sleeps"),
        seg("a", 2, vis=unit(1, 1, 0, 0), txt=unit(1, 1, 0), text="a bird sings"),
    ]
    write_video(store, "a", recs)
    queries = {"vis": unit(1, 0, 0, 0), "txt": unit(1, 0, 0)}
    assert store.search_fused(queries, k=3, weights={"vis": 3.0}, rrf_k=1)[0].start == 0.0
    assert store.search_fused(queries, k=3, weights={"txt": 3.0}, rrf_k=1)[0].start == 2.0
    assert store.search_fused(queries, k=3, fusion="dbsf")[0].start == 4.0  # good in both channels
    assert [h.start for h in store.search("bm25", "cat", k=3)] == [2.0]
    both = store.search_fused({"vis": unit(1, 0, 0, 0), "bm25": "cat"}, k=2)
    assert {h.start for h in both} == {0.0, 2.0}
    with pytest.raises(ConfigError, match="rrf"):
        store.search_fused(queries, fusion="dbsf", weights={"vis": 2.0})


def test_grouped_search_emulates_group_by(opener: Opener) -> None:
    store = opener()
    write_video(
        store, "a", [seg("a", i, vis=unit(1, 0.01 * i, 0, 0)) for i in range(6)]
    )  # all near the query
    write_video(store, "b", [seg("b", i, vis=unit(0, 1, 0.1 * i, 0)) for i in range(6)])
    write_video(store, "c", [seg("c", i, vis=unit(1, 0.5, 0, 0)) for i in range(2)])
    groups = store.search_grouped({"vis": unit(1, 0, 0, 0)}, groups=2, group_size=2)
    assert [g.video_id for g in groups] == ["a", "c"]
    assert [h.start for h in groups[0].hits] == [0.0, 2.0] and len(groups[1].hits) == 2
    assert groups[0].score == groups[0].hits[0].score
    assert [g.video_id for g in store.search_grouped({"vis": unit(1, 0, 0, 0)}, groups=5, group_size=1)] == [
        "a",
        "c",
        "b",
    ]


def test_video_level_maxsim_search(opener: Opener) -> None:
    store = opener()
    write_video(store, "a", [seg("a", 0)], agg=np.eye(4)[:2])
    write_video(store, "b", [seg("b", 0)], agg=np.eye(4)[2:])
    write_video(store, "c", [seg("c", 0)])  # no video vectors yet
    hits = store.search_videos("agg", [unit(0, 0, 1, 0.2), unit(0, 0, 0.2, 1)], k=5)
    assert [h.video_id for h in hits] == ["b", "a"]
    assert hits[0].score == pytest.approx(2 * 1 / np.sqrt(1.04), abs=1e-4)
    assert (hits[0].path, hits[0].duration, hits[0].hash, hits[0].n_segments) == (
        "/videos/b.mp4",
        2.0,
        "hb",
        1,
    )
    assert store.count_videos() == 3


def test_set_video_vectors_keeps_segments(opener: Opener) -> None:
    store = opener()
    write_video(store, "a", [seg("a", i) for i in range(3)])
    assert store.get_video("a").channels == ()  # type: ignore[union-attr]
    video = store.set_video_vectors("a", {"agg": np.eye(4)[1:3]})
    assert video.channels == ("agg",) and store.get_video("a") == video
    assert [h.video_id for h in store.search_videos("agg", np.eye(4)[2:3])] == ["a"]
    assert store.count_segments("a") == 3
    with pytest.raises(StoreError, match="not committed"):
        store.set_video_vectors("nope", {"agg": np.eye(4)[:1]})


def test_iter_segments_sorted_with_vectors(opener: Opener) -> None:
    store = opener()
    recs = [seg("a", i) for i in (3, 0, 2, 1)]
    write_video(store, "a", recs)
    segs = list(store.iter_segments("a", with_vectors=True))
    assert [s.start for s in segs] == [0.0, 2.0, 4.0, 6.0]
    np.testing.assert_allclose(segs[1].vectors["vis"], unit(1, 2, 0, 0), atol=1e-6)
    assert "bm25" not in segs[1].vectors
    assert len(list(store.iter_segments())) == 4


def test_bad_input_raises_typed_errors(opener: Opener) -> None:
    store = opener()
    with pytest.raises(StoreError, match="begin_video"):
        store.add_segments([seg("a", 0)])
    store.begin_video("a")
    with pytest.raises(ConfigError, match=r"channel 'vis' takes 4-d vectors, got shape \(3,\)"):
        store.add_segments([seg("a", 0, vis=[1.0, 0.0, 0.0])])
    with pytest.raises(ConfigError, match="NaN"):
        store.add_segments([seg("a", 0, vis=[np.nan, 0.0, 0.0, 1.0])])
    with pytest.raises(UnknownNameError, match="Did you mean 'vis'"):
        store.search("viz", unit(1, 0, 0, 0))
    with pytest.raises(ConfigError, match="encode the text"):
        store.search("vis", "a dog")
    with pytest.raises(ConfigError, match=r"\[K, 4\]"):
        store.commit_video(VideoRecord("a", "a.mp4", 1.0, vectors={"agg": np.ones((2, 3))}))


def test_schema_mismatch_says_what_differs_and_how_to_rebuild(opener: Opener) -> None:
    opener().close()
    other = StoreSchema(
        dense={"vis": (8, "cosine"), "ocr": (3, "dot")}, video_channels={"agg": 4}, fingerprint="fp2"
    )
    with pytest.raises(SchemaMismatchError) as info:
        opener(other)
    err = info.value
    assert "encoder 'vis' dim 8 vs index 4" in err.differences
    assert "encoder 'ocr' (dim 3) is not in the index" in err.differences
    assert "index has encoder 'txt' (dim 3) that is not asked for" in err.differences
    assert "pipeline fingerprint 'fp2' vs index 'fp1'" in err.differences
    assert "rebuild" in str(err) and err.location in str(err)
    ok = opener(
        StoreSchema(dense=dict(SCHEMA.dense), sparse_text=True, video_channels={"agg": 4}, fingerprint="fp1")
    )
    assert ok.count_segments() == 0  # build_info is not compared


def test_closed_store_raises(opener: Opener) -> None:
    store = opener()
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count_segments()


def test_optimize_keeps_results(opener: Opener) -> None:
    store = opener()
    write_video(store, "a", [seg("a", i) for i in range(20)])
    before = [h.id for h in store.search("vis", unit(1, 5, 0, 0), k=5)]
    store.optimize()
    store.flush()
    assert [h.id for h in store.search("vis", unit(1, 5, 0, 0), k=5)] == before
    assert [h.id for h in store.search("vis", unit(1, 5, 0, 0), k=5, exact=True)] == before


# --------------------------------------------------------------------------- Edge only


def test_edge_layout_and_reopen(tmp_path: Path) -> None:
    with open_store(tmp_path / "idx", schema=SCHEMA) as store:
        write_video(store, "a", [seg("a", i) for i in range(3)])
    names = {p.name for p in (tmp_path / "idx").iterdir()}
    assert names == {"LOCK", "STATE", "TURN", "schema.json", "segments", "videos"}
    for shard in ("segments", "videos"):  # the schema record is kept with the data too
        assert (tmp_path / "idx" / shard / "vrag-schema.json").read_text() == SCHEMA.to_json()
    with open_store(tmp_path / "idx", schema=SCHEMA) as store:
        assert store.count_segments("a") == 3 and store.has_video("a")


def test_edge_one_writer_per_folder_in_process_and_readers_beside_it(tmp_path: Path) -> None:
    first = open_store(tmp_path / "idx", schema=SCHEMA)
    second = open_store(tmp_path / "idx" / ".." / "idx", schema=SCHEMA)
    with first.writing():
        write_video(first, "a", [seg("a", i) for i in range(2)])
        assert second.count_segments() == 2 and second.has_video("a")  # reads the committed state
        with pytest.raises(IndexLockedError, match="already being written in this process") as info:
            second.begin_video("b")
        assert info.value.location == str(tmp_path / "idx")
    write_video(second, "b", [seg("b", 0)])  # the first one's session ended: the writer lock is free
    assert first.count_segments() == 3
    first.close()
    second.close()


def test_edge_refuses_a_folder_that_is_not_an_index_and_leaves_no_trace(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "holiday.mp4").write_bytes(b"x")
    with pytest.raises(StoreError, match=r"not a vrag index \(it holds holiday.mp4\)"):
        open_store(tmp_path / "videos", schema=SCHEMA)
    assert [p.name for p in (tmp_path / "videos").iterdir()] == ["holiday.mp4"]
    (tmp_path / "videos" / "holiday.mp4").unlink()
    open_store(tmp_path / "videos", schema=SCHEMA).close()


def _child(script: str, index: Path) -> subprocess.Popen[str]:
    code = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n" + script
    return subprocess.Popen(
        [sys.executable, "-c", code, str(index)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


_PRELUDE = """
import os, sys
from tests.test_store import SCHEMA, seg, write_video
from vrag.store import open_store, VideoRecord
store = open_store(sys.argv[1], schema=SCHEMA)
"""


@pytest.mark.integration
def test_edge_other_writer_gets_a_clear_error_and_readers_go_on(tmp_path: Path) -> None:
    with open_store(tmp_path / "idx", schema=SCHEMA) as store:
        write_video(store, "a", [seg("a", i) for i in range(2)])
    script = _PRELUDE + "store.begin_video('b')\nprint('ready', flush=True)\n"
    script += "sys.stdin.readline()\nstore.close()\n"
    child = _child(script, tmp_path / "idx")
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        with open_store(tmp_path / "idx", schema=SCHEMA) as store:
            assert store.count_segments() == 2 and store.has_video("a")  # a reader is never refused
            with pytest.raises(IndexLockedError, match=f"being written by process {child.pid}") as info:
                store.begin_video("c")
            assert info.value.pid == child.pid and isinstance(info.value, VragError)
    finally:
        child.communicate("\n", timeout=30)
    open_store(tmp_path / "idx", schema=SCHEMA).close()


@pytest.mark.integration
def test_edge_survives_a_crash_mid_ingest(tmp_path: Path) -> None:
    script = _PRELUDE + textwrap.dedent("""
        write_video(store, "a", [seg("a", i, text="kept") for i in range(4)])
        store.begin_video("b")
        store.add_segments([seg("b", i, text="lost") for i in range(3)])
        print("written", flush=True)
        os._exit(1)
    """)
    child = _child(script, tmp_path / "idx")
    out, _ = child.communicate(timeout=60)
    assert out.strip() == "written" and child.returncode == 1
    with open_store(tmp_path / "idx", schema=SCHEMA) as store:  # the dead process's lock is gone
        assert store.has_video("a") and store.count_segments("a") == 4
        assert not store.has_video("b") and store.count_segments("b") == 0
        assert {h.video_id for h in store.search("bm25", "lost kept", k=10)} == {"a"}
        assert store.purge_pending() == 3
        write_video(store, "b", [seg("b", i) for i in range(3)])
        assert store.count_segments() == 7


def test_import_does_not_load_qdrant() -> None:
    code = "import sys, vrag.store; print(sorted(m for m in sys.modules if m.startswith('qdrant')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"


def test_a_schema_record_round_trips_with_its_multivector_channels() -> None:
    schema = StoreSchema(
        dense={"clip": (8, "cosine"), "clip.multi": (8, "cosine", True), "minilm": (4, "dot")},
        sparse_text=True, video_channels={"minilm": 4}, fingerprint="fp", build_info={"note": 1},
    )  # fmt: skip
    again = StoreSchema.from_record(schema.to_record())
    assert again.to_record() == schema.to_record() and again.differences(schema.to_record()) == []
    assert again.dense["clip.multi"].multivector and not again.dense["clip"].multivector


def test_optimize_waits_for_enough_unindexed_segments(tmp_path: Path) -> None:
    with open_store(tmp_path / "idx", schema=SCHEMA) as store:
        write_video(store, "a", [seg("a", i) for i in range(5)])
        assert not store.optimize(min_unindexed=6)  # 5 segments searched exactly: no HNSW build yet
        write_video(store, "b", [seg("b", i) for i in range(3)])
        assert store.optimize(min_unindexed=6)  # 8 now: build
        assert store.search("vis", unit(1, 1, 0, 0), k=1)[0].video_id == "a"
