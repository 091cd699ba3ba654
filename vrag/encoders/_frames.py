"""Frame-level image–text baseline: CLIP / SigLIP (fixed-resolution SigLIP2 ids load as SigLIP) per frame.

A clip's vector is the mean of its L2-normalised frame vectors — the naive frame averaging kept as the
baseline in every evaluation and as the cheap first-tier encoder. It is blind to temporal order by
construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vrag.encoders._base import (
    Runtime,
    VideoEncoder,
    build_seeded,
    frames_as_clips,
    prepare_model,
)
from vrag.encoders._loading import load_pretrained, load_tokenizer, processor_params, read_json
from vrag.encoders._spec import HALF, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, EncoderSpec
from vrag.encoders._tiny import CLS, PAD, SEP, tiny_tokenizer, tiny_vocab
from vrag.types import Frames

FRAMES = 8
CLIP_DEFAULTS: dict[str, Any] = {
    "resize_shortest": 224,
    "input_size": (224, 224),
    "resample": "bicubic",
    "mean": OPENAI_CLIP_MEAN,
    "std": OPENAI_CLIP_STD,
}
SIGLIP_DEFAULTS: dict[str, Any] = {
    "resize_shortest": None,
    "input_size": (224, 224),
    "resample": "bicubic",
    "mean": HALF,
    "std": HALF,
}
SIGLIP_TEXT_LENGTH = 64


class FrameAverageEncoder(VideoEncoder):
    """Image–text model applied per frame; clip vector = mean of normalised frame vectors."""

    fixed_frames = False

    def __init__(self, model: Any, tokenizer: Any, spec: EncoderSpec, runtime: Runtime) -> None:
        self.model, self.tokenizer = model, tokenizer
        super().__init__(spec, runtime)

    def _tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """Normalised per-frame vectors ``[B, T, D]``."""
        b, t = pixels.shape[:2]
        feats = self.model.get_image_features(pixel_values=pixels.flatten(0, 1)).pooler_output
        return F.normalize(feats.float(), dim=-1).view(b, t, -1)

    def _embed(self, pixels: torch.Tensor) -> torch.Tensor:
        return self._tokens(pixels).mean(dim=1)

    def _text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        return self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask).pooler_output

    def encode_frames(
        self, images: np.ndarray | torch.Tensor | Frames, *, batch_size: int | None = None
    ) -> np.ndarray:
        """Embed single images ``[N, H, W, 3]`` uint8: float32 ``[N, dim]``, L2-normalised."""
        size = batch_size or self.runtime.batch_size * self.spec.frames
        return self.encode_video(frames_as_clips(images), batch_size=size)


def make_spec(
    config: Any, *, name: str, source: str, params: dict[str, Any], test_only: bool = False
) -> EncoderSpec:
    """Spec from a ``CLIPConfig`` / ``SiglipConfig`` and preprocessing params."""
    siglip = config.model_type == "siglip"
    dim = config.vision_config.hidden_size if siglip else config.projection_dim
    max_len = config.text_config.max_position_embeddings
    return EncoderSpec(
        name=name,
        family="frames",
        source=source,
        modality="image",
        dim=dim,
        frames=FRAMES,
        fps=None,
        has_text=True,
        token_grid=(FRAMES, 1, 1),
        license="random weights (tests only)" if test_only else _license(config.model_type),
        test_only=test_only,
        text_max_length=min(SIGLIP_TEXT_LENGTH, max_len) if siglip else max_len,
        text_pad_to_max=siglip,
        **params,
    )


def _license(model_type: str) -> str:
    return "apache-2.0" if model_type == "siglip" else "mit"


def load(
    source: str, runtime: Runtime, *, name: str | None = None, local: bool = False
) -> FrameAverageEncoder:
    """Load a CLIP or SigLIP checkpoint (any per-image model with get_image/text_features)."""
    from transformers import CLIPModel, SiglipModel

    config = read_json(source, "config.json", local=local) or {}
    siglip = config.get("model_type") == "siglip"
    model = load_pretrained(SiglipModel if siglip else CLIPModel, source, local=local, runtime=runtime)
    tokenizer = load_tokenizer(source, local=local)
    defaults, image_size = SIGLIP_DEFAULTS if siglip else CLIP_DEFAULTS, model.config.vision_config.image_size
    params = processor_params(source, local=local, defaults=defaults, image_size=image_size)
    spec = make_spec(model.config, name=name or source, source=source, params=params)
    return FrameAverageEncoder(prepare_model(model, runtime), tokenizer, spec, runtime)


def _text_config(max_positions: int) -> dict[str, Any]:
    return {
        "vocab_size": len(tiny_vocab()),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": max_positions,
        "pad_token_id": PAD,
        "bos_token_id": CLS,
        "eos_token_id": SEP,
    }


_VISION = {
    "image_size": 32,
    "patch_size": 8,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
}


def tiny_config(kind: str = "clip") -> Any:
    """2-layer, 32-d, 32x32 CLIP (``kind="clip"``) or SigLIP (``"siglip"``) config (tests only)."""
    from transformers import CLIPConfig, SiglipConfig

    if kind == "siglip":
        return SiglipConfig(text_config=_text_config(16), vision_config=_VISION)
    return CLIPConfig(text_config=_text_config(32), vision_config=_VISION, projection_dim=24)


def tiny_model(kind: str = "clip") -> torch.nn.Module:
    """Seeded random tiny ``CLIPModel`` / ``SiglipModel``."""
    from transformers import CLIPModel, SiglipModel

    cls = SiglipModel if kind == "siglip" else CLIPModel
    return build_seeded(lambda: cls(tiny_config(kind)))


def _create_tiny(kind: str, name: str, runtime: Runtime) -> FrameAverageEncoder:
    model = tiny_model(kind)
    defaults = SIGLIP_DEFAULTS if kind == "siglip" else CLIP_DEFAULTS
    params = {**defaults, "input_size": (32, 32), "resize_shortest": None if kind == "siglip" else 32}
    spec = make_spec(model.config, name=name, source="random-init", params=params, test_only=True)
    return FrameAverageEncoder(prepare_model(model, runtime), tiny_tokenizer(), spec, runtime)


def create_tiny(runtime: Runtime) -> FrameAverageEncoder:
    """``frames-test``: tiny random CLIP per frame. Tests and CI only."""
    return _create_tiny("clip", "frames-test", runtime)


def create_tiny_siglip(runtime: Runtime) -> FrameAverageEncoder:
    """``siglip-frames-test``: tiny random SigLIP per frame (max-length text padding). Tests and CI only."""
    return _create_tiny("siglip", "siglip-frames-test", runtime)
