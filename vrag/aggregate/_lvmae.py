"""The learned ``lvmae`` aggregator: windowed batching, inference, and its checkpoint on disk.

A checkpoint is a folder:

- ``aggregator.json``: format version, the :class:`LVMAEConfig`, the channel and schema record of the index it
  was trained on, the training step and the last training report.
- ``model.safetensors``: the weights (no pickle).
- ``train_state.pt``: optimizer state, only needed to resume training.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vrag.aggregate._base import Aggregator, check_sequence
from vrag.errors import ConfigError, ModelUnavailableError

if TYPE_CHECKING:
    import torch

    from vrag.aggregate._model import LVMAE, LVMAEConfig

__all__ = ["CHECKPOINT_FORMAT", "LVMAEAggregator", "load_checkpoint", "pad_windows", "save_checkpoint"]

CHECKPOINT_FORMAT = 1
META_FILE, WEIGHTS_FILE, STATE_FILE = "aggregator.json", "model.safetensors", "train_state.pt"


def split_windows(n: int, max_len: int) -> list[tuple[int, int]]:
    """``[start, end)`` of the windows a sequence of ``n`` is encoded in: as few as fit, evenly sized."""
    count = -(-n // max_len)
    bounds = np.linspace(0, n, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def pad_windows(
    sequences: Sequence[np.ndarray], max_len: int, device: Any = None
) -> tuple[torch.Tensor, torch.Tensor, list[list[int]]]:
    """Cut each sequence into windows and pad them into one batch.

    Returns:
        ``windows`` [W, L, dim], ``valid`` [W, L] (False on padding) and, per sequence, its window rows.
    """
    import torch

    parts: list[np.ndarray] = []
    owner: list[list[int]] = []
    for seq in sequences:
        spans = split_windows(len(seq), max_len)
        owner.append(list(range(len(parts), len(parts) + len(spans))))
        parts += [seq[a:b] for a, b in spans]
    longest = max(len(p) for p in parts)
    windows = np.zeros((len(parts), longest, parts[0].shape[1]), dtype=np.float32)
    valid = np.zeros((len(parts), longest), dtype=bool)
    for i, p in enumerate(parts):
        windows[i, : len(p)], valid[i, : len(p)] = p, True
    return torch.from_numpy(windows).to(device), torch.from_numpy(valid).to(device), owner


def video_vectors(model: LVMAE, sequences: Sequence[np.ndarray], *, batch: int = 16) -> list[np.ndarray]:
    """Video vectors of unit-normalised sequences, ``batch`` videos per forward pass (no gradients)."""
    import torch

    device = next(model.parameters()).device
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for i in range(0, len(sequences), batch):
            windows, valid, owner = pad_windows(sequences[i : i + batch], model.cfg.max_len, device)
            out += list(model.video_vectors(windows, valid, owner).float().cpu().numpy())
    return out


class LVMAEAggregator(Aggregator):
    """The learned aggregator: an LV-MAE-style sequence encoder and an attentive probe giving ``K`` vectors.

    Train one with :func:`vrag.aggregate.train_aggregator`; load it with ``create_aggregator("lvmae",
    path=DIR)``.

    Args:
        path: the checkpoint folder ``train_aggregator`` wrote.
        device: torch device (default CPU; the model is small).
        batch: videos per forward pass in :meth:`aggregate_many`.
        expect_schema: the schema record of the index it will be used on; a checkpoint trained on an index
            with other channels, dimensions or fingerprint raises ``ConfigError``.

    Example:
        >>> agg = create_aggregator("lvmae", path=".vrag/aggregator")  # doctest: +SKIP
        >>> agg.aggregate(segment_vectors).shape                        # doctest: +SKIP
        (8, 384)
    """

    name = "lvmae"

    def __init__(
        self,
        *,
        path: str | os.PathLike[str],
        device: str | None = None,
        batch: int = 16,
        expect_schema: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self.model, self.meta = load_checkpoint(self.path, device=device)
        self.k, self.dim, self.batch = self.model.cfg.k, self.model.cfg.dim, batch
        if expect_schema is not None:
            check_schema(self.path, self.meta.get("schema"), expect_schema)

    def aggregate(self, embeddings: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        return self.aggregate_many([embeddings], [times])[0]

    def aggregate_many(
        self, sequences: Sequence[np.ndarray], times: Sequence[np.ndarray | None] | None = None
    ) -> list[np.ndarray]:
        spans = times if times is not None else [None] * len(sequences)
        seqs = [
            check_sequence(s, t, dim=self.dim, what=f"video {i}")
            for i, (s, t) in enumerate(zip(sequences, spans, strict=True))
        ]
        return video_vectors(self.model, seqs, batch=self.batch)

    def describe(self) -> dict[str, Any]:
        return {
            "aggregator": self.name,
            "k": self.k,
            "path": str(self.path),
            "step": self.meta.get("step"),
            "channel": self.meta.get("channel"),
        }


def check_schema(path: Path, trained: Mapping[str, Any] | None, asked: Mapping[str, Any]) -> None:
    """Refuse a checkpoint trained on an index built with other channels, dims or fingerprint."""
    if trained is None:
        return
    diffs = [
        f"{key} {trained.get(key)!r} vs index {asked.get(key)!r}"
        for key in ("fingerprint", "dense")
        if trained.get(key) != asked.get(key)
    ]
    if diffs:
        raise ConfigError(
            f"{path}: aggregator was trained on another index ({'; '.join(diffs)}); train it again on this "
            "index: vrag train aggregator --index DIR"
        )


def save_checkpoint(
    path: Path, model: LVMAE, meta: Mapping[str, Any], optimizer: torch.optim.Optimizer | None = None
) -> None:
    """Write weights, metadata and (optionally) optimizer state; each file is replaced atomically and carries
    the step, so a crash between the files is detected on resume (:func:`saved_steps`)."""
    import torch
    from safetensors.torch import save_file

    path.mkdir(parents=True, exist_ok=True)
    step = str(meta.get("step", 0))
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    _atomic(path / WEIGHTS_FILE, lambda tmp: save_file(tensors, str(tmp), metadata={"step": step}))
    if optimizer is not None:
        state = {"optimizer": optimizer.state_dict(), "step": int(step)}
        _atomic(path / STATE_FILE, lambda tmp: torch.save(state, tmp))
    record = {"format": CHECKPOINT_FORMAT, "kind": "lvmae", **meta, "config": model.cfg.to_dict()}
    _atomic(path / META_FILE, lambda tmp: tmp.write_text(json.dumps(record, indent=2), encoding="utf-8"))


def saved_steps(path: Path) -> set[int]:
    """The steps the checkpoint's files say they hold: one value when it was written completely."""
    import torch
    from safetensors import safe_open

    steps = {int(read_meta(path).get("step", 0))}
    with safe_open(str(path / WEIGHTS_FILE), framework="pt") as weights:
        steps.add(int((weights.metadata() or {}).get("step", -1)))
    if (path / STATE_FILE).is_file():
        steps.add(int(torch.load(path / STATE_FILE, map_location="cpu", weights_only=True).get("step", -1)))
    return steps


def _atomic(target: Path, write: Any) -> None:
    tmp = target.with_name(target.name + ".tmp")
    write(tmp)
    os.replace(tmp, target)


def read_meta(path: Path) -> dict[str, Any]:
    """The checkpoint's ``aggregator.json`` (raises ``ModelUnavailableError`` naming the folder)."""
    file = path / META_FILE
    if not file.is_file():
        raise ModelUnavailableError(
            f"{path}: no trained aggregator here ({META_FILE} missing); train one with "
            "vrag.aggregate.train_aggregator or `vrag train aggregator`"
        )
    try:
        meta: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelUnavailableError(f"{file}: unreadable ({err}); train the aggregator again") from err
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("kind") != "lvmae":
        raise ModelUnavailableError(
            f"{file}: not an lvmae checkpoint of format {CHECKPOINT_FORMAT}; train the aggregator again"
        )
    return meta


def load_checkpoint(path: Path, *, device: str | None = None) -> tuple[LVMAE, dict[str, Any]]:
    """The model (eval mode) and metadata saved in ``path``."""
    from safetensors.torch import load_file

    from vrag.aggregate._model import LVMAE, LVMAEConfig

    meta = read_meta(path)
    model = LVMAE(LVMAEConfig.from_dict(meta["config"]))
    try:
        model.load_state_dict(load_file(str(path / WEIGHTS_FILE)))
    except (OSError, RuntimeError) as err:
        raise ModelUnavailableError(
            f"{path / WEIGHTS_FILE}: weights missing or not matching {META_FILE} ({err}); train it again"
        ) from err
    return model.to(device or "cpu").eval(), meta


def new_model(cfg: LVMAEConfig, seed: int) -> LVMAE:
    """A freshly initialised model (deterministic for ``seed``)."""
    import torch

    from vrag.aggregate._model import LVMAE

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LVMAE(cfg)
