"""X-CLIP (``microsoft/xclip-*``): CLIP frames + cross-frame communication + multi-frame integration.

Video and text vectors are independent (``get_video_features`` / ``get_text_features``); the model's forward
conditions text on each video and cannot be indexed.
"""

from __future__ import annotations

from typing import Any

import torch

from vrag.encoders._base import Runtime, VideoEncoder, build_seeded, prepare_model
from vrag.encoders._loading import load_pretrained, load_tokenizer, processor_params
from vrag.encoders._spec import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, EncoderSpec
from vrag.encoders._tiny import CLS, PAD, SEP, tiny_tokenizer, tiny_vocab

LICENSE = "mit"
DEFAULTS: dict[str, Any] = {
    "resize_shortest": 224,
    "input_size": (224, 224),
    "resample": "bicubic",
    "mean": OPENAI_CLIP_MEAN,
    "std": OPENAI_CLIP_STD,
}  # CLIPImageProcessor's defaults (X-CLIP's processor); a checkpoint's preprocessor config overrides them


class XCLIPEncoder(VideoEncoder):
    """X-CLIP video embeddings (MIT-pooled frame CLS features) and text embeddings in the same space."""

    def __init__(self, model: Any, tokenizer: Any, spec: EncoderSpec, runtime: Runtime) -> None:
        self.model, self.tokenizer = model, tokenizer
        super().__init__(spec, runtime)

    def _embed(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.get_video_features(pixel_values=pixels).pooler_output

    def _tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """Per-frame features after cross-frame integration: ``[B, T, D]``."""
        b, t = pixels.shape[:2]
        frames = self.model.vision_model(pixel_values=pixels.flatten(0, 1)).pooler_output
        cls = self.model.visual_projection(frames).view(b, t, -1)
        return self.model.mit(cls).last_hidden_state

    def _text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        return self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask).pooler_output


def make_spec(
    config: Any, *, name: str, source: str, params: dict[str, Any], test_only: bool = False
) -> EncoderSpec:
    """Spec from an ``XCLIPConfig`` and preprocessing params."""
    frames = config.vision_config.num_frames
    return EncoderSpec(
        name=name,
        family="xclip",
        source=source,
        modality="video",
        dim=config.projection_dim,
        frames=frames,
        fps=None,
        has_text=True,
        token_grid=(frames, 1, 1),
        license="random weights (tests only)" if test_only else LICENSE,
        test_only=test_only,
        text_max_length=config.text_config.max_position_embeddings,
        **params,
    )


def load(source: str, runtime: Runtime, *, name: str | None = None, local: bool = False) -> XCLIPEncoder:
    """Load an X-CLIP checkpoint and its tokenizer from a hub id or local directory."""
    from transformers import XCLIPModel

    model = load_pretrained(XCLIPModel, source, local=local, runtime=runtime)
    tokenizer = load_tokenizer(source, local=local)
    image_size = model.config.vision_config.image_size
    params = processor_params(source, local=local, defaults=DEFAULTS, image_size=image_size)
    spec = make_spec(model.config, name=name or source, source=source, params=params)
    return XCLIPEncoder(prepare_model(model, runtime), tokenizer, spec, runtime)


def tiny_config() -> Any:
    """2-layer, 32-d, 4-frame 32x32 X-CLIP with the tiny character vocabulary (tests only)."""
    from transformers import XCLIPConfig

    text = {
        "vocab_size": len(tiny_vocab()),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 32,
        "pad_token_id": PAD,
        "bos_token_id": CLS,
        "eos_token_id": SEP,
    }
    vision = {
        "image_size": 32,
        "patch_size": 8,
        "num_frames": 4,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "mit_hidden_size": 24,
        "mit_intermediate_size": 48,
        "mit_num_attention_heads": 2,
    }
    return XCLIPConfig(
        text_config=text, vision_config=vision, projection_dim=24, prompt_num_attention_heads=2
    )


def tiny_model() -> torch.nn.Module:
    """Seeded random tiny ``XCLIPModel``."""
    from transformers import XCLIPModel

    return build_seeded(lambda: XCLIPModel(tiny_config()))


def create_tiny(runtime: Runtime) -> XCLIPEncoder:
    """``xclip-test``: random weights, seeded, no download. Tests and CI only."""
    model = tiny_model()
    params = {**DEFAULTS, "resize_shortest": 32, "input_size": (32, 32)}
    spec = make_spec(model.config, name="xclip-test", source="random-init", params=params, test_only=True)
    return XCLIPEncoder(prepare_model(model, runtime), tiny_tokenizer(), spec, runtime)
