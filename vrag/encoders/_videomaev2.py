"""VideoMAE V2 (``OpenGVLab/VideoMAEv2-*``) in transformers' own ``VideoMAEModel``: no remote code.

The hub repos ship remote code around a pre-norm ViT (fused ``qkv`` with separate q / v biases, fixed sin-cos
positions, mean pooling + ``fc_norm``). :func:`convert_state_dict` maps that layout onto ``VideoMAEModel``
(the ``fc_norm`` LayerNorm is kept beside it), so the clip vector is ``fc_norm(mean(tokens))`` exactly as
``VideoMAEv2.extract_features`` computes it. Video-only (no text tower).

Licence: the weights are CC-BY-NC-4.0 (non-commercial).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vrag.encoders._base import Runtime, build_seeded, prepare_model
from vrag.encoders._loading import hub_file, quiet_loading, read_json
from vrag.encoders._spec import EncoderSpec
from vrag.encoders._videomae import FPS, VideoMAEEncoder
from vrag.errors import ConfigError, ModelUnavailableError

__all__ = ["CHECKPOINTS", "convert_state_dict", "create_tiny", "load", "videomae_config"]

LICENSE = "cc-by-nc-4.0"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: registry name → hub repo (remote-code repos; only config.json and the weights are read)
CHECKPOINTS = {
    "videomaev2-base": "OpenGVLab/VideoMAEv2-Base",
    "videomaev2-large": "OpenGVLab/VideoMAEv2-Large",
    "videomaev2-huge": "OpenGVLab/VideoMAEv2-Huge",
    "videomaev2-giant": "OpenGVLab/VideoMAEv2-giant",
}
#: attention heads by width (the official ViT-S/B/L/H/g), for raw checkpoints without a config
HEADS = {384: 6, 768: 12, 1024: 16, 1280: 16, 1408: 16}
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
_PREFIXES = ("module.", "model.", "encoder.")
_DROPPED = ("decoder.", "head.", "mask_token", "encoder_to_decoder.", "norm.")
_BLOCK = re.compile(r"blocks\.(\d+)\.(.+)")
_RENAMES = {
    "norm1": "layernorm_before",
    "norm2": "layernorm_after",
    "attn.proj": "attention.output.dense",
    "mlp.fc1": "intermediate.dense",
    "mlp.fc2": "output.dense",
}


def videomae_config(model_config: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> Any:
    """A ``VideoMAEConfig`` from the checkpoint's ``model_config`` (or, without one, from tensor shapes).

    Raises:
        ModelUnavailableError: a variant ``VideoMAEModel`` cannot express (layer scale, cosine attention,
            learned positions).
    """
    from transformers import VideoMAEConfig

    unsupported = [
        what
        for what, bad in (
            ("layer scale (init_values > 0)", any(".gamma_" in k for k in state)),
            ("cosine attention", bool(model_config.get("cos_attn"))),
            ("learned positions", bool(model_config.get("use_learnable_pos_emb")) or "pos_embed" in state),
        )
        if bad
    ]
    if unsupported:
        raise ModelUnavailableError(
            f"this VideoMAE V2 checkpoint uses {', '.join(unsupported)}, which transformers' VideoMAEModel "
            "cannot express; use a released OpenGVLab/VideoMAEv2-* checkpoint"
        )
    proj = state["patch_embed.proj.weight"]  # [D, 3, tubelet, p, p]
    dim, tubelet, patch = int(proj.shape[0]), int(proj.shape[2]), int(proj.shape[3])
    depth = 1 + max(int(m.group(1)) for k in state if (m := _BLOCK.match(k)))
    return VideoMAEConfig(
        image_size=int(model_config.get("img_size", 224)),
        patch_size=patch,
        num_frames=int(model_config.get("num_frames", model_config.get("all_frames", 16))),
        tubelet_size=tubelet,
        hidden_size=dim,
        num_hidden_layers=depth,
        num_attention_heads=int(model_config.get("num_heads", HEADS.get(dim, 0)) or _no_heads(dim)),
        intermediate_size=int(state["blocks.0.mlp.fc1.weight"].shape[0]),
        hidden_act="gelu",
        layer_norm_eps=float(model_config.get("layer_norm_eps", 1e-6)),
        qv_bias="blocks.0.attn.q_bias" in state,
        use_mean_pooling=True,
    )


def _no_heads(dim: int) -> int:
    raise ModelUnavailableError(
        f"VideoMAE V2 checkpoint of width {dim}: head count unknown; put its config.json beside the weights"
    )


def strip_prefixes(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official keys without the wrapper prefixes (``model.`` of the hub repos, ``module.``, ``encoder.``)."""
    out = {}
    for key, value in state.items():
        while key.startswith(_PREFIXES):
            key = key.split(".", 1)[1]
        out[key] = value
    return out


def convert_state_dict(
    state: Mapping[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Official VideoMAE V2 keys → ``(VideoMAEModel state dict, fc_norm state dict)``.

    ``qkv`` is split into query / key / value (the key has no bias, as in the original, which adds zeros);
    ``q_bias`` / ``v_bias`` become the query / value biases. Classification heads and the pre-training
    decoder are dropped.

    Raises:
        ModelUnavailableError: no ``fc_norm`` (the clip vector would be undefined).
    """
    model: dict[str, torch.Tensor] = {}
    fc_norm: dict[str, torch.Tensor] = {}
    for key, value in strip_prefixes(state).items():
        if key.startswith("fc_norm."):
            fc_norm[key.removeprefix("fc_norm.")] = value
        elif key.startswith("patch_embed.proj."):
            model["embeddings.patch_embeddings.projection." + key.rsplit(".", 1)[1]] = value
        elif m := _BLOCK.match(key):
            model.update(_block(f"encoder.layer.{m.group(1)}.", m.group(2), value))
        elif not key.startswith(_DROPPED):
            raise ModelUnavailableError(
                f"unexpected VideoMAE V2 key {key!r}; is this a VideoMAE V2 checkpoint?"
            )
    if not fc_norm:
        raise ModelUnavailableError(
            "VideoMAE V2 checkpoint has no fc_norm (mean-pooling LayerNorm); pass a mean-pooling checkpoint"
        )
    return model, fc_norm


def _block(prefix: str, name: str, value: torch.Tensor) -> dict[str, torch.Tensor]:
    attn = prefix + "attention.attention."
    if name == "attn.qkv.weight":
        q, k, v = value.chunk(3, dim=0)
        return {attn + "query.weight": q, attn + "key.weight": k, attn + "value.weight": v}
    if name in ("attn.q_bias", "attn.v_bias"):
        return {attn + ("query" if name == "attn.q_bias" else "value") + ".bias": value}
    module, param = name.rsplit(".", 1)
    if module not in _RENAMES:
        raise ModelUnavailableError(f"unexpected VideoMAE V2 block parameter {name!r}")
    return {f"{prefix}{_RENAMES[module]}.{param}": value}


def build(
    state: Mapping[str, torch.Tensor], model_config: Mapping[str, Any], runtime: Runtime
) -> tuple[Any, nn.LayerNorm]:
    """``(VideoMAEModel, fc_norm)`` holding an official state dict, in the runtime's dtype, SDPA attention.

    Raises:
        ModelUnavailableError: parameters missing from the checkpoint.
    """
    from transformers import VideoMAEModel

    plain = strip_prefixes(state)
    config = videomae_config(model_config, plain)
    weights, norm_weights = convert_state_dict(plain)
    with quiet_loading():
        loaded: Any = VideoMAEModel.from_pretrained(
            None, config=config, state_dict=weights, dtype=runtime.dtype, attn_implementation="sdpa",
            output_loading_info=True,
        )  # fmt: skip
    model, info = loaded
    missing = sorted(info.get("missing_keys", ()))
    if missing:
        raise ModelUnavailableError(
            f"VideoMAE V2 checkpoint has no weights for {len(missing)} parameters ({', '.join(missing[:4])}, "
            "...); refusing to embed with random weights"
        )
    fc_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
    fc_norm.load_state_dict(norm_weights)
    return model, fc_norm


def make_spec(config: Any, *, name: str, source: str, test_only: bool = False) -> EncoderSpec:
    """Spec: shortest edge to the input size (bilinear), centre crop, ImageNet mean/std, 7.5 fps."""
    side, patch = config.image_size, config.patch_size
    return EncoderSpec(
        name=name,
        family="videomaev2",
        source=source,
        modality="video",
        dim=config.hidden_size,
        frames=config.num_frames,
        fps=FPS,
        input_size=(side, side),
        resize_shortest=side,
        resample="bilinear",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        token_grid=(config.num_frames // config.tubelet_size, side // patch, side // patch),
        license="random weights (tests only)" if test_only else LICENSE,
        test_only=test_only,
    )


def load(source: str, runtime: Runtime, *, name: str | None = None, local: bool = False) -> VideoMAEEncoder:
    """Load a VideoMAE V2 checkpoint (hub repo or directory with ``config.json`` + weights) natively.

    Raises:
        WeightsUnavailableError: hub weights neither cached nor downloadable.
        ModelUnavailableError: the weights are missing or use a variant VideoMAEModel cannot express.
    """
    repo = CHECKPOINTS.get(name or "", source) if not local else source
    state = _read_weights(repo, local=local)
    model_config = (read_json(repo, "config.json", local=local) or {}).get("model_config", {})
    model, fc_norm = build(state, model_config, runtime)
    spec = make_spec(model.config, name=name or source, source=source)
    return VideoMAEEncoder(prepare_model(model, runtime), prepare_model(fc_norm, runtime), spec, runtime)


def _read_weights(source: str, *, local: bool) -> dict[str, torch.Tensor]:
    paths: list[Path | None]
    if local:
        root = Path(source)
        paths = [root / f for f in _WEIGHTS if (root / f).is_file()]
        paths += sorted(p for p in root.iterdir() if p.suffix in (".pth", ".pt"))
    else:
        paths = [hub_file(source, _WEIGHTS[0])]
        paths = paths if paths[0] is not None else [hub_file(source, _WEIGHTS[1])]
    path = next((p for p in paths if p is not None), None)
    if path is None:
        raise ModelUnavailableError(
            f"{source}: no model.safetensors, pytorch_model.bin or .pth weights found"
        )
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    for key in ("module", "model", "state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ConfigError(f"{path}: not a state dict")
    return obj


# ---------------------------------------------------------------- tiny variant

TINY_MODEL_CONFIG = {"img_size": 32, "num_frames": 4, "num_heads": 2, "layer_norm_eps": 1e-6}


def tiny_official_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random 2-block, 32-d VideoMAE V2 state dict in the OFFICIAL layout (``model.`` prefix, fused qkv)."""

    def make() -> nn.Module:
        root = nn.Module()
        root.patch_embed = nn.Module()
        root.patch_embed.proj = nn.Conv3d(3, 32, (2, 8, 8), (2, 8, 8))
        root.blocks = nn.ModuleList(_tiny_block() for _ in range(2))
        root.fc_norm = nn.LayerNorm(32)
        return root

    module = build_seeded(make, seed)
    with torch.no_grad():  # q/v biases and norms random too, so a swapped tensor shows
        generator = torch.Generator().manual_seed(seed + 1)
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.2)
    return {f"model.{k}": v for k, v in module.state_dict().items()}


def _tiny_block() -> nn.Module:
    block = nn.Module()
    block.norm1, block.norm2 = nn.LayerNorm(32), nn.LayerNorm(32)
    block.attn = nn.Module()
    block.attn.qkv = nn.Linear(32, 96, bias=False)
    block.attn.q_bias, block.attn.v_bias = nn.Parameter(torch.zeros(32)), nn.Parameter(torch.zeros(32))
    block.attn.proj = nn.Linear(32, 32)
    block.mlp = nn.Module()
    block.mlp.fc1, block.mlp.fc2 = nn.Linear(32, 64), nn.Linear(64, 32)
    return block


def create_tiny(runtime: Runtime) -> VideoMAEEncoder:
    """``videomaev2-test``: a random official-layout state dict converted on load. Tests and CI only."""
    model, fc_norm = build(tiny_official_state(), TINY_MODEL_CONFIG, runtime)
    spec = make_spec(model.config, name="videomaev2-test", source="random-init", test_only=True)
    return VideoMAEEncoder(prepare_model(model, runtime), prepare_model(fc_norm, runtime), spec, runtime)
