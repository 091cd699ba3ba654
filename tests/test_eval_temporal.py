"""Temporal-understanding diagnostic: the procedural renderer and the spatial-vs-temporal matching eval.

The frame-average baseline must land exactly at chance on pairs that differ only in order, while it still
tells content apart; the tiny encoders have random weights, so beyond that only the mechanics are checked.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from vrag.errors import ConfigError, UnknownNameError
from vrag.eval._shapes import (
    MOTIONS,
    ShapeScene,
    caption,
    caption_sequence,
    render,
    render_sequence,
    reversed_scene,
    scenes,
)
from vrag.eval._temporal import (
    SPATIAL_KINDS,
    TEMPORAL_KINDS,
    TEST_ONLY_NOTE,
    TemporalReport,
    TemporalRow,
    build_suite,
    expand_names,
    match_scores,
    run_temporal_eval,
    score_pairs,
)

FRAME_AVERAGE = ["frames-test", "siglip-frames-test"]
RED_CIRCLE = ShapeScene("circle", "red", "blue", "left-to-right")


def shape_centre(clip: np.ndarray, background: tuple[int, int, int]) -> list[tuple[float, float] | None]:
    """Per frame, the (x, y) centroid of pixels that are not background, or None when there are none."""
    out: list[tuple[float, float] | None] = []
    for frame in clip:
        ys, xs = np.nonzero(np.abs(frame.astype(int) - background).sum(-1) > 60)
        out.append((float(xs.mean()), float(ys.mean())) if xs.size else None)
    return out


# ---------------------------------------------------------------- renderer


def test_render_is_deterministic_and_the_seed_only_jitters() -> None:
    clip = render(RED_CIRCLE, frames=6, size=48, seed=3)
    assert clip.shape == (6, 48, 48, 3) and clip.dtype == np.uint8
    np.testing.assert_array_equal(clip, render(RED_CIRCLE, frames=6, size=48, seed=3))
    other = render(RED_CIRCLE, frames=6, size=48, seed=4)
    assert not np.array_equal(clip, other)
    # a different seed draws the same content: same colours present, object within a few pixels
    a, b = shape_centre(clip, (40, 80, 220)), shape_centre(other, (40, 80, 220))
    assert all(abs(p[0] - q[0]) < 6 and abs(p[1] - q[1]) < 6 for p, q in zip(a, b, strict=True) if p and q)
    assert tuple(clip[0, 0, 0]) == (40, 80, 220)
    assert (np.abs(clip.astype(int) - (220, 40, 40)).sum(-1) < 10).any()


@pytest.mark.parametrize(
    ("motion", "axis", "sign"),
    [("left-to-right", 0, 1), ("right-to-left", 0, -1), ("up", 1, -1), ("down", 1, 1)],
)
def test_motions_move_the_way_they_say(motion: str, axis: int, sign: int) -> None:
    clip = render(ShapeScene("square", "white", "black", motion), frames=8, size=64, seed=1)
    track = [c[axis] for c in shape_centre(clip, (15, 15, 15)) if c]
    assert len(track) == 8
    assert all(sign * (b - a) > 2 for a, b in itertools.pairwise(track))


def test_appear_and_disappear() -> None:
    appear = render(ShapeScene("triangle", "yellow", "black", "appear"), frames=8, size=32)
    seen = [c is not None for c in shape_centre(appear, (15, 15, 15))]
    assert seen == [False] * 4 + [True] * 4


@pytest.mark.parametrize("motion", MOTIONS)
def test_reversed_motion_is_the_exact_time_reversal(motion: str) -> None:
    scene = ShapeScene("diamond", "green", "white", motion)
    back = reversed_scene(scene)
    assert reversed_scene(back) == scene
    for frames in (4, 7):
        clip = render(scene, frames=frames, size=40, seed=9)
        np.testing.assert_array_equal(render(back, frames=frames, size=40, seed=9), clip[::-1])


def test_a_then_b_reversed_is_b_then_a() -> None:
    a, b = ShapeScene("circle", "red", "grey"), ShapeScene("square", "yellow", "grey")
    ab = render_sequence([a, b], frames=8, size=32, seed=2)
    np.testing.assert_array_equal(ab[:4], np.stack([render(a, frames=1, size=32, seed=2)[0]] * 4))
    np.testing.assert_array_equal(ab[::-1], render_sequence([b, a], frames=8, size=32, seed=2))
    assert (
        caption_sequence([a, b])
        == "a red circle on a grey background, then a yellow square on a grey background"
    )


def test_captions_and_random_scenes() -> None:
    assert caption(RED_CIRCLE) == "a red circle moving left to right on a blue background"
    assert caption(ShapeScene("square", "orange", "white", "disappear")) == (
        "an orange square disappearing on a white background"
    )
    drawn = scenes(7, 40)
    assert drawn == scenes(7, 40) and drawn != scenes(8, 40)
    assert all(s.colour != s.background for s in drawn)
    assert len({s.motion for s in drawn}) > 4 and len({s.shape for s in drawn}) > 2


def test_bad_scenes_say_what_to_use() -> None:
    with pytest.raises(ConfigError, match=r"hexagon.*square"):
        ShapeScene("hexagon", "red", "blue")
    with pytest.raises(ConfigError, match="invisible"):
        ShapeScene("circle", "red", "red")
    with pytest.raises(ConfigError, match="frames"):
        render(RED_CIRCLE, frames=0)


# ---------------------------------------------------------------- the suite and the scoring


def test_suite_pairs_differ_along_one_axis() -> None:
    suite = build_suite(seed=5, pairs_per_kind=3)
    assert [p.kind for p in suite] == [k for k in (*TEMPORAL_KINDS, *SPATIAL_KINDS) for _ in range(3)]
    assert [p.seeds for p in suite] == [p.seeds for p in build_suite(seed=5, pairs_per_kind=3)]
    for pair in suite:
        x_a, y_a, x_b, y_b = pair.render(frames=4, size=32)
        assert not np.array_equal(x_a, x_b)  # the two renders differ by jitter
        if pair.temporal:  # same frames, opposite order
            np.testing.assert_array_equal(y_b, x_b[::-1])
            np.testing.assert_array_equal(y_a, x_a[::-1])
            assert not np.array_equal(x_b, y_b)
            np.testing.assert_array_equal(y_b, render_sequence(pair.y, frames=4, size=32, seed=pair.seeds[1]))
        else:  # same order and placement, one attribute changed
            assert [s.motion for s in pair.x] == [s.motion for s in pair.y]
            assert (
                sum(getattr(pair.x[0], f) != getattr(pair.y[0], f) for f in ("shape", "colour", "background"))
                == 1
            )


def test_match_scores_on_hand_built_vectors() -> None:
    anchor = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    positive = np.array([[0.9, 0.1], [0.0, 1.0], [0.6, 0.8], [3.0, 0.3]])
    negative = np.array([[0.0, 1.0], [0.9, 0.1], [0.6, 0.8], [0.1, 1.0]])
    np.testing.assert_array_equal(match_scores(anchor, positive, negative), [1.0, 0.0, 0.5, 1.0])
    # a difference below tie_eps is a tie; above it, a decision
    near = np.array([[1.0, 1e-2]])  # cosine 1 - 5e-5 to the anchor
    assert match_scores(anchor[:1], near, anchor[:1] * 5, tie_eps=1e-6)[0] == 0.0
    assert match_scores(anchor[:1], near, anchor[:1], tie_eps=1e-3)[0] == 0.5


def test_score_pairs_averages_both_anchors() -> None:
    e1, e2, e3 = np.eye(3)
    right = [e1, e2, e1 + 0.1 * e3, e2 + 0.1 * e3]  # x_a, y_a, x_b, y_b: each anchor nearer its own side
    blind = [e1, e1, e1 + 0.1 * e3, e1 + 0.1 * e3]  # y embeds exactly as x
    half = [e1, e1 + 0.5 * e2, e1 + 0.1 * e2, e1 + 0.2 * e3]  # x-anchored right, y-anchored wrong
    np.testing.assert_allclose(score_pairs(np.array([right, blind, half])), [1.0, 0.5, 0.5])
    wrong = [e1, e2, e2, e1]
    assert score_pairs(np.array([wrong]))[0] == 0.0


def test_row_numbers_are_computed_from_the_scores() -> None:
    kinds = ["direction", "direction", "order", "colour", "colour", "shape"]
    row = TemporalRow.from_scores("enc", kinds, np.array([1.0, 0.5, 0.0, 1.0, 1.0, 0.25]))
    assert row.temporal == pytest.approx(0.5) and row.spatial == pytest.approx(0.75)
    assert row.bias == pytest.approx((0.75 - 0.5) / 0.75)
    assert dict(row.kinds) == {"direction": 0.75, "order": 0.0, "colour": 1.0, "shape": 0.25}
    assert row.temporal_stderr == pytest.approx(np.std([1.0, 0.5, 0.0], ddof=1) / np.sqrt(3))
    assert row.pairs == 6 and row.ok


# ---------------------------------------------------------------- real (tiny) encoders


@pytest.fixture(scope="module")
def report() -> TemporalReport:
    return run_temporal_eval([*FRAME_AVERAGE, "videomae-test"], pairs_per_kind=8, seed=0, device="cpu")


def test_frame_average_is_exactly_at_chance_on_order_and_sees_content(report: TemporalReport) -> None:
    rows = {r.encoder: r for r in report.rows}
    for name in FRAME_AVERAGE:
        row = rows[name]
        assert row.temporal == 0.5
        assert all(row.kinds[k] == 0.5 for k in TEMPORAL_KINDS)
        assert row.spatial is not None and row.spatial >= 0.7
        assert row.kinds["background"] == 1.0
        assert row.frame_average and row.test_only and row.pairs == 48
        assert row.bias == pytest.approx((row.spatial - 0.5) / row.spatial)


def test_spatiotemporal_encoder_is_not_forced_to_chance(report: TemporalReport) -> None:
    from vrag.encoders import create_encoder

    row = next(r for r in report.rows if r.encoder == "videomae-test")
    assert row.temporal != 0.5 and not row.frame_average
    # random weights: only that reversed clips embed differently, not how well they are told apart
    enc = create_encoder("videomae-test", device="cpu", dtype="float32")
    pairs = [p for p in build_suite(seed=0, pairs_per_kind=4) if p.temporal]
    clips = np.concatenate([p.render(frames=enc.spec.frames, size=64) for p in pairs])
    scores = score_pairs(enc.encode_video(clips).reshape(len(pairs), 4, -1))
    assert (scores != 0.5).sum() >= len(pairs) // 2


def test_table_and_json_mark_test_weights(report: TemporalReport) -> None:
    table = report.format_table()
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["encoder", "spatial", "temporal", "bias"]
    for name in (*FRAME_AVERAGE, "videomae-test"):
        line = next(line for line in lines if line.startswith(name + " "))
        assert TEST_ONLY_NOTE in line
    assert "0.50±0.00" in next(line for line in lines if line.startswith("frames-test "))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["rows"][0]["temporal"] == 0.5 and data["rows"][0]["note"].startswith(TEST_ONLY_NOTE)
    assert data["pairs_per_kind"] == 8 and data["chance"] == 0.5


def test_unavailable_weights_give_a_row_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    result = run_temporal_eval(["videomae-base", "frames-test"], pairs_per_kind=1, device="cpu")
    missing, ran = result.rows
    assert not missing.ok and missing.spatial is None and "MCG-NJU/videomae-base" in missing.reason
    assert ran.ok and ran.temporal == 0.5
    assert "not run: " in result.format_table() and result.to_dict()["rows"][0]["bias"] is None


def test_bad_encoder_names_fail_before_anything_runs() -> None:
    with pytest.raises(UnknownNameError, match="videomae-test"):
        run_temporal_eval(["frames-test", "videomae-tset"], pairs_per_kind=1, device="cpu")
    with pytest.raises(ConfigError, match="matches"):
        run_temporal_eval(["nothing-like-this-*"], pairs_per_kind=1, device="cpu")
    with pytest.raises(ConfigError, match="list"):
        run_temporal_eval("frames-test", device="cpu")


def test_globs_expand_and_text_encoders_get_a_row() -> None:
    assert expand_names(["*-frames-test", "frames-test", "siglip-frames-test"]) == [
        "siglip-frames-test",
        "frames-test",
    ]
    (row,) = run_temporal_eval(["minilm"], pairs_per_kind=1, device="cpu").rows
    assert not row.ok and "text encoder" in row.reason


def test_cli_eval_temporal_json_shows_the_frame_average_at_chance(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from vrag.cli import main as cli

    assert cli(["eval", "temporal", "--encoder", "frames-test", "--pairs", "2", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["encoder"] == "frames-test" and row["temporal"] == 0.5 and row["spatial"] > 0.5
    assert cli(["eval", "temporal"]) == 2 and "--encoder" in capsys.readouterr().err
