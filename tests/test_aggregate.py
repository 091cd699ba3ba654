"""vrag.aggregate: parameter-free aggregators, the learned lvmae aggregator, and video vectors in a store.

Sequences are synthetic: each video mixes a few "topics" (cluster centres from a shared pool), each topic
appearing in runs of consecutive segments, like scenes of a long video.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from vrag.aggregate import (
    AGGREGATORS,
    LVMAEConfig,
    TrainReport,
    build_video_vectors,
    coverage,
    create_aggregator,
    list_aggregators,
    store_sequences,
    train_aggregator,
)
from vrag.aggregate._lvmae import split_windows
from vrag.aggregate._train import semantic_mask
from vrag.errors import ConfigError, ModelUnavailableError, UnknownNameError

DIM = 16
# refine=0: the probe alone, so the coverage test measures what training adds
TINY = LVMAEConfig(k=4, hidden=32, depth=1, heads=2, decoder_hidden=16, decoder_depth=1, max_len=32, refine=0)


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def topic_videos(n: int, *, seed: int, pool: int = 16, noise: float = 0.35) -> list[np.ndarray]:
    """``n`` videos; each is runs of noisy copies of 2-4 topic centres drawn from a shared pool."""
    rng = np.random.default_rng(seed)
    centres = unit_rows(np.random.default_rng(99).standard_normal((pool, DIM)))
    videos = []
    for _ in range(n):
        topics = rng.choice(pool, size=int(rng.integers(2, 5)), replace=False)
        runs = [np.repeat(centres[rng.choice(topics)][None], rng.integers(1, 4), 0) for _ in range(15)]
        seq = np.concatenate(runs)
        videos.append(unit_rows(seq + noise * rng.standard_normal(seq.shape) / np.sqrt(DIM) * 2))
    return videos


def clusters(n_per: int = 10, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three tight, orthogonal clusters; returns (segments, centres)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(DIM, dtype=np.float32)[:3]
    segs = np.concatenate([c + 0.05 * rng.standard_normal((n_per, DIM)) for c in centres])
    return unit_rows(segs[rng.permutation(len(segs))]), centres


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models train ~10x faster on one thread than with intra-op threads on a busy 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainReport]:
    path = tmp_path_factory.mktemp("agg") / "ckpt"
    report = train_aggregator(topic_videos(240, seed=1), out_dir=path, config=TINY, steps=80, lr=3e-3)
    return path, report


# ------------------------------------------------------------------ parameter-free aggregators


def test_kmeans_puts_one_vector_on_each_separated_cluster() -> None:
    segs, centres = clusters()
    vectors = create_aggregator("kmeans", k=3).aggregate(segs)
    assert vectors.shape == (3, DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert sorted((vectors @ centres.T).argmax(axis=1).tolist()) == [0, 1, 2]
    assert coverage(segs, vectors) > 0.98
    assert coverage(segs, create_aggregator("mean").aggregate(segs)) < 0.7


def test_kmeans_is_deterministic_and_caps_k_by_distinct_segments() -> None:
    segs, _ = clusters(seed=3)
    agg = create_aggregator("kmeans", k=3, seed=7)
    assert np.array_equal(agg.aggregate(segs), agg.aggregate(segs))
    two = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    out = create_aggregator("kmeans", k=8).aggregate(two)
    assert out.shape == (2, 2)
    assert out[0].tolist() == [1.0, 0.0]  # the bigger cluster comes first


def test_mean_is_one_unit_vector_and_times_order_nothing_for_it() -> None:
    segs, _ = clusters()
    out = create_aggregator("mean").aggregate(segs)
    assert out.shape == (1, DIM)
    assert np.isclose(np.linalg.norm(out), 1.0)
    times = np.stack([np.arange(len(segs))[::-1], np.arange(len(segs))[::-1] + 1.0], axis=1)
    assert np.allclose(create_aggregator("mean").aggregate(segs, times), out, atol=1e-6)


def test_import_does_not_load_torch() -> None:
    code = "import sys, vrag.aggregate as a; a.create_aggregator('kmeans'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_registry_names_and_errors() -> None:
    assert list_aggregators() == ["kmeans", "lvmae", "mean"]
    with pytest.raises(UnknownNameError, match="Did you mean 'kmeans'"):
        create_aggregator("kmean")
    with pytest.raises(ConfigError, match="does not take kk"):
        AGGREGATORS.create("kmeans", kk=3)
    with pytest.raises(ConfigError, match="expected \\[n_segments, dim\\]"):
        create_aggregator("mean").aggregate(np.zeros((0, 4)))
    with pytest.raises(ConfigError, match="NaN"):
        create_aggregator("kmeans").aggregate(np.full((3, 4), np.nan))


# ------------------------------------------------------------------ lvmae


def test_training_raises_coverage_over_the_untrained_model(
    trained: tuple[Path, TrainReport], tmp_path: Path
) -> None:
    path, report = trained
    assert report.coverage_after > report.coverage_before + 0.05
    assert report.loss_last < report.loss_first
    held_out = topic_videos(40, seed=2)
    untrained = tmp_path / "untrained"
    train_aggregator(held_out, out_dir=untrained, config=TINY, steps=0)
    scores = {}
    for name, where in (("trained", path), ("untrained", untrained)):
        agg = create_aggregator("lvmae", path=where)
        vectors = agg.aggregate_many(held_out)
        scores[name] = np.mean([coverage(s, v) for s, v in zip(held_out, vectors, strict=True)])
    mean = create_aggregator("mean")
    assert scores["trained"] > scores["untrained"] + 0.05  # same initialisation (seed 0), before training
    assert scores["trained"] > np.mean([coverage(s, mean.aggregate(s)) for s in held_out])


def test_outputs_do_not_depend_on_padding(trained: tuple[Path, TrainReport]) -> None:
    agg = create_aggregator("lvmae", path=trained[0])
    short, long = topic_videos(2, seed=5)
    short = short[:9]
    alone = agg.aggregate(short)
    batched = agg.aggregate_many([long, short, long[:3]])
    assert alone.shape == (4, DIM)
    assert np.allclose(batched[1], alone, atol=1e-5)
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)


def test_windowing_covers_sequences_longer_than_max_len(trained: tuple[Path, TrainReport]) -> None:
    assert split_windows(10, 32) == [(0, 10)]
    spans = split_windows(100, 32)
    assert len(spans) == 4 and spans[0][0] == 0 and spans[-1][1] == 100
    assert all(b - a <= 32 and nxt[0] == b for (a, b), nxt in zip(spans, [*spans[1:], (100, 0)], strict=True))
    agg = create_aggregator("lvmae", path=trained[0])
    seq = np.concatenate(topic_videos(6, seed=6))[:100]
    assert len(seq) > 3 * TINY.max_len
    out = agg.aggregate(seq)
    assert out.shape == (4, DIM) and np.isfinite(out).all()
    changed_tail = seq.copy()
    changed_tail[-5:] = unit_rows(np.random.default_rng(0).standard_normal((5, DIM)))
    assert not np.allclose(agg.aggregate(changed_tail), out, atol=1e-4)  # the last window is read too


def test_semantic_masking_masks_the_scene_changes() -> None:
    a, b, c = np.eye(4, dtype=np.float32)[:3]
    seq = np.stack([a, a, a, b, b, b, c, c])
    masked = semantic_mask(seq, 0.25)
    assert masked.tolist() == [False, False, False, True, False, False, True, False]
    assert not semantic_mask(seq, 0.5)[0]  # the first segment has no predecessor: always kept


def test_resume_continues_and_refuses_another_config(tmp_path: Path) -> None:
    data = topic_videos(30, seed=4)
    first = train_aggregator(data, out_dir=tmp_path, config=TINY, steps=6)
    again = train_aggregator(data, out_dir=tmp_path, config=TINY, steps=10)
    assert (first.start_step, first.steps, again.start_step, again.steps) == (0, 6, 6, 10)
    with pytest.raises(ConfigError, match="another configuration"):
        train_aggregator(data, out_dir=tmp_path, config=LVMAEConfig(k=2, hidden=32, heads=2), steps=12)


def test_a_run_killed_after_a_checkpoint_resumes_to_the_uninterrupted_weights(tmp_path: Path) -> None:
    import json

    from safetensors.torch import load_file

    data = topic_videos(30, seed=4)
    train_aggregator(data, out_dir=tmp_path / "whole", config=TINY, steps=10, save_every=3)

    def die(step: int, total: int, loss: float) -> None:
        if step == 7:
            raise KeyboardInterrupt  # killed after the step-6 checkpoint

    with pytest.raises(KeyboardInterrupt):
        train_aggregator(data, out_dir=tmp_path / "cut", config=TINY, steps=10, save_every=3, progress=die)
    resumed = train_aggregator(data, out_dir=tmp_path / "cut", config=TINY, steps=10, save_every=3)
    assert resumed.start_step == 6
    whole, cut = (load_file(str(tmp_path / d / "model.safetensors")) for d in ("whole", "cut"))
    assert all(torch.equal(whole[k], cut[k]) for k in whole)
    meta = tmp_path / "cut" / "aggregator.json"  # a crash between the files: the step records disagree
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "step": 3}))
    with pytest.raises(ConfigError, match="not written completely"):
        train_aggregator(data, out_dir=tmp_path / "cut", config=TINY, steps=12)


def test_checkpoint_records_the_index_schema(tmp_path: Path) -> None:
    schema = {"fingerprint": "fp-a", "dense": {"minilm": {"dim": DIM, "distance": "cosine"}}}
    train_aggregator(topic_videos(8, seed=4), out_dir=tmp_path, config=TINY, steps=0, schema=schema)
    create_aggregator("lvmae", path=tmp_path, expect_schema=schema)
    with pytest.raises(ConfigError, match="trained on another index") as info:
        create_aggregator("lvmae", path=tmp_path, expect_schema={**schema, "fingerprint": "fp-b"})
    assert str(tmp_path) in str(info.value)
    with pytest.raises(ModelUnavailableError, match="no trained aggregator here"):
        create_aggregator("lvmae", path=tmp_path / "missing")
    with pytest.raises(ConfigError, match=f"takes {DIM}-d vectors"):
        create_aggregator("lvmae", path=tmp_path).aggregate(np.ones((3, DIM + 1)))


# ------------------------------------------------------------------ in a store


def test_video_vectors_in_a_store_find_the_video_of_a_segment() -> None:
    from vrag.store import SegmentRecord, StoreSchema, VideoRecord, open_store

    schema = StoreSchema(dense={"txt": (DIM, "cosine")}, video_channels={"txt": DIM}, fingerprint="t")
    videos = topic_videos(6, seed=8, noise=0.1)
    with open_store(":memory:", schema=schema) as store:
        for v, seq in enumerate(videos):
            store.begin_video(f"v{v}")
            order = np.random.default_rng(v).permutation(len(seq))  # written out of time order
            store.add_segments(
                SegmentRecord(f"v{v}", f"v{v}.mp4", 2.0 * i, 2.0 * i + 2, {"txt": seq[i]}) for i in order
            )
            store.commit_video(VideoRecord(f"v{v}", f"v{v}.mp4", 2.0 * len(seq)))
        read = {video.video_id: emb for video, emb, _ in store_sequences(store, "txt")}
        assert np.allclose(read["v3"], videos[3], atol=1e-6)  # back in time order
        report = build_video_vectors(store, create_aggregator("kmeans", k=4), channel="txt", batch=4)
        assert (report.videos, report.skipped) == (6, 0)
        assert report.coverage is not None and report.coverage > 0.9
        assert store.get_video("v2").channels == ("txt",)  # type: ignore[union-attr]
        hits = [store.search_videos("txt", videos[v][7], k=1)[0].video_id for v in range(6)]
        assert sum(h == f"v{v}" for v, h in enumerate(hits)) >= 5
        with pytest.raises(ConfigError, match="video channel"):
            build_video_vectors(store, create_aggregator("mean"), channel="nope")
