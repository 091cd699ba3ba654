"""Qwen3-VL-Embedding, native: transformers' ``Qwen3VLModel``, the reference's prompts, frames, pooling.

The reference (github.com/QwenLM/Qwen3-VL-Embedding, ``src/models/qwen3_vl_embedding.py`` with qwen-vl-utils)
embeds any mix of text and video as one chat: the instruction is the system message, the input the user
message, then the generation prompt; the vector is the last token's final hidden state, L2-normalised.
Queries carry a task instruction, documents the default ``"Represent the user's input."``.

A clip is a list of frames, as in the reference's frame-list path (how its MMEB-V2 video numbers were made):
at most ``max_frames`` kept (evenly), an odd count padded with the last frame, each frame fitted to a pixel
budget that keeps the aspect ratio (sides multiples of patch x merge = 32; 128-768 tokens per frame pair and
at most ``10 * 768`` tokens per clip), frames paired in time (temporal patch 2), each pair announced by a
``<t seconds>`` stamp at the reference's 2 fps. The spec carries the budget, so the pipeline decodes every
frame at its final size and the resize here is the identity. Matryoshka sizes: the first ``dim`` values of
the vector, renormalised.

:class:`Qwen3VLScorer` is the Qwen3-VL-Reranker's scorer on the same backbone: one chat per (query,
document) pair, the score is ``sigmoid(h . (w_yes - w_no))`` from the LM head's "yes" and "no" rows.

GPU path: bf16 weights, SDPA attention (flash kernels on CUDA), clips of any sizes and frame counts batched
into one forward (the vision tower packs them, the text side pads on the right).
"""

from __future__ import annotations

import dataclasses
import inspect
import unicodedata
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F

from vrag.encoders._base import (
    ClipsInput,
    Runtime,
    VideoEncoder,
    _resize,
    as_clip_list,
    check_texts,
    prepare_model,
    to_device,
)
from vrag.encoders._loading import load_pretrained, load_tokenizer, read_json
from vrag.encoders._spec import EncoderSpec, PixelBudget
from vrag.errors import ConfigError, ModelUnavailableError

__all__ = [
    "DOCUMENT_INSTRUCTION",
    "QUERY_INSTRUCTION",
    "Qwen3VLEmbedder",
    "Qwen3VLScorer",
    "chat_prompt",
    "frame_budget",
    "load",
    "load_scorer",
]

LICENSE = "apache-2.0"
DEFAULT_BATCH = 4
DEFAULT_FRAMES = 16
MAX_FRAMES = 64  # the reference's max_frames
MAX_LENGTH = 8192  # tokens per input (the reference's max_length)
MIN_DIM = 32  # smallest Matryoshka size the technical report evaluates
SAMPLE_FPS = 2.0  # a frame list is stamped as if sampled at 2 fps (qwen-vl-utils)
MIN_TOKENS, MAX_TOKENS, CLIP_TOKENS = 128, 768, 10 * 768  # per frame pair (min / max), per clip
DOCUMENT_INSTRUCTION = "Represent the user's input."
QUERY_INSTRUCTION = "Find a video that contains the following visual content."  # its MSR-VTT eval
RERANK_SYSTEM = (
    "Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note "
    'that the answer can only be "yes" or "no".'
)
RERANK_INSTRUCTION = "Given a search query, retrieve relevant candidates that answer the query."
VIDEO_PAD, VISION_START, VISION_END = "<|video_pad|>", "<|vision_start|>", "<|vision_end|>"
HALF = (0.5, 0.5, 0.5)
NOMINAL_SOURCE = (640, 360)  # the spec's input_size / token_grid are those of a 360p video


# ---------------------------------------------------------------- data contract


@dataclasses.dataclass(frozen=True, slots=True)
class VisionLayout:
    """How frames become the vision tower's patches (the checkpoint's video processor config).

    Attributes:
        patch_size: spatial patch side.
        temporal_patch_size: frames per patch.
        merge_size: patches merged per side into one LLM token.
        mean: per-channel mean after rescaling to [0, 1].
        std: per-channel std.
    """

    patch_size: int = 16
    temporal_patch_size: int = 2
    merge_size: int = 2
    mean: tuple[float, float, float] = HALF
    std: tuple[float, float, float] = HALF

    @property
    def factor(self) -> int:
        """Side multiple of a frame: one merged token covers ``factor x factor`` pixels."""
        return self.patch_size * self.merge_size


def frame_budget(frames: int, layout: VisionLayout) -> PixelBudget:
    """The reference's per-frame pixel budget for a clip of ``frames`` frames.

    Frames are first fitted as images to multiples of ``2 * factor`` (qwen-vl-utils' frame-list path passes
    the image factor where it expects the patch size), then to multiples of ``factor`` between 128 and 768
    tokens per frame pair, at most ``10 * 768`` tokens over the clip.
    """
    f = layout.factor
    n = frames + frames % 2
    min_pixels = MIN_TOKENS * f * f
    max_pixels = max(min(MAX_TOKENS * f * f, CLIP_TOKENS * f * f / n * 2), int(min_pixels * 1.05))
    pre = 2 * f
    return PixelBudget(f, min_pixels, max_pixels, pre, 4 * pre * pre, 16384 * pre * pre)


def read_layout(source: str, *, local: bool) -> VisionLayout:
    """The checkpoint's video processor settings (``video_preprocessor_config.json``), else Qwen3-VL's."""
    pre = read_json(source, "video_preprocessor_config.json", local=local)
    pre = pre or read_json(source, "preprocessor_config.json", local=local) or {}
    base = VisionLayout()
    return VisionLayout(
        patch_size=int(pre.get("patch_size", base.patch_size)),
        temporal_patch_size=int(pre.get("temporal_patch_size", base.temporal_patch_size)),
        merge_size=int(pre.get("merge_size", base.merge_size)),
        mean=cast(tuple[float, float, float], tuple(pre.get("image_mean", base.mean))),
        std=cast(tuple[float, float, float], tuple(pre.get("image_std", base.std))),
    )


def make_spec(
    *,
    name: str,
    source: str,
    dim: int,
    frames: int,
    layout: VisionLayout,
    test_only: bool = False,
) -> EncoderSpec:
    """Spec: ``frames`` frames spread over each span, decoded at the reference's budget size.

    ``input_size`` and ``token_grid`` (merged tokens) are those of a 640x360 source: the token path
    (:meth:`Qwen3VLEmbedder.encode_video_tokens`) fits every clip to that size.
    """
    budget = frame_budget(frames, layout)
    width, height = budget.size(*NOMINAL_SOURCE)
    pairs = -(-frames // layout.temporal_patch_size)
    return EncoderSpec(
        name=name,
        family="qwen3vl",
        source=source,
        modality="video",
        dim=dim,
        frames=frames,
        fps=None,
        input_size=(height, width),
        resample="bicubic",
        mean=layout.mean,
        std=layout.std,
        has_text=True,
        token_grid=(pairs, height // layout.factor, width // layout.factor),
        license="random weights (tests only)" if test_only else LICENSE,
        test_only=test_only,
        text_max_length=MAX_LENGTH,
        pixel_budget=budget,
    )


# ---------------------------------------------------------------- prompts


def instruction_text(instruction: str | None, default: str) -> str:
    """The reference's rule: stripped, and ending in punctuation (a ``.`` is added otherwise)."""
    text = (instruction or "").strip()
    if not text:
        return default
    return text if unicodedata.category(text[-1]).startswith("P") else text + "."


def chat_prompt(system: str, user: str) -> str:
    """One Qwen chat turn with the generation prompt, as the checkpoint's chat template renders it."""
    return (
        f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )


def video_placeholder(grid: tuple[int, int, int], merge_size: int) -> str:
    """Per frame pair: ``<t seconds>`` then the pair's vision tokens (the processor's expansion).

    Stamps are those of a frame list at 2 fps: a pair's time is the mean of its two frames' times.
    """
    t, h, w = grid
    tokens = h * w // (merge_size * merge_size)
    out = []
    for g in range(t):
        stamp = (2 * g / SAMPLE_FPS + (2 * g + 1) / SAMPLE_FPS) / 2
        out.append(f"<{stamp:.1f} seconds>{VISION_START}{VIDEO_PAD * tokens}{VISION_END}")
    return "".join(out)


# ---------------------------------------------------------------- frames → patches


def sample_indices(count: int, max_frames: int) -> np.ndarray:
    """Which of ``count`` frames a clip keeps: all, or ``max_frames`` evenly (the reference's rule)."""
    if count <= max_frames:
        return np.arange(count)
    return np.linspace(0, count - 1, max_frames, dtype=int)


def video_patches(
    clip: torch.Tensor,
    layout: VisionLayout,
    *,
    max_frames: int,
    dtype: torch.dtype,
    size: tuple[int, int] | None = None,
) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """uint8 ``[T, H, W, 3]`` (any device) → flat patches ``[t*h*w, 3*tp*p*p]`` and the grid ``(t, h, w)``.

    Keeps at most ``max_frames`` frames, pads an odd count with the last frame, fits the frames to the
    budget (identity when the decoder already did; ``size`` = ``(height, width)`` forces one), normalises,
    and lays patches out as the Qwen3-VL video processor does.
    """
    if clip.shape[0] > max_frames:
        clip = clip[torch.as_tensor(sample_indices(clip.shape[0], max_frames), device=clip.device)]
    tp = layout.temporal_patch_size
    if pad := -clip.shape[0] % tp:
        clip = torch.cat([clip, clip[-1:].expand(pad, -1, -1, -1)])
    frames, height, width, _ = clip.shape
    x = clip.permute(0, 3, 1, 2)
    new_h, new_w = size or frame_budget(frames, layout).size(width, height)[::-1]
    if (new_h, new_w) != (height, width):
        x = _resize(x.contiguous(memory_format=torch.channels_last), (new_h, new_w), "bicubic")
    mean = torch.tensor(layout.mean, device=x.device).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(layout.std, device=x.device).view(1, 3, 1, 1) * 255.0
    x = (x.float() - mean) / std
    p, m = layout.patch_size, layout.merge_size
    gt, gh, gw = frames // tp, new_h // p, new_w // p
    x = x.reshape(gt, tp, 3, gh // m, m, p, gw // m, m, p).permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return x.reshape(gt * gh * gw, 3 * tp * p * p).to(dtype), (gt, gh, gw)


# ---------------------------------------------------------------- batches and the forward pass


@dataclasses.dataclass(frozen=True, slots=True)
class Batch:
    """Model inputs for a group of chats, right-padded; videos packed in order of appearance."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    pixel_values_videos: torch.Tensor | None
    video_grid_thw: torch.Tensor | None


class _Backbone:
    """Shared plumbing of the embedder and the scorer: tokenizing chats, packing videos, last-token states."""

    model: Any
    tokenizer: Any
    layout: VisionLayout
    runtime: Runtime
    max_frames: int

    def _setup(self) -> None:
        self.video_token_id = int(self.model.config.video_token_id)
        self._wants_types = "mm_token_type_ids" in inspect.signature(self.model.forward).parameters

    def batch(self, prompts: Sequence[str], videos: Sequence[torch.Tensor | None]) -> Batch:
        """Chats (``{video}`` marks where a clip's tokens go) and their uint8 clips → one padded batch."""
        texts, patches, grids = [], [], []
        for prompt, clip in zip(prompts, videos, strict=True):
            if clip is None:
                texts.append(prompt)
                continue
            flat, grid = self._patches(clip)
            patches.append(flat)
            grids.append(grid)
            texts.append(prompt.replace("{video}", video_placeholder(grid, self.layout.merge_size)))
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
        ids, mask = enc["input_ids"], enc["attention_mask"]
        vision_tokens = sum(t * h * w for t, h, w in grids) // self.layout.merge_size**2
        if int((ids == self.video_token_id).sum()) != vision_tokens:  # truncated to MAX_LENGTH
            raise ConfigError(
                f"a clip does not fit in {MAX_LENGTH} tokens; pass fewer frames (frames=...) to the encoder"
            )
        return Batch(
            to_device(ids, self.runtime.device),
            to_device(mask, self.runtime.device),
            torch.cat(patches) if patches else None,
            torch.tensor(grids, device=self.runtime.device) if grids else None,
        )

    def _patches(
        self, clip: torch.Tensor, size: tuple[int, int] | None = None
    ) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """A uint8 clip on the device, as flat patches and its grid (see :func:`video_patches`)."""
        device, dtype = self.runtime.device, self.runtime.dtype
        return video_patches(
            to_device(clip, device), self.layout, max_frames=self.max_frames, dtype=dtype, size=size
        )

    def last_states(self, batch: Batch) -> torch.Tensor:
        """Final hidden state of each chat's last real token ``[B, hidden]`` (right padding)."""
        kwargs: dict[str, Any] = {}
        if batch.pixel_values_videos is not None:
            kwargs = {
                "pixel_values_videos": batch.pixel_values_videos,
                "video_grid_thw": batch.video_grid_thw,
            }
            if self._wants_types:  # newer transformers read each token's modality from here
                kwargs["mm_token_type_ids"] = (batch.input_ids == self.video_token_id).int() * 2
        with torch.inference_mode():
            out = self.model(
                input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False, **kwargs
            )
        last = batch.attention_mask.sum(dim=1) - 1
        return out.last_hidden_state[torch.arange(len(last), device=last.device), last]


# ---------------------------------------------------------------- the embedder


class Qwen3VLEmbedder(_Backbone, VideoEncoder):
    """Qwen3-VL-Embedding: clips and texts in one space; queries carry an instruction, documents the default.

    Example:
        >>> from vrag.encoders import create_encoder
        >>> enc = create_encoder("qwen3-vl-embedding-test", dim=32)  # random weights: tests only
        >>> clips = np.zeros((2, enc.spec.frames, 256, 448, 3), np.uint8)
        >>> enc.encode_video(clips).shape, enc.encode_query(["a red car"]).shape
        ((2, 32), (1, 32))
    """

    fixed_frames = False  # any frame count: more than spec.frames are thinned, an odd count padded

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        spec: EncoderSpec,
        runtime: Runtime,
        *,
        layout: VisionLayout,
        instruction: str | None = None,
    ) -> None:
        self.model, self.tokenizer, self.layout = model, tokenizer, layout
        self.max_frames = spec.frames
        self.query_instruction = instruction_text(instruction, QUERY_INSTRUCTION)
        super().__init__(spec, runtime)
        self._setup()

    # -- public API
    def encode_video(self, clips: ClipsInput, *, batch_size: int | None = None) -> np.ndarray:
        """Embed clips of uint8 RGB frames (any sizes and frame counts) as documents.

        Returns:
            float32 ``[B, spec.dim]``, each row L2-normalised.
        """
        items = as_clip_list(clips)
        if not len(items):
            raise ConfigError("no clips to encode; pass at least one clip")
        prompt = chat_prompt(DOCUMENT_INSTRUCTION, "{video}")
        size = batch_size or self.runtime.batch_size
        parts = []
        for i in range(0, len(items), size):
            group = [torch.as_tensor(c) for c in items[i : i + size]]
            parts.append(self.last_states(self.batch([prompt] * len(group), group)).float().cpu())
        return self._finish(torch.cat(parts))

    def encode_text(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed search queries (with the query instruction): float32 ``[N, spec.dim]``, L2-normalised."""
        return self._texts(texts, self.query_instruction, batch_size)

    def encode_query(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Same as :meth:`encode_text`: the query path."""
        return self.encode_text(texts, batch_size=batch_size)

    def encode_document(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed texts to be searched (the default instruction), in the same space as the clips."""
        return self._texts(texts, DOCUMENT_INSTRUCTION, batch_size)

    def encode_video_tokens(self, clips: ClipsInput, *, batch_size: int | None = None) -> np.ndarray:
        """The vision tower's merged tokens (what the decoder reads), each clip fitted to ``spec.input_size``:
        float32 ``[B, t*h*w, hidden]`` following ``spec.token_grid`` for ``spec.frames``-frame clips."""
        items = as_clip_list(clips)
        if not len(items):
            raise ConfigError("no clips to encode; pass at least one clip")
        size, out = batch_size or self.runtime.batch_size, []
        for i in range(0, len(items), size):
            packed = [self._patches(torch.as_tensor(c), self.spec.input_size) for c in items[i : i + size]]
            grid = torch.tensor([g for _, g in packed], device=self.runtime.device)
            with torch.inference_mode():
                merged = self.model.visual(torch.cat([p for p, _ in packed]), grid_thw=grid)
            merged = (
                merged.pooler_output if hasattr(merged, "pooler_output") else merged[0]
            )  # older transformers
            out += merged.float().cpu().split([int(g.prod()) // self.layout.merge_size**2 for g in grid])
        return torch.stack(out).numpy()

    def prepare(self, clips: ClipsInput) -> Batch:
        """Model inputs for clips as documents (for timing the forward pass alone)."""
        group = [torch.as_tensor(c) for c in as_clip_list(clips)]
        return self.batch([chat_prompt(DOCUMENT_INSTRUCTION, "{video}")] * len(group), group)

    # -- plumbing
    def _texts(self, texts: Sequence[str], instruction: str, batch_size: int | None) -> np.ndarray:
        texts = check_texts(texts)
        size = batch_size or max(self.runtime.batch_size, 32)
        parts = []
        for i in range(0, len(texts), size):
            prompts = [chat_prompt(instruction, t) for t in texts[i : i + size]]
            parts.append(self.last_states(self.batch(prompts, [None] * len(prompts))).float().cpu())
        return self._finish(torch.cat(parts))

    def _finish(self, states: torch.Tensor) -> np.ndarray:
        """Matryoshka: the first ``spec.dim`` values, L2-normalised."""
        return F.normalize(states[:, : self.spec.dim], dim=-1).numpy()


# ---------------------------------------------------------------- the reranker's scorer


class Qwen3VLScorer(_Backbone):
    """Qwen3-VL-Reranker: P("yes") that a document (a clip, a text, or both) meets the query.

    Args:
        model: the ``Qwen3VLModel`` backbone.
        head: ``w_yes - w_no`` from the LM head.
        tokenizer, layout, runtime: as for the embedder.
        spec: what to decode for a document clip (frames spread over the span, the budget size).
    """

    def __init__(
        self,
        model: Any,
        head: torch.Tensor,
        tokenizer: Any,
        spec: EncoderSpec,
        runtime: Runtime,
        *,
        layout: VisionLayout,
    ) -> None:
        self.model, self.head, self.tokenizer, self.spec, self.runtime = model, head, tokenizer, spec, runtime
        self.layout, self.max_frames = layout, spec.frames
        self._setup()

    def score(
        self,
        query: str,
        documents: Sequence[tuple[np.ndarray | torch.Tensor | None, str]],
        *,
        instruction: str | None = None,
        batch_size: int | None = None,
    ) -> list[float]:
        """One probability per ``(clip or None, text)`` document, in order.

        Raises:
            ConfigError: a document with neither clip nor text.
        """
        instruct = instruction_text(instruction, RERANK_INSTRUCTION)
        prompts, clips = [], []
        for clip, text in documents:
            if clip is None and not text:
                raise ConfigError("a document to rerank needs a clip or a text")
            doc = ("{video}" if clip is not None else "") + text
            prompts.append(
                chat_prompt(RERANK_SYSTEM, f"<Instruct>: {instruct}<Query>:{query}\n<Document>:{doc}")
            )
            clips.append(None if clip is None else torch.as_tensor(clip))
        size = batch_size or self.runtime.batch_size
        out: list[float] = []
        for i in range(0, len(prompts), size):
            states = self.last_states(self.batch(prompts[i : i + size], clips[i : i + size]))
            out += torch.sigmoid(states.float() @ self.head.float()).cpu().tolist()
        return out

    def __repr__(self) -> str:
        return f"Qwen3VLScorer({self.spec.name!r}, device={self.runtime.device}, dtype={self.runtime.dtype})"


# ---------------------------------------------------------------- loading


def load(
    source: str,
    runtime: Runtime,
    *,
    name: str | None = None,
    local: bool = False,
    frames: int | None = None,
    dim: int | None = None,
    instruction: str | None = None,
    test_only: bool = False,
) -> Qwen3VLEmbedder:
    """Load a Qwen3-VL-Embedding checkpoint (hub id or directory) into transformers' ``Qwen3VLModel``.

    Args:
        source: hub id (``Qwen/Qwen3-VL-Embedding-2B``) or a directory.
        runtime: device, dtype, batch size.
        name: registry name for the spec.
        local: ``source`` is a directory.
        frames: frames per clip (the reference's ``max_frames``; default 16, at most 64).
        dim: Matryoshka output size (default: the model's full size).
        instruction: query instruction (default: the reference's video retrieval one).
        test_only: random weights (the ``-test`` variant).

    Raises:
        ConfigError: ``frames`` or ``dim`` out of range.
        WeightsUnavailableError: hub weights neither cached nor downloadable.
        ModelUnavailableError: the checkpoint lacks weights for part of the model.
    """
    from transformers import Qwen3VLModel

    frames = check_frames(DEFAULT_FRAMES if frames is None else frames)
    model = load_pretrained(Qwen3VLModel, source, local=local, runtime=runtime)
    full = int(model.config.text_config.hidden_size)
    layout = read_layout(source, local=local)
    spec = make_spec(
        name=name or source,
        source="random-init" if test_only else source,
        dim=check_dim(dim, full),
        frames=frames,
        layout=layout,
        test_only=test_only,
    )
    tokenizer = load_tokenizer(source, local=local)
    return Qwen3VLEmbedder(
        prepare_model(model, runtime), tokenizer, spec, runtime, layout=layout, instruction=instruction
    )


def load_scorer(
    source: str, runtime: Runtime, *, local: bool = False, frames: int | None = None, test_only: bool = False
) -> Qwen3VLScorer:
    """Load a Qwen3-VL-Reranker checkpoint; only the LM head's "yes" and "no" rows are kept.

    Raises:
        WeightsUnavailableError: hub weights neither cached nor downloadable.
        ModelUnavailableError: the checkpoint lacks weights, or its tokenizer has no "yes" / "no" token.
    """
    from transformers import Qwen3VLForConditionalGeneration

    frames = check_frames(DEFAULT_FRAMES if frames is None else frames)
    full = load_pretrained(Qwen3VLForConditionalGeneration, source, local=local, runtime=runtime)
    tokenizer = load_tokenizer(source, local=local)
    vocab = tokenizer.get_vocab()
    if "yes" not in vocab or "no" not in vocab:
        raise ModelUnavailableError(
            f"{source}: the tokenizer has no 'yes' / 'no' token; not a Qwen3-VL reranker"
        )
    weight = full.lm_head.weight.detach()
    head = (weight[vocab["yes"]] - weight[vocab["no"]]).clone()
    backbone = full.model
    del full
    layout = read_layout(source, local=local)
    spec = make_spec(name=source, source=source, dim=1, frames=frames, layout=layout, test_only=test_only)
    model = prepare_model(backbone, runtime)
    return Qwen3VLScorer(model, head.to(runtime.device), tokenizer, spec, runtime, layout=layout)


def check_frames(frames: int) -> int:
    """Frames per clip within ``[2, 64]`` (the reference's cap).

    Raises:
        ConfigError: out of range.
    """
    if not 2 <= frames <= MAX_FRAMES:
        raise ConfigError(f"Qwen3-VL takes 2 to {MAX_FRAMES} frames per clip, got frames={frames}")
    return frames


def check_dim(dim: int | None, full: int) -> int:
    """A Matryoshka size: ``None`` for the full vector, else within ``[32, full]``.

    Raises:
        ConfigError: out of range.
    """
    if dim is None:
        return full
    if not MIN_DIM <= dim <= full:
        raise ConfigError(
            f"dim={dim} is not a Matryoshka size of this model; pick {MIN_DIM} <= dim <= {full} "
            f"(e.g. {full // 2}), or leave dim unset for the full {full}-d vector"
        )
    return dim
