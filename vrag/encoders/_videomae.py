"""VideoMAE (``MCG-NJU/videomae-*``): spatiotemporal ViT, mean-pooled tokens (+ ``fc_norm`` when present).

Video-only (no text tower): for video→video similarity and as the backbone for long-video aggregation.
"""

from __future__ import annotations

from typing import Any

import torch

from vrag.encoders._base import Runtime, VideoEncoder, build_seeded, prepare_model
from vrag.encoders._loading import load_pretrained, processor_params, read_json
from vrag.encoders._spec import HALF, EncoderSpec

LICENSE = "cc-by-nc-4.0"
DEFAULTS: dict[str, Any] = {
    "resize_shortest": 224,
    "input_size": (224, 224),
    "resample": "bilinear",
    "mean": HALF,
    "std": HALF,
}  # VideoMAEImageProcessor's defaults; a checkpoint's preprocessor_config.json overrides them
#: Kinetics fine-tuning samples 16 frames with stride 4 at 30 fps (2.13 s per clip)
FPS = 7.5


class VideoMAEEncoder(VideoEncoder):
    """VideoMAE clip embeddings: mean over the ``(T/2) x (H/16) x (W/16)`` token grid."""

    def __init__(
        self, model: torch.nn.Module, fc_norm: torch.nn.Module | None, spec: EncoderSpec, runtime: Runtime
    ) -> None:
        self.model, self.fc_norm = model, fc_norm
        super().__init__(spec, runtime)

    def _tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixels).last_hidden_state

    def _embed(self, pixels: torch.Tensor) -> torch.Tensor:
        pooled = self._tokens(pixels).mean(dim=1)
        return self.fc_norm(pooled) if self.fc_norm is not None else pooled


def make_spec(
    config: Any, *, name: str, source: str, params: dict[str, Any], test_only: bool = False
) -> EncoderSpec:
    """Spec from a ``VideoMAEConfig`` and preprocessing params."""
    h, w = params["input_size"]
    grid = (config.num_frames // config.tubelet_size, h // config.patch_size, w // config.patch_size)
    return EncoderSpec(
        name=name,
        family="videomae",
        source=source,
        modality="video",
        dim=config.hidden_size,
        frames=config.num_frames,
        fps=FPS,
        token_grid=grid,
        license="random weights (tests only)" if test_only else LICENSE,
        test_only=test_only,
        **params,
    )


def load(source: str, runtime: Runtime, *, name: str | None = None, local: bool = False) -> VideoMAEEncoder:
    """Load a VideoMAE checkpoint (pre-trained or fine-tuned) from a hub id or local directory."""
    from transformers import VideoMAEForVideoClassification, VideoMAEModel

    config = read_json(source, "config.json", local=local) or {}
    fine_tuned = "VideoMAEForVideoClassification" in config.get("architectures", ())
    cls = VideoMAEForVideoClassification if fine_tuned else VideoMAEModel
    model = load_pretrained(cls, source, local=local, runtime=runtime)
    backbone, fc_norm = (model.videomae, model.fc_norm) if fine_tuned else (model, None)
    params = processor_params(source, local=local, defaults=DEFAULTS, image_size=backbone.config.image_size)
    spec = make_spec(backbone.config, name=name or source, source=source, params=params)
    return VideoMAEEncoder(prepare_model(backbone, runtime), _prepared(fc_norm, runtime), spec, runtime)


def _prepared(module: torch.nn.Module | None, runtime: Runtime) -> torch.nn.Module | None:
    return None if module is None else prepare_model(module, runtime)


def tiny_config() -> Any:
    """A 2-layer, 32-d, 4-frame 32x32 VideoMAE config (tests only)."""
    from transformers import VideoMAEConfig

    return VideoMAEConfig(
        image_size=32,
        patch_size=8,
        num_frames=4,
        tubelet_size=2,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        use_mean_pooling=False,
    )


def tiny_model() -> torch.nn.Module:
    """Seeded random tiny ``VideoMAEModel``."""
    from transformers import VideoMAEModel

    return build_seeded(lambda: VideoMAEModel(tiny_config()))


def create_tiny(runtime: Runtime) -> VideoMAEEncoder:
    """``videomae-test``: random weights, seeded, no download. Tests and CI only."""
    model = tiny_model()
    params = {**DEFAULTS, "resize_shortest": 32, "input_size": (32, 32)}
    spec = make_spec(model.config, name="videomae-test", source="random-init", params=params, test_only=True)
    return VideoMAEEncoder(prepare_model(model, runtime), None, spec, runtime)
