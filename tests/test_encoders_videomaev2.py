"""VideoMAE V2 checkpoints in transformers' VideoMAEModel: converted weights == the original layout's forward.

The reference below is a plain functional forward written straight from the ORIGINAL state-dict layout (fused
``qkv`` with q / v biases and a zero key bias, pre-norm blocks, fixed sin-cos positions, mean pooling +
``fc_norm``), so a conversion mistake (swapped q/k/v chunks, a dropped bias, a wrong norm) changes the result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vrag.encoders import create_encoder
from vrag.encoders._videomaev2 import TINY_MODEL_CONFIG, build, convert_state_dict, tiny_official_state
from vrag.errors import ModelUnavailableError, WeightsUnavailableError

ATOL = 1e-4
HEADS, EPS = 2, 1e-6
MEAN, STD = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])


def sincos(n: int, d: int) -> torch.Tensor:
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    rate = torch.pow(10000.0, 2 * (torch.arange(d) // 2) / d).double()
    angle = pos / rate
    return torch.where(torch.arange(d) % 2 == 0, torch.sin(angle), torch.cos(angle)).float()


def reference_forward(state: dict[str, torch.Tensor], pixels: torch.Tensor) -> torch.Tensor:
    """Original-layout VideoMAE V2 ``forward_features``: ``[B, 3, T, H, W]`` → ``fc_norm(mean(tokens))``."""
    s = {k.removeprefix("model."): v for k, v in state.items()}
    x = F.conv3d(pixels, s["patch_embed.proj.weight"], s["patch_embed.proj.bias"], stride=(2, 8, 8))
    x = x.flatten(2).transpose(1, 2)
    b, n, d = x.shape
    x = x + sincos(n, d)
    for i in range(1 + max(int(k.split(".")[1]) for k in s if k.startswith("blocks."))):
        p = f"blocks.{i}."
        h = F.layer_norm(x, (d,), s[p + "norm1.weight"], s[p + "norm1.bias"], EPS)
        bias = torch.cat([s[p + "attn.q_bias"], torch.zeros_like(s[p + "attn.v_bias"]), s[p + "attn.v_bias"]])
        q, k, v = F.linear(h, s[p + "attn.qkv.weight"], bias).view(b, n, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
        attn = ((q * (d // HEADS) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        h = (attn @ v).transpose(1, 2).reshape(b, n, d)
        x = x + F.linear(h, s[p + "attn.proj.weight"], s[p + "attn.proj.bias"])
        h = F.layer_norm(x, (d,), s[p + "norm2.weight"], s[p + "norm2.bias"], EPS)
        h = F.gelu(F.linear(h, s[p + "mlp.fc1.weight"], s[p + "mlp.fc1.bias"]))
        x = x + F.linear(h, s[p + "mlp.fc2.weight"], s[p + "mlp.fc2.bias"])
    return F.layer_norm(x.mean(1), (d,), s["fc_norm.weight"], s["fc_norm.bias"], EPS)


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return tiny_official_state()


def test_converted_model_matches_original_layout(state: dict[str, torch.Tensor]) -> None:
    from vrag.encoders._base import resolve_runtime

    model, fc_norm = build(state, TINY_MODEL_CONFIG, resolve_runtime("cpu", "float32", 2))
    pixels = torch.randn(2, 3, 4, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = fc_norm(model(pixel_values=pixels.transpose(1, 2)).last_hidden_state.mean(1))
    torch.testing.assert_close(ours, reference_forward(state, pixels), atol=ATOL, rtol=0)


def test_registered_test_encoder_preprocesses_like_the_original(state: dict[str, torch.Tensor]) -> None:
    enc = create_encoder("videomaev2-test", device="cpu")
    assert enc.spec.license.startswith("random") and enc.spec.dim == 32 and enc.spec.frames == 4
    clip = np.random.default_rng(0).integers(0, 255, (2, 4, 32, 32, 3), dtype=np.uint8)
    pixels = ((torch.from_numpy(clip).float() / 255 - MEAN) / STD).permute(0, 4, 1, 2, 3)
    expected = F.normalize(reference_forward(state, pixels), dim=-1)
    np.testing.assert_allclose(enc.encode_video(clip), expected.numpy(), atol=ATOL)


def test_hub_layout_directory_loads_by_registered_name(
    tmp_path: Path, state: dict[str, torch.Tensor]
) -> None:
    """A copy of an OpenGVLab/VideoMAEv2-* repo (config.json + model.safetensors), without remote code."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "model.safetensors"))
    config = {
        "model_type": "VideoMAEv2_Base",
        "model_config": {**TINY_MODEL_CONFIG, "use_mean_pooling": True},
    }
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    enc = create_encoder("videomaev2-base", source=str(tmp_path), device="cpu")
    assert enc.spec.license == "cc-by-nc-4.0" and enc.spec.token_grid == (2, 4, 4)
    clip = np.full((1, 4, 48, 64, 3), 128, np.uint8)  # resized (shortest edge) and centre-cropped to 32x32
    assert enc.encode_video(clip).shape == (1, 32)


def test_qkv_split_order(state: dict[str, torch.Tensor]) -> None:
    weights, fc_norm = convert_state_dict(state)
    q, k, _ = state["model.blocks.0.attn.qkv.weight"].chunk(3)
    attn = "encoder.layer.0.attention.attention."
    assert torch.equal(weights[attn + "query.weight"], q) and torch.equal(weights[attn + "key.weight"], k)
    assert torch.equal(weights[attn + "value.bias"], state["model.blocks.0.attn.v_bias"])
    assert attn + "key.bias" not in weights and set(fc_norm) == {"weight", "bias"}


def test_layer_scale_checkpoints_are_refused(state: dict[str, torch.Tensor]) -> None:
    from vrag.encoders._base import resolve_runtime

    scaled = {**state, "model.blocks.0.gamma_1": torch.ones(32)}
    with pytest.raises(ModelUnavailableError, match="layer scale"):
        build(scaled, TINY_MODEL_CONFIG, resolve_runtime("cpu", "float32", 2))


def test_hub_checkpoint_offline_raises_typed_error() -> None:
    with pytest.raises(WeightsUnavailableError, match="VideoMAEv2-giant"):
        create_encoder("videomaev2-giant", device="cpu")
