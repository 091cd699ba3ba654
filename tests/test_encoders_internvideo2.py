"""InternVideo2, native: parity with the OpenGVLab reference implementation through committed goldens.

``tests/goldens/internvideo2/checkpoint.pt`` is a tiny random stage-2 model saved by the reference code in the
OFFICIAL key layout (deepspeed ``{"module": ...}``, UTA decoders, MLM / ITM heads and fusion layers included);
``goldens.pt`` holds the inputs and the reference outputs (fp32). tests/goldens/README.md has the command.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vrag.encoders import create_encoder
from vrag.encoders._internvideo2 import (
    build_model,
    convert_checkpoint,
    resize_positions,
    tiny_config,
    unwrap_checkpoint,
)
from vrag.encoders._tiny import tiny_tokenizer
from vrag.errors import ConfigError, ModelUnavailableError, WeightsUnavailableError

GOLDENS = Path(__file__).parent / "goldens" / "internvideo2"
ATOL = 1e-4
#: the golden token ids written as text for the tiny character tokenizer ("g"=10 ... "r"=21)
GOLDEN_TEXTS = ["g h i j", "q r"]


@pytest.fixture(scope="module")
def golden() -> dict[str, torch.Tensor]:
    return torch.load(GOLDENS / "goldens.pt", weights_only=True)


@pytest.fixture(scope="module")
def official_state() -> dict[str, torch.Tensor]:
    return unwrap_checkpoint(torch.load(GOLDENS / "checkpoint.pt", weights_only=True))


@pytest.fixture(scope="module")
def model(official_state: dict[str, torch.Tensor]) -> torch.nn.Module:
    return build_model(tiny_config(), official_state).eval()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """The golden checkpoint as a user would keep it: the .pt, a config.json and the tokenizer files."""
    shutil.copy(GOLDENS / "checkpoint.pt", tmp_path / "internvideo2-tiny.pt")
    config = {"model_type": "internvideo2", **tiny_config().to_dict()}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    tiny_tokenizer().save_pretrained(tmp_path)
    return tmp_path


def test_goldens_are_small() -> None:
    assert sum(p.stat().st_size for p in GOLDENS.iterdir()) < 1_000_000


@torch.no_grad()
def test_vision_matches_reference(model: torch.nn.Module, golden: dict[str, torch.Tensor]) -> None:
    torch.testing.assert_close(model.vision.tokens(golden["pixels"]), golden["tokens"], atol=ATOL, rtol=0)
    torch.testing.assert_close(model.vision(golden["pixels"]), golden["pooled"], atol=ATOL, rtol=0)
    video = F.normalize(model.video_features(golden["pixels"]), dim=-1)
    torch.testing.assert_close(video, golden["video"], atol=ATOL, rtol=0)


@torch.no_grad()
def test_single_image_uses_the_image_position_table(
    model: torch.nn.Module, golden: dict[str, torch.Tensor]
) -> None:
    image = F.normalize(model.video_features(golden["image"]), dim=-1)
    torch.testing.assert_close(image, golden["image_video"], atol=ATOL, rtol=0)


@torch.no_grad()
def test_text_tower_matches_reference(model: torch.nn.Module, golden: dict[str, torch.Tensor]) -> None:
    text = F.normalize(model.text_features(golden["input_ids"], golden["attention_mask"]), dim=-1)
    torch.testing.assert_close(text, golden["text"], atol=ATOL, rtol=0)


def test_encoder_from_directory_matches_reference_end_to_end(
    model_dir: Path, golden: dict[str, torch.Tensor]
) -> None:
    """uint8 frames → our preprocessing (ImageNet mean/std) → converted weights == the reference demo path."""
    enc = create_encoder("internvideo2-1b", source=str(model_dir), device="cpu", dtype="float32")
    assert enc.spec.has_text and enc.spec.dim == 16 and enc.spec.frames == 4
    assert enc.spec.mean == (0.485, 0.456, 0.406) and enc.spec.resize_shortest is None
    video = enc.encode_video(golden["clip_uint8"].numpy())
    np.testing.assert_allclose(video, golden["clip_video"].numpy(), atol=ATOL)
    text = enc.encode_text(GOLDEN_TEXTS)
    np.testing.assert_allclose(text, golden["text"].numpy(), atol=ATOL)
    by_folder = create_encoder(str(model_dir), device="cpu", dtype="float32")  # config.json names the family
    np.testing.assert_allclose(by_folder.encode_video(golden["clip_uint8"].numpy()), video, atol=1e-6)


def test_conversion_drops_training_heads_and_fusion_layers(official_state: dict[str, torch.Tensor]) -> None:
    converted = convert_checkpoint(official_state, tiny_config())
    assert any(k.startswith("text_encoder.bert.encoder.layer.2.crossattention") for k in official_state)
    assert not any(k.startswith("text.encoder.layer.2") for k in converted)  # fusion layer: ITM only
    assert not any("clip_decoder" in k or "itm_head" in k or k.endswith("temp") for k in converted)


def test_missing_weights_are_refused(official_state: dict[str, torch.Tensor]) -> None:
    broken = {k: v for k, v in official_state.items() if not k.startswith("vision_encoder.blocks.1.")}
    with pytest.raises(ModelUnavailableError, match="missing"):
        build_model(tiny_config(), broken)


def test_wrong_architecture_is_refused(official_state: dict[str, torch.Tensor]) -> None:
    with pytest.raises(ModelUnavailableError, match="internvideo2-1b"):
        build_model(tiny_config().__class__(**{**tiny_config().to_dict(), "mlp_hidden": 48}), official_state)


def test_longer_clips_resize_the_position_table(golden: dict[str, torch.Tensor]) -> None:
    enc = create_encoder("internvideo2-test", frames=8, device="cpu")
    assert enc.spec.frames == 8 and enc.spec.token_grid == (8, 4, 4)
    clip = np.random.default_rng(0).integers(0, 255, (2, 8, 32, 32, 3), dtype=np.uint8)
    assert enc.encode_video(clip).shape == (2, 16)
    assert enc.encode_video_tokens(clip[:1]).shape == (1, 8 * 4 * 4, 32)
    with pytest.raises(ConfigError, match="8 frames"):
        enc.encode_video(clip[:, :4])


def test_resize_positions_is_linear_in_time() -> None:
    rows = torch.arange(4.0).view(1, 4, 1, 1).expand(1, 4, 4, 8).reshape(1, 16, 8)
    table = torch.cat([torch.full((1, 1, 8), -1.0), rows], dim=1)  # CLS, then t = 0..3 on a 2x2 grid
    out = resize_positions(table, (7, 2, 2))
    assert out.shape == (1, 1 + 7 * 4, 8)
    assert torch.equal(out[:, 0], table[:, 0])
    per_frame = out[0, 1:, 0].view(7, 4)[:, 0]
    assert torch.all(per_frame[1:] >= per_frame[:-1])  # still ordered in time
    assert resize_positions(table, (4, 2, 2)) is table


def test_resize_positions_keeps_frames_apart_when_the_image_size_changes() -> None:
    t, side, c = 4, 16, 2  # the 1B's table at 224 px: 4 frames of 16 x 16
    frame = torch.arange(t, dtype=torch.float32).view(t, 1, 1).expand(t, side * side, 1)
    row = (
        torch.arange(side, dtype=torch.float32)
        .repeat_interleave(side)
        .view(1, side * side, 1)
        .expand(t, -1, 1)
    )
    table = torch.cat([torch.zeros(1, 1, c), torch.cat([frame, row], -1).reshape(1, -1, c)], dim=1)
    for target in ((4, 8, 8), (4, 20, 20), (8, 32, 32)):
        out = resize_positions(table, target, source=(side, side))[0, 1:].view(*target, c)
        frames = out[..., 0].mean(dim=(1, 2))
        assert torch.all(frames[1:] > frames[:-1]), target  # every frame keeps its own time
        rows = out[0, :, 0, 1]
        assert torch.all(rows[1:] > rows[:-1]), target  # and rows stay rows
        assert rows[0] < 1.0 and rows[-1] > side - 2.0, target


def test_text_needs_a_list() -> None:
    enc = create_encoder("internvideo2-test", device="cpu")
    with pytest.raises(ConfigError, match="list"):
        enc.encode_text("a dog")  # type: ignore[arg-type]


def test_hub_checkpoint_offline_raises_typed_error() -> None:
    with pytest.raises(WeightsUnavailableError, match="InternVideo2-Stage2_1B"):
        create_encoder("internvideo2-1b", device="cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_on_cuda_agrees_with_fp32(golden: dict[str, torch.Tensor]) -> None:
    clip = golden["clip_uint8"].numpy()
    fp32 = create_encoder("internvideo2-test", device="cpu", dtype="float32").encode_video(clip)
    bf16 = create_encoder("internvideo2-test", device="cuda", dtype="bfloat16").encode_video(clip)
    assert np.min(np.sum(fp32 * bf16, axis=1)) > 0.99
