"""Shared fast path: uint8 clips → device-side resize/normalise → batched forward → L2-normalised vectors.

Everything heavy happens on the target device in batches: one host→device copy of uint8 pixels per batch
(pinned, non-blocking on CUDA), antialiased resize and normalisation as tensor ops (no per-frame PIL loops),
``torch.inference_mode``, and reduced precision (bf16) when asked for or on CUDA.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vrag.encoders._spec import EncoderSpec
from vrag.errors import ConfigError
from vrag.types import Frames

__all__ = ["ClipsInput", "Runtime", "TextEncoder", "VideoEncoder", "preprocess", "resolve_runtime"]

logger = logging.getLogger(__name__)

ClipsInput = np.ndarray | torch.Tensor | Frames | Sequence[np.ndarray | torch.Tensor | Frames]
_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


@dataclass(frozen=True, slots=True)
class Runtime:
    """Where and how an encoder runs.

    Attributes:
        device: device inputs are sent to (the first device when ``device_map`` spreads the model).
        dtype: compute dtype (weights and activations); outputs are always float32.
        batch_size: clips (or texts) per forward pass.
        device_map: ``"auto"`` to let accelerate place a model that does not fit one device.
        compile: wrap the forward in ``torch.compile``.
    """

    device: torch.device
    dtype: torch.dtype
    batch_size: int
    device_map: str | None = None
    compile: bool = False


def resolve_runtime(
    device: str | torch.device | None,
    dtype: str | torch.dtype | None,
    batch_size: int | None,
    *,
    compile: bool = False,
    default_batch: int = 8,
) -> Runtime:
    """Pick device (CUDA when present), dtype (bf16 on CUDA, fp32 on CPU) and batch size."""
    device_map = "auto" if device == "auto" else None
    if device is None or device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dtype is None:
        torch_dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    elif isinstance(dtype, torch.dtype):
        torch_dtype = dtype
    elif dtype in _DTYPES:
        torch_dtype = _DTYPES[dtype]
    else:
        raise ConfigError(f"unknown dtype {dtype!r}; use one of {', '.join(_DTYPES)} or a torch.dtype")
    size = batch_size or default_batch
    if size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {size}")
    return Runtime(dev, torch_dtype, size, device_map, compile)


def prepare_model(model: torch.nn.Module, runtime: Runtime) -> torch.nn.Module:
    """Eval mode, moved to the runtime's device and dtype (unless accelerate already placed it)."""
    model.eval()
    if runtime.device_map is None:
        model.to(runtime.device)
    if runtime.dtype != torch.float32:
        model.to(runtime.dtype)
    return model


# ---------------------------------------------------------------- inputs


def _as_array(item: np.ndarray | torch.Tensor | Frames, ndim: int) -> np.ndarray | torch.Tensor:
    data = item.data if isinstance(item, Frames) else item
    if not isinstance(data, np.ndarray | torch.Tensor):
        raise ConfigError(
            f"expected uint8 frames (numpy, torch or vrag.types.Frames), got {type(data).__name__}"
        )
    if data.dtype not in (np.uint8, torch.uint8) or data.ndim != ndim or data.shape[-1] != 3:
        raise ConfigError(
            f"expected uint8 RGB of shape {'[N, ' if ndim == 5 else '['}T, H, W, 3], got {data.dtype} "
            f"{tuple(data.shape)}; decode with vrag.media (Frames.data is already in this layout)"
        )
    return data


def as_clip_list(clips: ClipsInput) -> list[np.ndarray | torch.Tensor] | np.ndarray | torch.Tensor:
    """A batch of clips: a 5-D uint8 array ``[B, T, H, W, 3]`` or a list of ``[T, H, W, 3]`` clips."""
    if isinstance(clips, Frames):
        return [_as_array(clips, 4)]
    if isinstance(clips, np.ndarray | torch.Tensor):
        if clips.ndim == 4:
            return [_as_array(clips, 4)]
        return _as_array(clips, 5)
    return [_as_array(c, 4) for c in clips]


def iter_batches(
    clips: list[np.ndarray | torch.Tensor] | np.ndarray | torch.Tensor, size: int
) -> Iterator[list[torch.Tensor]]:
    """Yield groups of at most ``size`` clips as uint8 CPU tensors; equal shapes are stacked into one."""
    for i in range(0, len(clips), size):
        part = clips[i : i + size]
        if isinstance(part, np.ndarray | torch.Tensor):
            yield [torch.as_tensor(np.ascontiguousarray(part) if isinstance(part, np.ndarray) else part)]
            continue
        tensors = [torch.as_tensor(c) for c in part]
        if all(t.shape == tensors[0].shape for t in tensors):
            yield [torch.stack(tensors)]
        else:
            yield [t.unsqueeze(0) for t in tensors]


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host→device copy; pinned and non-blocking on CUDA."""
    if device.type == "cuda" and x.device.type == "cpu":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)


# ---------------------------------------------------------------- preprocessing


def resize_target(height: int, width: int, spec: EncoderSpec) -> tuple[int, int]:
    """Size after resizing, with the Hugging Face rule (shortest edge, long edge truncated) or squash."""
    if spec.resize_shortest is None:
        return spec.input_size
    new_w, new_h = spec.decode_size(width, height)
    return new_h, new_w


def preprocess(x: torch.Tensor, spec: EncoderSpec, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 ``[B, T, H, W, 3]`` (on any device) → model input ``[B, T, 3, h, w]`` on the same device.

    Resize is antialiased like PIL and stays on the uint8 grid (the processors resize uint8 images), then
    centre crop (offsets ``(H - h) // 2`` like the processors), rescale and normalise in one fused step.
    """
    b, t, h, w, _ = x.shape
    y = x.reshape(b * t, h, w, 3).permute(0, 3, 1, 2)  # a channels-last view, no copy
    target = resize_target(h, w, spec)
    if target != (h, w):
        y = _resize(y, target, spec.resample)
    y = y.float()
    (ch, cw), (rh, rw) = spec.input_size, y.shape[-2:]
    if (rh, rw) != (ch, cw):
        top, left = (rh - ch) // 2, (rw - cw) // 2
        y = y[:, :, top : top + ch, left : left + cw]
    mean = torch.tensor(spec.mean or (0.0, 0.0, 0.0), device=y.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std or (1.0, 1.0, 1.0), device=y.device).view(1, 3, 1, 1)
    y = y * (spec.rescale / std) - mean / std
    return y.reshape(b, t, 3, ch, cw).to(dtype).contiguous()


def _resize(y: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Antialiased resize of uint8 ``[N, 3, H, W]``; the result is uint8.

    On CPU torch has a vectorised uint8 channels-last kernel (~15x faster than float here); elsewhere the
    float kernel runs and is rounded back to uint8, as PIL does.
    """
    if y.device.type == "cpu":
        return F.interpolate(y, size=size, mode=mode, antialias=True, align_corners=False)
    out = F.interpolate(y.float(), size=size, mode=mode, antialias=True, align_corners=False)
    return out.round_().clamp_(0, 255).to(torch.uint8)


# ---------------------------------------------------------------- encoders


class _Runner:
    """Shared plumbing: inference mode, autocast for reduced precision, optional torch.compile."""

    spec: EncoderSpec
    runtime: Runtime

    def _context(self) -> contextlib.AbstractContextManager[Any]:
        if self.runtime.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.runtime.device.type, dtype=self.runtime.dtype)

    def _maybe_compile(self, fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        return torch.compile(fn, dynamic=False) if self.runtime.compile else fn

    def __repr__(self) -> str:
        rt = self.runtime
        where = f"device={rt.device}, dtype={rt.dtype}, dim={self.spec.dim}"
        return f"{type(self).__name__}({self.spec.name!r}, {where})"


class VideoEncoder(_Runner):
    """Base of every visual encoder. Subclasses implement ``_embed`` (and ``_tokens`` / ``_text``).

    Example:
        >>> from vrag.encoders import create_encoder
        >>> enc = create_encoder("videomae-test")  # random weights: tests only
        >>> clips = np.zeros((2, enc.spec.frames, 48, 64, 3), np.uint8)
        >>> enc.encode_video(clips).shape == (2, enc.spec.dim)
        True
    """

    #: whether clips must have exactly ``spec.frames`` frames (frame-average encoders take any count)
    fixed_frames = True

    def __init__(self, spec: EncoderSpec, runtime: Runtime) -> None:
        self.spec, self.runtime = spec, runtime
        self._embed_fn = self._maybe_compile(self._embed)

    # -- public API
    def encode_video(self, clips: ClipsInput, *, batch_size: int | None = None) -> np.ndarray:
        """Embed clips of uint8 RGB frames.

        Args:
            clips: ``[B, T, H, W, 3]`` uint8 (numpy or torch), one ``[T, H, W, 3]`` clip, a
                :class:`~vrag.types.Frames`, or a list of those (sizes may differ; each is resized).
            batch_size: clips per forward pass (default: the encoder's).

        Returns:
            float32 ``[B, dim]``, each row L2-normalised.
        """
        out = self._run(clips, self._embed_fn, batch_size)
        return F.normalize(out, dim=-1).numpy()

    def encode_video_tokens(self, clips: ClipsInput, *, batch_size: int | None = None) -> np.ndarray:
        """Per-token features ``[B, N, D]`` (``N`` follows ``spec.token_grid``), float32, not normalised."""
        return self._run(clips, self._tokens, batch_size).numpy()

    def encode_text(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed text queries into the video space: float32 ``[N, dim]``, L2-normalised.

        Raises:
            ConfigError: the encoder has no aligned text tower (``spec.has_text`` is False).
        """
        if not self.spec.has_text:
            raise ConfigError(
                f"encoder {self.spec.name!r} has no text tower (spec.has_text is False); for text queries "
                "use a text-aligned encoder such as 'videoprism-lvt-base', 'xclip-base-patch32' or "
                "'siglip2-base-frames'"
            )
        texts = check_texts(texts)
        size = batch_size or max(self.runtime.batch_size, 32)
        parts = [self._text_batch(texts[i : i + size]) for i in range(0, len(texts), size)]
        return F.normalize(torch.cat(parts), dim=-1).numpy()

    def encode_frames(
        self, images: np.ndarray | torch.Tensor | Frames, *, batch_size: int | None = None
    ) -> np.ndarray:
        """Embed single images ``[N, H, W, 3]`` uint8 (image encoders only): float32 ``[N, dim]``."""
        raise ConfigError(
            f"encoder {self.spec.name!r} is spatiotemporal; it embeds clips with encode_video, "
            "not single frames"
        )

    # -- family hooks
    def _embed(self, pixels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        raise ConfigError(f"encoder {self.spec.name!r} does not expose token features")

    def _text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    tokenizer: Any = None

    # -- plumbing
    def _run(
        self, clips: ClipsInput, fn: Callable[[torch.Tensor], torch.Tensor], batch_size: int | None
    ) -> torch.Tensor:
        items = as_clip_list(clips)
        self._check_frames(items)
        outs = []
        with torch.inference_mode(), self._context():
            for group in iter_batches(items, batch_size or self.runtime.batch_size):
                pixels = torch.cat([self._pixels(g) for g in group])
                outs.append(fn(pixels).float().cpu())
        if not outs:
            raise ConfigError("no clips to encode; pass at least one clip")
        return torch.cat(outs)

    def _pixels(self, clip_batch: torch.Tensor) -> torch.Tensor:
        return preprocess(to_device(clip_batch, self.runtime.device), self.spec, self.runtime.dtype)

    def _check_frames(self, items: list[np.ndarray | torch.Tensor] | np.ndarray | torch.Tensor) -> None:
        counts = {int(c.shape[0]) for c in items} if isinstance(items, list) else {int(items.shape[1])}
        if self.fixed_frames and counts - {self.spec.frames}:
            raise ConfigError(
                f"encoder {self.spec.name!r} takes {self.spec.frames} frames per clip, got {sorted(counts)}; "
                "decode the times from spec.clip_times(start, end)"
            )

    def _text_batch(self, texts: list[str]) -> torch.Tensor:
        spec = self.spec
        enc = self.tokenizer(
            texts,
            padding="max_length" if spec.text_pad_to_max else True,
            truncation=True,
            max_length=spec.text_max_length,
            return_tensors="pt",
        )
        ids = to_device(enc["input_ids"], self.runtime.device)
        mask = enc.get("attention_mask")  # absent when the checkpoint's tokenizer has none (SigLIP)
        mask = None if mask is None else to_device(mask, self.runtime.device)
        with torch.inference_mode(), self._context():
            return self._text(ids, mask).float().cpu()


class TextEncoder(_Runner):
    """Base of text-only encoders (transcript / OCR channels). Query and document paths may differ.

    Example:
        >>> from vrag.encoders import create_encoder
        >>> enc = create_encoder("minilm")
        >>> enc.encode_query(["a cat on a sofa"]).shape
        (1, 384)
    """

    def __init__(self, spec: EncoderSpec, runtime: Runtime) -> None:
        self.spec, self.runtime = spec, runtime

    def encode_text(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Symmetric embedding (no query/document prompt): float32 ``[N, dim]``, L2-normalised."""
        raise NotImplementedError

    def encode_query(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed search queries (uses the model's query prompt when it has one)."""
        return self.encode_text(texts, batch_size=batch_size)

    def encode_document(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed indexed text (transcripts, OCR) with the model's document prompt when it has one."""
        return self.encode_text(texts, batch_size=batch_size)


def check_texts(texts: Sequence[str]) -> list[str]:
    """Validate a text batch (a list, not a bare string; not empty)."""
    if isinstance(texts, str):
        raise ConfigError("pass a list of texts, not a single string: encode_text([text])")
    if not texts:
        raise ConfigError("no texts to encode; pass at least one")
    return list(texts)


def frames_as_clips(images: np.ndarray | torch.Tensor | Frames) -> np.ndarray | torch.Tensor:
    """``[N, H, W, 3]`` images → ``[N, 1, H, W, 3]`` one-frame clips (a view, no copy)."""
    data = _as_array(images, 4)
    return data[:, None]


def build_seeded(factory: Callable[[], torch.nn.Module], seed: int = 0) -> torch.nn.Module:
    """Build a randomly initialised model reproducibly, without touching the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory()
