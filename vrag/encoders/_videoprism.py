"""VideoPrism-LvT (``google/videoprism-lvt-*``): factorised video ViT + attention pooling, with a text tower.

Inputs are RGB in ``[0, 1]`` at 288x288 (bicubic squash, no mean/std normalisation), 16 frames (base) or 8
(large). Text is padded to 64 tokens: the text tower pools a CLS token appended after the padding.
"""

from __future__ import annotations

from typing import Any

import torch

from vrag.encoders._base import Runtime, VideoEncoder, build_seeded, prepare_model
from vrag.encoders._loading import load_pretrained, load_tokenizer
from vrag.encoders._spec import EncoderSpec
from vrag.encoders._tiny import PAD, tiny_tokenizer, tiny_vocab

LICENSE = "cc-by-4.0 (weights; check the model card)"
TEXT_MAX_LENGTH = 64


DEFAULT_BATCH = 4  # 16 frames at 288 px: a batch of 4 clips is already large


class VideoPrismEncoder(VideoEncoder):
    """VideoPrism video (attention-pooled) and text embeddings in one space."""

    def __init__(self, model: Any, tokenizer: Any, spec: EncoderSpec, runtime: Runtime) -> None:
        self.model, self.tokenizer = model, tokenizer
        super().__init__(spec, runtime)

    def _embed(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.get_video_features(pixel_values_videos=pixels).pooler_output.flatten(1)

    def _tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """Spatiotemporal tokens after the auxiliary layers: ``[B, T * h * w, D]``."""
        return self.model.video_model(pixel_values_videos=pixels).last_hidden_state

    def _text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        return self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask).pooler_output


def make_spec(config: Any, *, name: str, source: str, test_only: bool = False) -> EncoderSpec:
    """Spec from a ``VideoPrismConfig`` (the checkpoint fixes size and frame count)."""
    vision = config.vision_config
    size = vision.image_size if isinstance(vision.image_size, int) else vision.image_size[0]
    _, ph, pw = vision.tubelet_size
    return EncoderSpec(
        name=name,
        family="videoprism",
        source=source,
        modality="video",
        dim=vision.hidden_size,
        frames=vision.num_frames,
        fps=None,
        input_size=(size, size),
        resample="bicubic",
        has_text=True,
        token_grid=(vision.num_frames, size // ph, size // pw),
        license="random weights (tests only)" if test_only else LICENSE,
        test_only=test_only,
        text_max_length=min(TEXT_MAX_LENGTH, config.text_config.max_position_embeddings),
        text_pad_to_max=True,
    )


def load(source: str, runtime: Runtime, *, name: str | None = None, local: bool = False) -> VideoPrismEncoder:
    """Load a VideoPrism-LvT (``VideoPrismClipModel``) checkpoint and its tokenizer."""
    from transformers import VideoPrismClipModel

    model = load_pretrained(VideoPrismClipModel, source, local=local, runtime=runtime)
    tokenizer = load_tokenizer(source, local=local)
    spec = make_spec(model.config, name=name or source, source=source)
    return VideoPrismEncoder(prepare_model(model, runtime), tokenizer, spec, runtime)


def tiny_config() -> Any:
    """2+1+1-layer, 32-d, 4-frame 32x32 VideoPrism-LvT with the tiny character vocabulary (tests only)."""
    from transformers import VideoPrismConfig

    vision = {
        "image_size": 32,
        "num_frames": 4,
        "tubelet_size": (1, 8, 8),
        "hidden_size": 32,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "num_spatial_layers": 2,
        "num_temporal_layers": 1,
        "num_auxiliary_layers": 1,
    }
    text = {
        "vocab_size": len(tiny_vocab()),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 16,
        "pad_token_id": PAD,
    }
    return VideoPrismConfig(vision_config=vision, text_config=text)


def tiny_model() -> torch.nn.Module:
    """Seeded random tiny ``VideoPrismClipModel``."""
    from transformers import VideoPrismClipModel

    return build_seeded(lambda: VideoPrismClipModel(tiny_config()))


def create_tiny(runtime: Runtime) -> VideoPrismEncoder:
    """``videoprism-test``: random weights, seeded, no download. Tests and CI only."""
    model = tiny_model()
    spec = make_spec(model.config, name="videoprism-test", source="random-init", test_only=True)
    return VideoPrismEncoder(prepare_model(model, runtime), tiny_tokenizer(), spec, runtime)
