"""Self-supervised training of the ``lvmae`` aggregator on an index's own segment embeddings (no labels).

Each step samples ``batch`` videos, crops each to at most ``max_len`` segments and minimises

- the masked-embedding reconstruction loss of LV-MAE (``1 - cos`` on the masked embeddings; 50% masked,
  random or "semantic"),
- ``coverage_weight * (1 - coverage)``: every segment should be matched well by one of its video's ``K``
  vectors (the first stage of hierarchical search finds a video through its best-matching segment),
- ``contrast_weight * InfoNCE``: each segment's best match among its own video's vectors should beat the
  best match among other videos' vectors in the batch, so video vectors stay distinctive.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vrag.aggregate._base import check_sequence, coverage
from vrag.aggregate._lvmae import (
    META_FILE,
    STATE_FILE,
    load_checkpoint,
    new_model,
    read_meta,
    save_checkpoint,
    saved_steps,
    video_vectors,
)
from vrag.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from vrag.aggregate._model import LVMAE, LVMAEConfig

log = logging.getLogger(__name__)

__all__ = ["TrainReport", "semantic_mask", "train_aggregator"]

ProgressFn = Callable[[int, int, float], None]
"""``progress(step, total_steps, loss)`` after every step."""


@dataclass(frozen=True, slots=True)
class TrainReport:
    """What ``train_aggregator`` did.

    Attributes:
        path: the checkpoint folder.
        videos: training sequences (videos).
        segments: segment embeddings in them.
        start_step: the step training started from (> 0 when resumed).
        steps: the step it ended at.
        seconds: wall time of this call.
        loss_first: total loss of the first step of this call (None when no step ran).
        loss_last: mean total loss over the last 10 steps of this call.
        coverage_before: mean coverage of the video vectors over the training videos before this call.
        coverage_after: the same after training.
    """

    path: str
    videos: int
    segments: int
    start_step: int
    steps: int
    seconds: float
    loss_first: float | None
    loss_last: float | None
    coverage_before: float
    coverage_after: float

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def format_table(self) -> str:
        """Two lines for the CLI: where the aggregator went and what training changed."""
        loss = "" if self.loss_last is None else f", loss {self.loss_first:.4f} → {self.loss_last:.4f}"
        return (
            f"aggregator saved to {self.path} (steps {self.start_step} → {self.steps}, {self.videos} videos, "
            f"{self.segments} segments, {self.seconds:.1f} s{loss})\n"
            f"coverage (each segment's best match among its video's vectors): "
            f"{self.coverage_before:.3f} → {self.coverage_after:.3f}"
        )


def semantic_mask(x: np.ndarray, ratio: float) -> np.ndarray:
    """LV-MAE's "semantic" masking: mask the ``ratio`` share of embeddings least similar to their predecessor.

    The first segment has no predecessor and is always kept. Returns a bool array, True = masked.
    """
    n = len(x)
    sim = np.full(n, np.inf, dtype=np.float64)
    sim[1:] = np.einsum("nd,nd->n", x[1:], x[:-1])
    masked = np.zeros(n, dtype=bool)
    masked[np.argsort(sim, kind="stable")[: int(n * ratio)]] = True
    return masked


def _mask(x: np.ndarray, cfg: LVMAEConfig, rng: np.random.Generator) -> np.ndarray:
    if cfg.masking == "semantic":
        return semantic_mask(x, cfg.mask_ratio)
    masked = np.zeros(len(x), dtype=bool)
    masked[rng.permutation(len(x))[: int(len(x) * cfg.mask_ratio)]] = True
    return masked


def _batch(data: list[np.ndarray], cfg: LVMAEConfig, size: int, rng: np.random.Generator) -> dict[str, Any]:
    """A training batch: random videos, each cropped to ``max_len`` at a random offset, masks, padding."""
    import torch

    picks = rng.choice(len(data), size=min(size, len(data)), replace=False)
    crops = []
    for i in picks:
        seq = data[int(i)]
        start = int(rng.integers(0, len(seq) - cfg.max_len + 1)) if len(seq) > cfg.max_len else 0
        crops.append(seq[start : start + cfg.max_len])
    n = max(len(c) for c in crops)
    x = np.zeros((len(crops), n, cfg.dim), dtype=np.float32)
    valid, masked = np.zeros((len(crops), n), bool), np.zeros((len(crops), n), bool)
    for row, crop in enumerate(crops):
        x[row, : len(crop)], valid[row, : len(crop)] = crop, True
        masked[row, : len(crop)] = _mask(crop, cfg, rng)
    t = torch.from_numpy
    return {"x": t(x), "valid": t(valid), "masked": t(masked)}


def _losses(model: LVMAE, b: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    import torch
    import torch.nn.functional as F

    cfg, x, valid, masked = model.cfg, b["x"], b["valid"], b["masked"]
    pred = model.reconstruct(x, ~masked, valid)
    recon = ((1 - F.cosine_similarity(pred, x, dim=-1)) * masked).sum() / masked.sum().clamp_min(1)
    owner = [[i] for i in range(len(x))]
    vids = model.video_vectors(x, valid, owner)  # [B, K, dim], full (unmasked) sequences
    sims = torch.einsum("bnd,ckd->bnck", x, vids).amax(dim=-1)  # [B, N, B]: segment vs each video
    own = torch.diagonal(sims, dim1=0, dim2=2).transpose(0, 1)  # [B, N]
    cover = 1 - (own * valid).sum() / valid.sum()
    target = torch.arange(len(x))[:, None].expand_as(own)
    nce = F.cross_entropy((sims / cfg.temperature)[valid], target[valid])
    total = recon + cfg.coverage_weight * cover + cfg.contrast_weight * nce
    return {"total": total, "recon": recon, "coverage": cover, "nce": nce}


def _mean_coverage(model: LVMAE, data: list[np.ndarray], limit: int = 256) -> float:
    sample = data[:limit]
    model.eval()
    vecs = video_vectors(model, sample)
    model.train()
    return float(np.mean([coverage(s, v) for s, v in zip(sample, vecs, strict=True)]))


def _load_data(sequences: Iterable[Any]) -> list[np.ndarray]:
    data = [check_sequence(s, what=f"training sequence {i}") for i, s in enumerate(sequences)]
    if not data:
        raise ConfigError("train_aggregator: no sequences to train on; index some videos first")
    dims = {s.shape[1] for s in data}
    if len(dims) != 1:
        raise ConfigError(f"train_aggregator: sequences have different dims {sorted(dims)}; use one channel")
    return data


def _start(
    path: Path, cfg: LVMAEConfig, seed: int, lr: float, resume: bool, device: str
) -> tuple[LVMAE, torch.optim.Optimizer, int]:
    """A fresh model, or the checkpoint in ``path`` when resuming (its config must match)."""
    import torch

    step = 0
    if resume and (path / META_FILE).is_file():
        saved = read_meta(path)
        if saved["config"] != cfg.to_dict():
            raise ConfigError(
                f"{path}: holds an aggregator trained with another configuration; pass resume=False "
                "(or another out_dir) to start over, or the same options to continue"
            )
        if len(saved_steps(path)) != 1:
            raise ConfigError(
                f"{path}: the checkpoint was not written completely (a crash while saving); pass "
                "resume=False to start over"
            )
        model, _ = load_checkpoint(path, device=device)
        step = int(saved.get("step", 0))
    else:
        model = new_model(cfg, seed).to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    if step and (path / STATE_FILE).is_file():
        state = torch.load(path / STATE_FILE, map_location=device, weights_only=True)
        opt.load_state_dict(state["optimizer"])
    return model, opt, step


def train_aggregator(
    sequences: Iterable[Any],
    *,
    out_dir: str | os.PathLike[str],
    config: LVMAEConfig | None = None,
    steps: int = 300,
    batch: int = 16,
    lr: float = 3e-4,
    seed: int = 0,
    schema: Mapping[str, Any] | None = None,
    channel: str | None = None,
    device: str | None = None,
    save_every: int = 100,
    resume: bool = True,
    progress: ProgressFn | None = None,
) -> TrainReport:
    """Train (or resume training) an ``lvmae`` aggregator on segment-embedding sequences, one per video.

    Args:
        sequences: ``[n_i, d]`` segment embeddings of each video, in time order (e.g. from
            :func:`vrag.aggregate.store_sequences`).
        out_dir: checkpoint folder (created; resumed from when it holds a checkpoint and ``resume``).
        config: model size and objective (``LVMAEConfig``); ``dim`` is taken from the data.
        steps: total optimisation steps (a resumed run continues up to this number).
        batch: videos per step.
        lr: AdamW learning rate (cosine decay, 5% warm-up).
        seed: seeds the initialisation, batches and masks.
        schema: the schema record of the index the sequences come from, saved with the checkpoint so it is
            never used on another index.
        channel: the dense channel the sequences come from (recorded).
        device: torch device (default CPU).
        save_every: write a checkpoint every this many steps (and at the end).
        resume: continue from a checkpoint in ``out_dir`` (its configuration must match).
        progress: called as ``progress(step, steps, loss)`` after every step.

    Returns:
        A :class:`TrainReport`, including coverage of the training videos before and after.

    Example:
        >>> report = train_aggregator(seqs, out_dir="agg", steps=200)   # doctest: +SKIP
        >>> report.coverage_after > report.coverage_before              # doctest: +SKIP
        True
    """
    import torch

    if steps < 0 or batch < 1 or save_every < 1:
        raise ConfigError(
            f"train_aggregator: need steps >= 0, batch >= 1, save_every >= 1; got {steps}, {batch}"
        )
    t0, path, dev = time.perf_counter(), Path(out_dir).expanduser(), device or "cpu"
    data = _load_data(sequences)
    cfg = replace(config or _default_config(), dim=data[0].shape[1])
    model, opt, start = _start(path, cfg, seed, lr, resume, dev)
    before = _mean_coverage(model, data)
    meta = {"channel": channel, "schema": dict(schema) if schema is not None else None, "seed": seed}
    history: list[float] = []
    for step in range(start, steps):
        for group in opt.param_groups:
            group["lr"] = lr * _lr_factor(step, steps)
        rng = np.random.default_rng([seed, step])  # per step: a resumed run draws what an unbroken one does
        loss = _losses(model, {k: v.to(dev) for k, v in _batch(data, cfg, batch, rng).items()})
        opt.zero_grad(set_to_none=True)
        loss["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        history.append(float(loss["total"].detach()))
        if progress is not None:
            progress(step + 1, steps, history[-1])
        if (step + 1) % save_every == 0 and step + 1 < steps:
            save_checkpoint(path, model, {**meta, "step": step + 1}, opt)
    after = _mean_coverage(model, data)
    report = TrainReport(
        str(path), len(data), sum(len(s) for s in data), start, max(steps, start),
        time.perf_counter() - t0, history[0] if history else None,
        float(np.mean(history[-10:])) if history else None, before, after,
    )  # fmt: skip
    save_checkpoint(path, model, {**meta, "step": report.steps, "report": report.to_dict()}, opt)
    log.info("aggregator trained: %s", report.to_dict())
    return report


def _default_config() -> LVMAEConfig:
    from vrag.aggregate._model import LVMAEConfig

    return LVMAEConfig()


def _lr_factor(step: int, total: int) -> float:
    """Linear warm-up over the first 5% of steps, then cosine decay to zero."""
    warm = max(1, total // 20)
    if step < warm:
        return (step + 1) / warm
    return float(0.5 * (1 + np.cos(np.pi * min(1.0, (step - warm) / max(1, total - warm)))))
