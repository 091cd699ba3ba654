"""Temporal-understanding diagnostic (UVRB-style): does an encoder see *order*, or only *content*?

The suite is procedural (:mod:`vrag.eval._shapes`): each pair of clips ``(x, y)`` differs along exactly one
axis.

* **Temporal pairs** — ``y`` is ``x`` played backwards, frame for frame, so both clips hold the very same
  frames and only their order differs. Kinds: ``direction`` (left→right vs right→left, up vs down),
  ``appearance`` (appear vs disappear) and ``order`` (A then B vs B then A).
* **Spatial pairs** — ``y`` is ``x`` with one attribute changed, same motion and same placement: ``colour``
  (of the shape), ``shape`` and ``background``.

Protocol — a matching task with a known chance level. Every clip is rendered twice with different jitter
seeds (the object's size and placement move a little): ``x_a, x_b, y_a, y_b``. One trial asks whether the
anchor ``x_a`` is closer (cosine) to the positive ``x_b`` than to the negative ``y_b``: right scores 1, wrong
0, and a tie (``|cos(a, p) − cos(a, n)| < tie_eps``) 0.5. Each pair is scored twice, anchored on ``x`` and on
``y`` (``y_a`` vs ``y_b`` / ``x_b``), and the two trials are averaged, so a general preference for one
direction of motion earns nothing.

Why this design:

* The positive and the negative share their jitter, so the attribute under test is the *only* thing that can
  separate them; the anchor differs from both by jitter, so an encoder has to generalise over small
  changes of placement, as it must on real video.
* For temporal pairs a frame-average encoder embeds ``y_b`` exactly as ``x_b`` (same frames), every trial
  ties, and its temporal accuracy is **exactly 0.5 = chance by construction**, not by luck. (Using the
  reversed *anchor* as the negative would instead make it score 0 — an artefact, not a measurement.)
* Matching needs only ``encode_video``, so every visual encoder — text-aligned or not — is measured the same
  way, and language grounding does not leak into the score.

Reported per encoder: spatial and temporal accuracy (means over pairs, with standard errors), per-kind
accuracies, and the bias score ``(spatial − temporal) / spatial``. Read the bias against chance: an encoder
that is blind to order has temporal = 0.5, so its bias is ``(spatial − 0.5) / spatial``, not 1; a bias near 0
means order is seen as well as content. Test-only encoders have random weights: their rows are marked
"random weights (test only)" and say nothing about any model's ability.

Example:
    >>> report = run_temporal_eval(["frames-test"], pairs_per_kind=2, device="cpu")
    >>> report.rows[0].temporal
    0.5
"""

from __future__ import annotations

import math
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from vrag.errors import ConfigError, ModelUnavailableError
from vrag.eval._shapes import COLOURS, SHAPES, ShapeScene, render_sequence, reversed_scene

if TYPE_CHECKING:
    from vrag.encoders._base import VideoEncoder

__all__ = [
    "CHANCE",
    "SPATIAL_KINDS",
    "TEMPORAL_KINDS",
    "ClipPair",
    "TemporalReport",
    "TemporalRow",
    "build_suite",
    "expand_names",
    "match_scores",
    "run_temporal_eval",
    "score_pairs",
]

TEMPORAL_KINDS = ("direction", "appearance", "order")
SPATIAL_KINDS = ("colour", "shape", "background")
CHANCE = 0.5
#: cosine differences below this count as ties: 10x float32 noise (~1e-7 for a reordered mean)
TIE_EPS = 1e-6
TEST_ONLY_NOTE = "random weights (test only)"
_DIRECTIONS = ("left-to-right", "right-to-left", "up", "down")
_MIN_SIZE = 64  # render at least this large; the encoder's antialiased resize brings it down


@dataclass(frozen=True)
class ClipPair:
    """Two clips that differ along one axis; each side is a sequence of scenes (one part, or "A then B").

    Attributes:
        kind: one of :data:`TEMPORAL_KINDS` or :data:`SPATIAL_KINDS`.
        x: the scenes of the first clip, in the order shown.
        y: the scenes of the second clip; for temporal kinds this describes ``x`` played backwards.
        seeds: jitter seeds ``(anchor, positive/negative)``.
    """

    kind: str
    x: tuple[ShapeScene, ...]
    y: tuple[ShapeScene, ...]
    seeds: tuple[int, int]

    @property
    def temporal(self) -> bool:
        return self.kind in TEMPORAL_KINDS

    def render(self, *, frames: int, size: int) -> np.ndarray:
        """uint8 ``[4, frames, size, size, 3]``: ``x_a, y_a, x_b, y_b`` (``a``/``b``: the two jitter seeds).

        For temporal kinds ``y`` is rendered as ``x`` reversed in time, so both hold exactly the same frames.
        """
        clips = []
        for seed in self.seeds:
            x = render_sequence(self.x, frames=frames, size=size, seed=seed)
            y = x[::-1] if self.temporal else render_sequence(self.y, frames=frames, size=size, seed=seed)
            clips += [x, y]
        return np.stack(clips)


def build_suite(seed: int = 0, pairs_per_kind: int = 16) -> list[ClipPair]:
    """The procedural pairs: ``pairs_per_kind`` of each temporal and spatial kind; same seed, same pairs."""
    if pairs_per_kind < 1:
        raise ConfigError(f"pairs_per_kind={pairs_per_kind}: pass at least 1")
    rng = np.random.default_rng(seed)
    pairs = []
    for kind in (*TEMPORAL_KINDS, *SPATIAL_KINDS):
        for _ in range(pairs_per_kind):
            x, y = _make_pair(kind, rng)
            a, b = (int(s) for s in rng.choice(2**31, size=2, replace=False))
            pairs.append(ClipPair(kind, x, y, (a, b)))
    return pairs


def _make_pair(kind: str, rng: np.random.Generator) -> tuple[tuple[ShapeScene, ...], tuple[ShapeScene, ...]]:
    colour, background = _pick(rng, list(COLOURS), 2)
    shape = _pick(rng, list(SHAPES), 1)[0]
    if kind == "order":
        first = ShapeScene(shape, colour, background)
        other_shape = _pick(rng, [s for s in SHAPES if s != shape], 1)[0]
        other_colour = _pick(rng, [c for c in COLOURS if c not in (colour, background)], 1)[0]
        second = ShapeScene(other_shape, other_colour, background)
        return (first, second), (second, first)
    motions = {"direction": _DIRECTIONS, "appearance": ("appear", "disappear")}.get(kind)
    motion = _pick(rng, list(motions or ("static", *_DIRECTIONS, "appear", "disappear")), 1)[0]
    scene = ShapeScene(shape, colour, background, motion)
    if kind in TEMPORAL_KINDS:
        return (scene,), (reversed_scene(scene),)
    if kind == "colour":
        other = replace(scene, colour=_pick(rng, [c for c in COLOURS if c not in (colour, background)], 1)[0])
    elif kind == "shape":
        other = replace(scene, shape=_pick(rng, [s for s in SHAPES if s != shape], 1)[0])
    else:
        other = replace(
            scene, background=_pick(rng, [c for c in COLOURS if c not in (colour, background)], 1)[0]
        )
    return (scene,), (other,)


def _pick(rng: np.random.Generator, options: list[str], n: int) -> list[str]:
    return [options[i] for i in rng.choice(len(options), size=n, replace=False)]


# ---------------------------------------------------------------- scoring


def match_scores(
    anchor: np.ndarray, positive: np.ndarray, negative: np.ndarray, *, tie_eps: float = TIE_EPS
) -> np.ndarray:
    """Score matching trials: 1 if the anchor is nearer the positive, 0 if nearer the negative, 0.5 on a tie.

    Args:
        anchor: ``[N, D]`` vectors (normalised here; any scale).
        positive: ``[N, D]``, same content and order as the anchor.
        negative: ``[N, D]``, the changed clip.
        tie_eps: cosine differences smaller than this are ties.

    Returns:
        float64 ``[N]`` of 0, 0.5 or 1.
    """
    a, p, n = (_unit(v) for v in (anchor, positive, negative))
    if not a.shape == p.shape == n.shape or a.ndim != 2:
        raise ConfigError(
            f"match_scores needs three [N, D] arrays of one shape, got {anchor.shape}, {positive.shape}, "
            f"{negative.shape}"
        )
    diff = (a * p).sum(axis=1) - (a * n).sum(axis=1)
    return np.where(np.abs(diff) < tie_eps, 0.5, (diff > 0).astype(np.float64))


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def score_pairs(embeddings: np.ndarray, *, tie_eps: float = TIE_EPS) -> np.ndarray:
    """Per-pair accuracy from embeddings ``[P, 4, D]`` of ``x_a, y_a, x_b, y_b`` (the order of
    :meth:`ClipPair.render`): the mean of the trial anchored on ``x`` and the one anchored on ``y``."""
    e = np.asarray(embeddings)
    if e.ndim != 3 or e.shape[1] != 4:
        raise ConfigError(f"score_pairs needs embeddings of shape [pairs, 4, dim], got {e.shape}")
    x_a, y_a, x_b, y_b = (e[:, i] for i in range(4))
    on_x = match_scores(x_a, x_b, y_b, tie_eps=tie_eps)
    on_y = match_scores(y_a, y_b, x_b, tie_eps=tie_eps)
    return (on_x + on_y) / 2


# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class TemporalRow:
    """One encoder's result (or why it has none).

    Attributes:
        encoder: the name asked for.
        spatial: mean accuracy over spatial pairs (chance 0.5); ``None`` if the encoder did not run.
        temporal: mean accuracy over temporal pairs (chance 0.5).
        bias: ``(spatial − temporal) / spatial``.
        kinds: accuracy per pair kind.
        spatial_stderr: standard error of ``spatial`` over pairs.
        temporal_stderr: standard error of ``temporal`` over pairs.
        pairs: number of pairs scored.
        test_only: random-weight test encoder: the numbers say nothing about a model.
        frame_average: per-frame image encoder averaged over time (blind to order by construction).
        frames: frames per clip fed to the encoder.
        size: rendered frame size (the encoder resizes it).
        seconds: wall time to render and encode the suite.
        reason: why there is no result (weights not available here, ...); empty when it ran.
    """

    encoder: str
    spatial: float | None = None
    temporal: float | None = None
    bias: float | None = None
    kinds: Mapping[str, float] = field(default_factory=dict)
    spatial_stderr: float | None = None
    temporal_stderr: float | None = None
    pairs: int = 0
    test_only: bool = False
    frame_average: bool = False
    frames: int = 0
    size: int = 0
    seconds: float = 0.0
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.spatial is not None

    @property
    def note(self) -> str:
        """What a reader must know before reading the numbers."""
        if not self.ok:
            return f"not run: {self.reason}"
        notes = [TEST_ONLY_NOTE] if self.test_only else []
        if self.frame_average:
            notes.append("frame average")
        return "; ".join(notes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder,
            "spatial": _round(self.spatial),
            "temporal": _round(self.temporal),
            "bias": _round(self.bias),
            "kinds": {k: _round(v) for k, v in self.kinds.items()},
            "spatial_stderr": _round(self.spatial_stderr),
            "temporal_stderr": _round(self.temporal_stderr),
            "pairs": self.pairs,
            "test_only": self.test_only,
            "frame_average": self.frame_average,
            "frames": self.frames,
            "size": self.size,
            "seconds": round(self.seconds, 3),
            "note": self.note,
            "reason": self.reason,
        }

    @classmethod
    def from_scores(cls, encoder: str, kinds: Sequence[str], scores: np.ndarray, **info: Any) -> TemporalRow:
        """Summarise per-pair scores (``kinds[i]`` is the kind of pair ``i``)."""
        kind_arr = np.asarray(kinds)
        scores = np.asarray(scores, np.float64)
        if kind_arr.shape != scores.shape or not scores.size:
            raise ConfigError(f"one score per pair needed: {kind_arr.shape} kinds, {scores.shape} scores")
        spatial_mask = np.isin(kind_arr, SPATIAL_KINDS)
        temporal_mask = np.isin(kind_arr, TEMPORAL_KINDS)
        spatial, s_err = _mean_err(scores[spatial_mask])
        temporal, t_err = _mean_err(scores[temporal_mask])
        per_kind = {k: float(scores[kind_arr == k].mean()) for k in dict.fromkeys(kinds)}
        bias = None if not spatial or temporal is None else (spatial - temporal) / spatial
        return cls(
            encoder, spatial, temporal, bias, per_kind, s_err, t_err, int(scores.size), **info
        )  # fmt: skip


def _mean_err(values: np.ndarray) -> tuple[float | None, float | None]:
    if not values.size:
        return None, None
    err = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else None
    return float(values.mean()), err


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


@dataclass(frozen=True)
class TemporalReport:
    """Rows per encoder from :func:`run_temporal_eval`, and how the suite was built.

    Attributes:
        rows: one per encoder asked for, in order.
        seed: the suite's seed.
        pairs_per_kind: pairs of each kind.
        tie_eps: cosine differences below this were ties (scored 0.5).
        chance: accuracy of an encoder that cannot tell the clips of a pair apart (0.5).
    """

    rows: tuple[TemporalRow, ...]
    seed: int
    pairs_per_kind: int
    tie_eps: float = TIE_EPS
    chance: float = CHANCE

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "pairs_per_kind": self.pairs_per_kind,
            "tie_eps": self.tie_eps,
            "chance": self.chance,
            "temporal_kinds": list(TEMPORAL_KINDS),
            "spatial_kinds": list(SPATIAL_KINDS),
            "rows": [r.to_dict() for r in self.rows],
        }

    def format_table(self) -> str:
        """A plain-text table, one row per encoder, with a legend below."""
        kinds = (*TEMPORAL_KINDS, *SPATIAL_KINDS)
        head = ["encoder", "spatial", "temporal", "bias", *kinds, "pairs", "note"]
        body = [head]
        for r in self.rows:
            nums = [
                _pm(r.spatial, r.spatial_stderr),
                _pm(r.temporal, r.temporal_stderr),
                _fmt(r.bias),
                *(_fmt(r.kinds.get(k)) for k in kinds),
            ]
            body.append([r.encoder, *nums, str(r.pairs) if r.ok else "-", _shorten(r.note)])
        widths = [max(len(row[i]) for row in body) for i in range(len(head) - 1)]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1] for row in body
        ]
        legend = (
            f"accuracy of matching an anchor clip to the right one of a pair (chance {self.chance:.2f}, ± is "
            f"the standard error); temporal pairs differ only in frame order ({', '.join(TEMPORAL_KINDS)}), "
            f"spatial pairs only in content ({', '.join(SPATIAL_KINDS)}); bias = (spatial - temporal) / "
            f"spatial; seed {self.seed}, {self.pairs_per_kind} pairs per kind"
        )
        if any(_shorten(r.note) != r.note for r in self.rows):
            legend += "; long reasons are cut here, the JSON output (to_dict) has them whole"
        return "\n".join([*(line.rstrip() for line in lines), "", *textwrap.wrap(legend, 110)])


def _shorten(note: str, width: int = 100) -> str:
    """A long reason cut to one table cell (``to_dict`` keeps it whole)."""
    return note if len(note) <= width else note[: width - 1].rstrip() + "…"


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _pm(v: float | None, err: float | None) -> str:
    return _fmt(v) if err is None or v is None else f"{v:.2f}±{err:.2f}"


# ---------------------------------------------------------------- running


def run_temporal_eval(
    encoders: Sequence[str],
    *,
    pairs_per_kind: int = 16,
    seed: int = 0,
    device: str | None = None,
    dtype: str | None = "float32",
    tie_eps: float = TIE_EPS,
    progress: bool = False,
) -> TemporalReport:
    """Measure spatial vs temporal understanding of each encoder on the procedural suite.

    Args:
        encoders: registry names (``"videomae-base"``; test-only ``"*-test"`` names allowed), registry
            globs (``"*-test"``, ``"*"``), ``hf:`` ids or model directories (as
            :func:`vrag.encoders.create_encoder` takes).
        pairs_per_kind: pairs of each of the six kinds (each pair is 4 clips).
        seed: the suite's seed (same seed, same clips).
        device: where encoders run (default: CUDA when present).
        dtype: compute dtype; float32 by default so near-ties are not rounding noise.
        tie_eps: cosine differences below this count as ties (0.5).
        progress: print one line per encoder to stderr.

    Returns:
        A :class:`TemporalReport`; an encoder that cannot run here (weights not available, options
        missing, a text-only encoder) gets a row with the reason instead of numbers.

    Raises:
        UnknownNameError: a name is not registered (checked before anything runs).
        ConfigError: an invalid option, or a glob that matches nothing.
    """
    if isinstance(encoders, str):
        raise ConfigError(f"pass a list of encoder names, not a string: run_temporal_eval([{encoders!r}])")
    if not encoders:
        raise ConfigError("no encoders to evaluate; pass e.g. ['videomae-base', 'clip-vit-b32-frames']")
    names = expand_names(encoders)
    suite = build_suite(seed, pairs_per_kind)
    rows = []
    for name in names:
        row = _evaluate(name, suite, device=device, dtype=dtype, tie_eps=tie_eps)
        if progress:
            print(f"temporal eval: {name}: {row.note or 'done'} ({row.seconds:.1f} s)", file=sys.stderr)
        rows.append(row)
    return TemporalReport(tuple(rows), seed, pairs_per_kind, tie_eps)


def expand_names(names: Sequence[str]) -> list[str]:
    """Check every name before anything runs, expanding registry globs (``"*-test"``) in order.

    Raises:
        UnknownNameError: a name is not registered (with close matches).
        ConfigError: a glob matches nothing, or a path is not a model directory.
    """
    from vrag.encoders import ENCODERS, list_encoders
    from vrag.encoders._loading import resolve_source

    out: list[str] = []
    for name in names:
        if any(c in name for c in "*?["):
            matched = list_encoders(name)
            if not matched:
                raise ConfigError(
                    f"no registered encoder matches {name!r}; see `vrag encoders` for the names"
                )
            out += matched
            continue
        kind, value = resolve_source(name)
        if kind == "name":
            ENCODERS.entry(value)  # raises UnknownNameError with suggestions
        out.append(name)
    return list(dict.fromkeys(out))


def _evaluate(
    name: str, suite: Sequence[ClipPair], *, device: str | None, dtype: str | None, tie_eps: float
) -> TemporalRow:
    from vrag.encoders import create_encoder
    from vrag.encoders._base import VideoEncoder

    started = time.perf_counter()
    try:
        encoder = create_encoder(name, device=device, dtype=dtype)
    except (ModelUnavailableError, ConfigError) as err:  # no weights here, or needs options (a source)
        return TemporalRow(name, reason=str(err), seconds=time.perf_counter() - started)
    if not isinstance(encoder, VideoEncoder):
        reason = "a text encoder (no video input); evaluate a visual encoder such as 'videomae-base'"
        return TemporalRow(name, reason=reason, seconds=time.perf_counter() - started)
    spec = encoder.spec
    size = max(_MIN_SIZE, *spec.input_size)
    embeddings = _embed_suite(encoder, suite, frames=spec.frames, size=size)
    return TemporalRow.from_scores(
        name,
        [p.kind for p in suite],
        score_pairs(embeddings, tie_eps=tie_eps),
        test_only=spec.test_only,
        frame_average=spec.modality == "image",
        frames=spec.frames,
        size=size,
        seconds=time.perf_counter() - started,
    )


def _embed_suite(encoder: VideoEncoder, suite: Sequence[ClipPair], *, frames: int, size: int) -> np.ndarray:
    """Embeddings ``[pairs, 4, dim]``, rendering a few pairs at a time (the clips of big encoders are large).

    The four clips of a pair go through one forward pass, so a pair's reversed clips meet the same kernels.
    """
    per_batch = max(1, encoder.runtime.batch_size // 4)
    out = []
    for i in range(0, len(suite), per_batch):
        clips = np.concatenate([p.render(frames=frames, size=size) for p in suite[i : i + per_batch]])
        out.append(encoder.encode_video(clips, batch_size=len(clips)))
    return np.concatenate(out).reshape(len(suite), 4, -1)
