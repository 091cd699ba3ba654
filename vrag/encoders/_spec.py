"""The data contract an encoder carries: what to decode, how to prepare it, what comes out.

The pipeline reads an :class:`EncoderSpec` to decide which frames to decode and at what size; nothing
downstream hard-codes frame counts or resolutions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from vrag.errors import ConfigError

__all__ = ["HALF", "OPENAI_CLIP_MEAN", "OPENAI_CLIP_STD", "EncoderSpec", "PixelBudget"]

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HALF = (0.5, 0.5, 0.5)

Modality = Literal["video", "image", "text"]
MAX_ASPECT = 200


@dataclass(frozen=True, slots=True)
class PixelBudget:
    """Dynamic resolution (Qwen-VL style): keep the aspect ratio, snap sides to ``factor``, bound the area.

    A frame of any size is fitted in up to two steps, each the reference's ``smart_resize``: round both sides
    to multiples of the step's factor, then scale (area-preserving) into ``[min_pixels, max_pixels]``.
    ``pre_factor`` (with its own bounds) is the first step of Qwen3-VL-Embedding's frame-list path, which
    fits each frame as an image before fitting the video.

    Attributes:
        factor: side multiple of the final size (patch size x merge size).
        min_pixels: least area of a frame.
        max_pixels: largest area of a frame.
        pre_factor: side multiple of a first fitting step; ``None`` for one step.
        pre_min_pixels: least area of the first step.
        pre_max_pixels: largest area of the first step.

    Example:
        >>> PixelBudget(factor=32, min_pixels=128 * 32 * 32, max_pixels=768 * 32 * 32).size(1280, 720)
        (1152, 640)
    """

    factor: int
    min_pixels: int
    max_pixels: float
    pre_factor: int | None = None
    pre_min_pixels: int = 0
    pre_max_pixels: float = math.inf

    def size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` of a ``width x height`` frame once fitted.

        Raises:
            ConfigError: an aspect ratio above 200 (the reference refuses it too).
        """
        if self.pre_factor is not None:
            height, width = smart_resize(
                height, width, self.pre_factor, self.pre_min_pixels, self.pre_max_pixels
            )
        height, width = smart_resize(height, width, self.factor, self.min_pixels, self.max_pixels)
        return width, height


def smart_resize(
    height: int, width: int, factor: int, min_pixels: float, max_pixels: float
) -> tuple[int, int]:
    """``(height, width)``: sides rounded to ``factor`` multiples, area scaled into bounds (qwen-vl-utils).

    Raises:
        ConfigError: an empty frame or an aspect ratio above 200.
    """
    if min(height, width) < 1:
        raise ConfigError(f"frame of {width}x{height} pixels is empty")
    if max(height, width) / min(height, width) > MAX_ASPECT:
        raise ConfigError(f"frame of {width}x{height}: aspect ratio above {MAX_ASPECT} is not supported")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True, slots=True)
class EncoderSpec:
    """What an encoder expects and returns.

    Attributes:
        name: registry name, or the hub id / directory it was loaded from.
        family: implementation family (``videomae``, ``xclip``, ``videoprism``, ``frames``, ``text``).
        source: hub id or local directory of the weights; ``random-init`` for test-only variants.
        modality: ``video`` (spatiotemporal), ``image`` (per-frame, averaged over time) or ``text``.
        dim: output vector size.
        frames: frames per clip (0 for text encoders).
        fps: sampling rate inside a clip; ``None`` spreads the frames evenly over the whole span.
        input_size: ``(height, width)`` the model sees.
        resize_shortest: if set, the shortest edge is resized to this, then the centre is cropped to
            ``input_size`` (CLIP / VideoMAE style); if ``None`` frames are squashed to ``input_size``.
        resample: interpolation of the resize (antialiased, like PIL).
        rescale: factor from uint8 to the model's range (``1/255``).
        mean: per-channel mean subtracted after rescaling; ``None`` for no normalisation.
        std: per-channel std divided after subtracting the mean.
        has_text: whether :meth:`VideoEncoder.encode_text` maps text into the same space.
        token_grid: ``(t, h, w)`` of the token sequence returned by ``encode_video_tokens``.
        license: licence of the weights (check it before shipping an index).
        test_only: random weights for tests; never index with it.
        text_max_length: tokens per text (padding rule of the checkpoint), when there is a text tower.
        text_pad_to_max: whether texts are padded to ``text_max_length`` (the model pools the last position).
        vectors: vectors per clip from ``encode_video_multi`` (more than 1: a multivector scored by MaxSim).
        pixel_budget: dynamic resolution: frames keep their aspect ratio and are decoded at
            ``pixel_budget.size(width, height)``; ``input_size`` is then that of a nominal source (see the
            family).

    Example:
        >>> spec = EncoderSpec(name="demo", family="frames", source="x", modality="image", dim=4, frames=4,
        ...                    fps=None, input_size=(224, 224))
        >>> spec.clip_times(0.0, 8.0).tolist()
        [1.0, 3.0, 5.0, 7.0]
    """

    name: str
    family: str
    source: str
    modality: Modality
    dim: int
    frames: int
    fps: float | None
    input_size: tuple[int, int]
    resize_shortest: int | None = None
    resample: Literal["bilinear", "bicubic"] = "bicubic"
    rescale: float = 1 / 255
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    has_text: bool = False
    token_grid: tuple[int, int, int] | None = None
    license: str = "unknown"
    test_only: bool = False
    text_max_length: int | None = None
    text_pad_to_max: bool = False
    vectors: int = 1
    pixel_budget: PixelBudget | None = None

    @property
    def clip_seconds(self) -> float | None:
        """Length of one clip in seconds when the encoder samples at a fixed rate, else ``None``."""
        return None if self.fps is None else self.frames / self.fps

    def clip_times(self, start: float, end: float) -> np.ndarray:
        """The ``frames`` times (seconds) to decode for one clip covering ``[start, end)``.

        With ``fps=None`` the frames sit at the centres of ``frames`` equal bins of the span. With a rate, a
        window of ``frames / fps`` seconds is centred on the span (bin centres at that rate); a span shorter
        than the window is covered evenly instead, so no frame falls outside it.

        Raises:
            ConfigError: the span is empty or the encoder takes no frames.
        """
        if not end > start:
            raise ConfigError(f"clip span [{start}, {end}) is empty; pass end > start")
        if self.frames < 1:
            raise ConfigError(f"encoder {self.name!r} takes text, not frames")
        span = end - start
        if self.fps is not None and self.frames / self.fps < span:
            start, span = start + (span - self.frames / self.fps) / 2, self.frames / self.fps
        return start + (np.arange(self.frames, dtype=np.float64) + 0.5) * (span / self.frames)

    def decode_size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` to ask the decoder for, so the encoder's own resize becomes the identity.

        For centre-crop encoders this keeps the aspect ratio (shortest edge = ``resize_shortest``, like the
        Hugging Face processors); with a pixel budget, the budget's fitted size; otherwise the model's input
        size.
        """
        if self.pixel_budget is not None:
            return self.pixel_budget.size(width, height)
        if self.resize_shortest is None:
            return self.input_size[1], self.input_size[0]
        short, long = sorted((width, height))
        new_long = int(self.resize_shortest * long / short)
        if width <= height:
            return self.resize_shortest, new_long
        return new_long, self.resize_shortest

    def describe(self) -> str:
        """One line for listings: modality, dim, input contract, text tower, licence."""
        rate = "spread over the span" if self.fps is None else f"at {self.fps:g} fps"
        text = "text-aligned" if self.has_text else "no text tower"
        if self.modality == "text":
            return f"text, {self.dim}-d, {self.license}"
        size = f"{self.input_size[0]}x{self.input_size[1]}"
        return f"{self.modality}, {self.dim}-d, {self.frames} frames {rate}, {size}, {text}, {self.license}"
