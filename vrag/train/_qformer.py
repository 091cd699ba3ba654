"""Train a Q-Former pooler on (video, caption) pairs: contrastive against a frozen text tower.

The base video encoder and the sentence encoder are frozen, so their outputs are computed once per pair (base
tokens and caption vectors are held in memory: ``N x tokens x width`` floats, e.g. 1568 x 768 per VideoMAE-B
clip, 4.8 MB) and only the pooler and its text projection learn. The loss is a symmetric InfoNCE on two scores
at once, MaxSim (a caption against the best of a clip's ``K`` vectors, what a multivector search does) and the
pooled vector (what a single-vector search does); pairs with the same caption are positives of each other.

Training runs under accelerate (device placement, gradient clipping, ``save_state`` / ``load_state``
checkpoints with optimizer, scheduler and RNG state), with optional bf16 autocast (``amp``), a tqdm bar and a
held-out text→video retrieval evaluation (R@1, R@5, MRR) before and after.

Example:
    >>> report = train_qformer("shapes/", base="videomae-test", out_dir="runs/q", steps=300)  # doctest: +SKIP
    >>> report.after.maxsim.recall_at_1 > report.before.maxsim.recall_at_1  # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F

from vrag.encoders._qformer import PoolerConfig, QFormerPooler, save_pooler
from vrag.errors import ConfigError
from vrag.train._data import CaptionedClip, decode_clips, read_pairs

__all__ = ["SIZES", "EvalResult", "RetrievalMetrics", "TrainReport", "evaluate", "train_qformer"]

CHECKPOINTS = "checkpoints"
RUN_FILE = "run.json"
STATE_FILE = "trainer_state.json"
#: pooler shapes by name (``K`` and the base's token width are filled in)
SIZES: dict[str, dict[str, Any]] = {
    "tiny": {
        "hidden_size": 64,
        "num_layers": 2,
        "num_heads": 4,
        "intermediate_size": 128,
        "embed_dim": 32,
        "dropout": 0.0,
    },
    "small": {
        "hidden_size": 256,
        "num_layers": 4,
        "num_heads": 4,
        "intermediate_size": 1024,
        "embed_dim": 256,
    },
    "base": {
        "hidden_size": 768,
        "num_layers": 12,
        "num_heads": 12,
        "intermediate_size": 3072,
        "embed_dim": 256,
    },
}
#: options that must match to resume a run (the rest, e.g. ``steps``, may change)
_RUN_KEYS = ("data_dir", "base", "text_encoder", "pooler", "batch", "lr", "seed", "eval_fraction", "amp")


@dataclass(frozen=True, slots=True)
class RetrievalMetrics:
    """Text→video retrieval quality: each distinct caption queries the clips; its own clip(s) are relevant.

    Attributes:
        recall_at_1: share of queries whose top clip is relevant.
        recall_at_5: share with a relevant clip in the top 5.
        mrr: mean reciprocal rank of the first relevant clip.
        queries: number of queries.
        clips: number of clips searched.
    """

    recall_at_1: float
    recall_at_5: float
    mrr: float
    queries: int
    clips: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class EvalResult:
    """Retrieval by MaxSim over the ``K`` vectors and by the single pooled vector."""

    maxsim: RetrievalMetrics
    pooled: RetrievalMetrics

    def to_dict(self) -> dict[str, Any]:
        return {"maxsim": self.maxsim.to_dict(), "pooled": self.pooled.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalResult:
        return cls(RetrievalMetrics(**data["maxsim"]), RetrievalMetrics(**data["pooled"]))


@dataclass(frozen=True, slots=True)
class TrainReport:
    """What a training run did.

    Attributes:
        out_dir: the trained pooler (load with ``create_encoder("qformer", source=out_dir)``).
        steps: optimizer steps done in total.
        resumed_from: the checkpoint step this call continued from, or ``None``.
        train_pairs: pairs trained on.
        eval_pairs: held-out pairs evaluated on.
        final_loss: the last step's loss (``nan`` when no step ran in this call).
        before: held-out retrieval of the untrained pooler (``None`` without held-out pairs).
        after: held-out retrieval after training.
        seconds: wall time of this call.
    """

    out_dir: Path
    steps: int
    resumed_from: int | None
    train_pairs: int
    eval_pairs: int
    final_loss: float
    before: EvalResult | None
    after: EvalResult | None
    seconds: float

    def format_table(self) -> str:
        """A few lines for the CLI: where the pooler went and held-out retrieval before → after."""
        resumed = f", resumed from step {self.resumed_from}" if self.resumed_from is not None else ""
        lines = [
            f"pooler saved to {self.out_dir} ({self.steps} steps{resumed}, {self.seconds:.0f} s; "
            f"{self.train_pairs} training / {self.eval_pairs} held-out pairs; loss {self.final_loss:.3f})"
        ]
        if self.before is not None and self.after is not None:
            lines.append("held-out text->video   R@1            R@5            MRR")
            for score in ("maxsim", "pooled"):
                b, a = getattr(self.before, score), getattr(self.after, score)
                cells = [
                    f"{getattr(b, m):.3f} -> {getattr(a, m):.3f}"
                    for m in ("recall_at_1", "recall_at_5", "mrr")
                ]
                lines.append(f"  {score:<20} " + "   ".join(cells))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["out_dir"] = str(self.out_dir)
        out["before"] = self.before.to_dict() if self.before else None
        out["after"] = self.after.to_dict() if self.after else None
        return out


@dataclass(frozen=True, slots=True)
class _Features:
    tokens: torch.Tensor  # [N, n_tokens, width] base tokens
    text: torch.Tensor  # [N, text_dim] frozen sentence vectors
    captions: tuple[str, ...]

    def take(self, index: np.ndarray) -> _Features:
        idx = torch.as_tensor(index)
        return _Features(self.tokens[idx], self.text[idx], tuple(self.captions[i] for i in index))


def train_qformer(
    data_dir: str | os.PathLike[str],
    *,
    base: str,
    out_dir: str | os.PathLike[str],
    steps: int = 1000,
    batch: int = 64,
    lr: float = 1e-4,
    text_encoder: str = "minilm",
    k: int = 32,
    size: str = "small",
    amp: bool = False,
    resume: bool = True,
    eval_fraction: float = 0.1,
    checkpoint_every: int = 200,
    seed: int = 0,
    device: str | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainReport:
    """Train a Q-Former pooler over a frozen ``base`` on the (video, caption) pairs of ``data_dir``.

    Args:
        data_dir: captioned videos (layout: :mod:`vrag.train._data`).
        base: video encoder name or directory whose tokens the pooler reads (frozen).
        out_dir: where the pooler, ``run.json`` and ``checkpoints/`` go.
        steps: total optimizer steps (a resumed run continues up to this).
        batch: pairs per step (in-batch negatives).
        lr: peak AdamW learning rate (linear warm-up, cosine decay to 10 %).
        text_encoder: frozen sentence encoder (registry name or directory) under the trained projection.
        k: learned queries = vectors per clip.
        size: pooler shape, a key of :data:`SIZES`.
        amp: bf16 autocast for the pooler's forward and backward.
        resume: continue from the newest checkpoint in ``out_dir`` (``False`` deletes old checkpoints).
        eval_fraction: share of pairs held out for the retrieval evaluation (0 for none).
        checkpoint_every: save a checkpoint every this many steps (and at the end).
        seed: data split, initial weights, batch order and dropout.
        device: ``"cpu"``, ``"cuda"``, ...; default accelerate's choice.
        progress: show tqdm bars.
        on_step: called as ``on_step(step, loss)`` after each step (logging, early stop by raising).

    Returns:
        A :class:`TrainReport`; the pooler is saved in ``out_dir``.

    Raises:
        ConfigError: bad options, a bad ``data_dir``, or a resume with different options.
    """
    started = time.perf_counter()
    _check_options(steps=steps, batch=batch, lr=lr, k=k, size=size, eval_fraction=eval_fraction)
    out = Path(out_dir).expanduser()
    pairs = read_pairs(data_dir)
    train_idx, eval_idx = split(len(pairs), eval_fraction, seed)
    if len(train_idx) < 2:
        raise ConfigError(
            f"{data_dir}: {len(train_idx)} training pair(s); contrastive training needs at least 2"
        )
    accelerator = _accelerator(device)
    feats = extract_features(
        pairs, base=base, text_encoder=text_encoder, device=accelerator.device, progress=progress
    )
    width, text_dim = int(feats.tokens.shape[-1]), int(feats.text.shape[-1])
    config = PoolerConfig(**SIZES[size], encoder_width=width, num_queries=k, text_dim=text_dim)
    run: dict[str, Any] = {"data_dir": str(Path(data_dir).expanduser().resolve()), "base": base}
    run.update(text_encoder=text_encoder, pooler=config.to_dict(), batch=batch, lr=lr, seed=seed)
    run.update(eval_fraction=eval_fraction, amp=amp)
    checkpoint = _prepare_out_dir(out, run, resume)
    trainer = _Trainer(accelerator, config, run, steps=steps, amp=amp, out=out)
    held_out = feats.take(eval_idx) if len(eval_idx) else None
    if checkpoint is not None:
        before = trainer.restore(checkpoint)
    else:
        before = evaluate(trainer.pooler, held_out) if held_out else None
    resumed_from = trainer.step if checkpoint else None
    loss = trainer.fit(feats.take(train_idx), before, checkpoint_every, progress, on_step)
    after = evaluate(trainer.pooler, held_out) if held_out else None
    report = TrainReport(
        out, trainer.step, resumed_from, len(train_idx), len(eval_idx), loss, before, after,
        time.perf_counter() - started,
    )  # fmt: skip
    save_pooler(
        trainer.unwrapped(), out, base=base, text_encoder=text_encoder, extra={"training": report.to_dict()}
    )
    return report


def _check_options(*, steps: int, batch: int, lr: float, k: int, size: str, eval_fraction: float) -> None:
    if steps < 1 or batch < 2 or k < 1 or not lr > 0:
        raise ConfigError(
            f"steps={steps}, batch={batch}, k={k}, lr={lr}: need steps >= 1, batch >= 2, k >= 1, lr > 0"
        )
    if size not in SIZES:
        raise ConfigError(f"unknown pooler size {size!r}; use one of {', '.join(SIZES)}")
    if not 0 <= eval_fraction < 1:
        raise ConfigError(f"eval_fraction={eval_fraction}: pass a share in [0, 1), e.g. 0.1")


def split(n: int, eval_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train / held-out index split (held-out: ``round(n * eval_fraction)``, at least 1 if asked)."""
    order = np.random.default_rng(seed).permutation(n)
    n_eval = max(1, round(n * eval_fraction)) if eval_fraction > 0 else 0
    return np.sort(order[n_eval:]), np.sort(order[:n_eval])


def _accelerator(device: str | None) -> Any:
    from accelerate import Accelerator

    # mixed precision is applied with torch.autocast (amp=...), not Accelerator(mixed_precision=...), whose
    # process-wide state cannot change between runs in one process
    return Accelerator(cpu=device == "cpu")


def extract_features(
    pairs: Sequence[CaptionedClip],
    *,
    base: str,
    text_encoder: str,
    device: torch.device | str | None = None,
    chunk: int = 64,
    progress: bool = False,
) -> _Features:
    """Frozen inputs of the pooler: base tokens of every pair's clip and its caption's sentence vector."""
    from tqdm.auto import tqdm

    from vrag.encoders import VideoEncoder, create_encoder

    where = None if device is None else str(device)
    video = create_encoder(base, device=where)
    if not isinstance(video, VideoEncoder):
        raise ConfigError(f"base {base!r} is a text encoder; pass a video encoder (e.g. videomae-base)")
    parts = []
    for i in tqdm(range(0, len(pairs), chunk), desc="base tokens", unit="chunk", disable=not progress):
        parts.append(
            torch.from_numpy(video.encode_video_tokens(decode_clips(pairs[i : i + chunk], video.spec)))
        )
    text = create_encoder(text_encoder, device=where)
    captions = tuple(p.caption for p in pairs)
    vectors = torch.from_numpy(text.encode_query(list(captions)))  # type: ignore[union-attr]
    return _Features(torch.cat(parts), vectors, captions)


# ---------------------------------------------------------------- training loop


class _Trainer:
    def __init__(
        self,
        accelerator: Any,
        config: PoolerConfig,
        run: Mapping[str, Any],
        *,
        steps: int,
        amp: bool,
        out: Path,
    ) -> None:
        from vrag.encoders._base import build_seeded

        self.accelerator, self.run, self.steps, self.amp, self.out = accelerator, run, steps, amp, out
        pooler = cast(QFormerPooler, build_seeded(lambda: QFormerPooler(config), seed=int(run["seed"])))
        optimizer = torch.optim.AdamW(pooler.parameters(), lr=float(run["lr"]), weight_decay=0.05)
        warmup = max(1, min(100, steps // 10))
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, warmup, steps))
        self.pooler, self.optimizer, self.schedule = accelerator.prepare(pooler, optimizer, schedule)
        self.step = 0
        torch.manual_seed(int(run["seed"]))  # dropout; a resumed run restores the RNG from its checkpoint

    def unwrapped(self) -> QFormerPooler:
        return cast(QFormerPooler, self.accelerator.unwrap_model(self.pooler))

    def restore(self, checkpoint: Path) -> EvalResult | None:
        """Load a checkpoint; returns the ``before`` evaluation it recorded."""
        self.accelerator.load_state(str(checkpoint))
        state = json.loads((checkpoint / STATE_FILE).read_text(encoding="utf-8"))
        self.step = int(state["step"])
        return EvalResult.from_dict(state["before"]) if state.get("before") else None

    def fit(
        self,
        data: _Features,
        before: EvalResult | None,
        every: int,
        progress: bool,
        on_step: Callable[[int, float], None] | None,
    ) -> float:
        from tqdm.auto import tqdm

        device = self.accelerator.device
        tokens, text = data.tokens, data.text  # stay on the CPU: only each step's batch moves to the device
        groups = _caption_groups(data.captions)
        batch = min(int(self.run["batch"]), len(data.captions))
        loss_value = math.nan
        bar = tqdm(total=self.steps, initial=self.step, desc="train qformer", disable=not progress)
        self.pooler.train()
        while self.step < self.steps:
            index = _batch_index(len(data.captions), batch, int(self.run["seed"]), self.step)
            loss_value = self._update(
                tokens[index].to(device), text[index].to(device), groups[index][:, index].to(device)
            )
            self.step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.3f}")
            if self.step % every == 0 or self.step == self.steps:
                self.save(before)
            if on_step is not None:
                on_step(self.step, loss_value)
        bar.close()
        self.pooler.eval()
        return loss_value

    def _update(self, tokens: torch.Tensor, text: torch.Tensor, positives: torch.Tensor) -> float:
        with self._autocast():
            pooler = self.unwrapped()
            videos = F.normalize(self.pooler(tokens).float(), dim=-1)
            texts = F.normalize(pooler.embed_text(text).float(), dim=-1)
        loss = contrastive_loss(videos, texts, positives, pooler.logit_scale.exp().clamp(max=100.0))
        self.accelerator.backward(loss)
        self.accelerator.clip_grad_norm_(self.pooler.parameters(), 1.0)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.accelerator.device.type, dtype=torch.bfloat16)

    def save(self, before: EvalResult | None) -> None:
        folder = self.out / CHECKPOINTS / f"step-{self.step:07d}"
        self.accelerator.save_state(str(folder))
        state = {"step": self.step, "before": before.to_dict() if before else None}
        (folder / STATE_FILE).write_text(json.dumps(state) + "\n", encoding="utf-8")
        for old in _checkpoints(self.out)[:-2]:  # keep the newest two
            shutil.rmtree(old, ignore_errors=True)


def _lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def _batch_index(n: int, batch: int, seed: int, step: int) -> torch.Tensor:
    """The pairs of step ``step``: a function of (seed, step) only; a resumed run draws the same batches."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return torch.randperm(n, generator=generator)[:batch]


def _caption_groups(captions: Sequence[str]) -> torch.Tensor:
    """``[N, N]`` bool: pairs with the same caption (positives of each other)."""
    ids = {c: i for i, c in enumerate(dict.fromkeys(captions))}
    labels = torch.tensor([ids[c] for c in captions])
    return labels[:, None] == labels[None, :]


def contrastive_loss(
    videos: torch.Tensor, texts: torch.Tensor, positives: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Symmetric InfoNCE on the MaxSim and the pooled score (mean of the two).

    Args:
        videos: ``[B, K, d]`` normalised clip vectors.
        texts: ``[B, d]`` normalised caption vectors (row ``i`` describes clip ``i``).
        positives: ``[B, B]`` bool, caption ``i`` fits clip ``j`` (the diagonal and duplicate captions).
        scale: logit scale (inverse temperature).
    """
    target = positives.float() / positives.float().sum(dim=1, keepdim=True)
    maxsim = torch.einsum("td,bkd->tbk", texts, videos).amax(dim=-1)
    pooled = texts @ F.normalize(videos.mean(dim=1), dim=-1).T
    losses = [
        F.cross_entropy(scale * s, target) + F.cross_entropy(scale * s.T, target.T) for s in (maxsim, pooled)
    ]
    return sum(losses) / 4  # type: ignore[return-value]


# ---------------------------------------------------------------- evaluation


@torch.no_grad()
def evaluate(pooler: QFormerPooler, data: _Features, *, chunk: int = 256) -> EvalResult:
    """Held-out text→video retrieval: every distinct caption against every clip, MaxSim and pooled."""
    module = cast(QFormerPooler, getattr(pooler, "module", pooler))
    training = module.training
    module.eval()
    device = next(module.parameters()).device
    clips = torch.cat(
        [module(data.tokens[i : i + chunk].to(device)).float() for i in range(0, len(data.captions), chunk)]
    )
    clips = F.normalize(clips, dim=-1)
    queries = list(dict.fromkeys(data.captions))
    first = [data.captions.index(q) for q in queries]
    texts = F.normalize(module.embed_text(data.text[first].to(device)).float(), dim=-1)
    relevant = np.array([[c == q for c in data.captions] for q in queries])
    maxsim = torch.einsum("qd,nkd->qnk", texts, clips).amax(dim=-1)
    pooled = texts @ F.normalize(clips.mean(dim=1), dim=-1).T
    module.train(training)
    return EvalResult(
        retrieval_metrics(maxsim.cpu().numpy(), relevant), retrieval_metrics(pooled.cpu().numpy(), relevant)
    )


def retrieval_metrics(scores: np.ndarray, relevant: np.ndarray) -> RetrievalMetrics:
    """R@1, R@5 and MRR from ``[Q, N]`` scores and a ``[Q, N]`` bool relevance matrix (ties: index order)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    hits = np.take_along_axis(relevant, order, axis=1)
    found = hits.any(axis=1)  # a query with no relevant clip is a miss, not rank 0
    first = np.where(found, hits.argmax(axis=1), np.iinfo(np.int64).max // 2)
    return RetrievalMetrics(
        recall_at_1=float(np.mean(first < 1)),
        recall_at_5=float(np.mean(first < 5)),
        mrr=float(np.mean(np.where(found, 1.0 / (first + 1), 0.0))),
        queries=int(scores.shape[0]),
        clips=int(scores.shape[1]),
    )


# ---------------------------------------------------------------- out_dir


def _checkpoints(out: Path) -> list[Path]:
    folder = out / CHECKPOINTS
    return sorted(p for p in folder.glob("step-*") if (p / STATE_FILE).is_file()) if folder.is_dir() else []


def _prepare_out_dir(out: Path, run: Mapping[str, Any], resume: bool) -> Path | None:
    """Check or write ``run.json``; the newest checkpoint to resume from, if any."""
    out.mkdir(parents=True, exist_ok=True)
    run_file = out / RUN_FILE
    if not resume:
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    found = _checkpoints(out)
    if found and run_file.is_file():
        old = json.loads(run_file.read_text(encoding="utf-8"))
        changed = [k for k in _RUN_KEYS if old.get(k) != run.get(k)]
        if changed:
            raise ConfigError(
                f"{out}: the checkpoints there were trained with other {', '.join(changed)} "
                f"({', '.join(f'{k}={old.get(k)!r}' for k in changed)}); pass the same options, another "
                "out_dir, or resume=False to start over"
            )
    run_file.write_text(json.dumps(dict(run), indent=2) + "\n", encoding="utf-8")
    return found[-1] if found else None
