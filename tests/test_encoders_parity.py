"""Parity: our device-side preprocessing + forward equals the HF processor + model (fp32, atol 1e-4).

Each tiny random model is saved with ``save_pretrained`` (with its processor / tokenizer) and loaded back by
path through ``create_encoder(dir)`` — the real loading path. Frames are given at the model's input size, so
the processors' PIL resize is the identity and the comparison covers rescale, normalisation, layout, pooling
and the forward. Resizing itself is compared separately: torch's antialiased resize cannot be bit-exact with
PIL, so it is held to a documented tolerance in uint8 levels (bilinear <= 1, bicubic <= 3, <= 6 when
upsampling;
mean < 0.25).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vrag.encoders import create_encoder
from vrag.encoders._base import preprocess
from vrag.encoders._spec import HALF, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, EncoderSpec
from vrag.encoders._tiny import tiny_tokenizer

ATOL = 1e-4
TEXTS = ["a dog runs on the beach", "two people cooking pasta", "x"]


def smooth_frames(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """``n`` natural-looking frames (gradients + a moving block), uint8 ``[n, h, w, 3]``."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    out = []
    for i in range(n):
        img = np.stack([np.sin(6 * x + i) * 0.5 + 0.5, np.cos(4 * y + 5 * x) * 0.5 + 0.5, x * y], -1)
        img = (img * 255).astype(np.uint8)
        top, left = (h // 4 + 2 * i) % h, (w // 3 + 3 * i) % w
        img[top : top + h // 4, left : left + w // 4] = rng.integers(0, 255, 3)
        out.append(img)
    return np.stack(out)


def clips(b: int, t: int, size: int) -> np.ndarray:
    return np.stack([smooth_frames(t, size, size, seed=i) for i in range(b)])


def normalize(x: torch.Tensor) -> np.ndarray:
    return F.normalize(x.float(), dim=-1).detach().numpy()


def save(tmp_path: Path, model: Any, *parts: Any) -> str:
    for part in (model, *parts):
        part.save_pretrained(tmp_path)
    return str(tmp_path)


def frames_reference(processor: Any, batch: np.ndarray) -> torch.Tensor:
    """Per-frame image processor (CLIP / X-CLIP style) → ``[B, T, 3, h, w]``."""
    stacked = [np.asarray(processor(list(clip), return_tensors="np")["pixel_values"]) for clip in batch]
    return torch.as_tensor(np.stack(stacked))


def text_reference(model: Any, tokenizer: Any, **kwargs: Any) -> np.ndarray:
    enc = tokenizer(TEXTS, truncation=True, return_tensors="pt", **kwargs)
    with torch.inference_mode():
        return normalize(model.get_text_features(**enc).pooler_output)


def test_videomae_parity(tmp_path: Path) -> None:
    from transformers import VideoMAEModel
    from transformers.models.videomae.image_processing_pil_videomae import VideoMAEImageProcessorPil

    from vrag.encoders._videomae import tiny_model

    proc = VideoMAEImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    enc = create_encoder(save(tmp_path, tiny_model(), proc), device="cpu", dtype="float32")
    ref_model = VideoMAEModel.from_pretrained(tmp_path).eval()
    batch = clips(3, 4, 32)
    pixels = torch.as_tensor(np.asarray(proc([list(c) for c in batch], return_tensors="np")["pixel_values"]))
    with torch.inference_mode():
        tokens = ref_model(pixel_values=pixels).last_hidden_state
    np.testing.assert_allclose(enc.encode_video(batch), normalize(tokens.mean(1)), atol=ATOL)
    np.testing.assert_allclose(enc.encode_video_tokens(batch), tokens.numpy(), atol=ATOL)


def test_videomae_uses_fc_norm_of_fine_tuned_checkpoints(tmp_path: Path) -> None:
    from transformers import VideoMAEForVideoClassification

    from vrag.encoders._base import build_seeded
    from vrag.encoders._videomae import tiny_config

    config = tiny_config()
    config.use_mean_pooling, config.num_labels = True, 5
    config.architectures = ["VideoMAEForVideoClassification"]
    model = build_seeded(lambda: VideoMAEForVideoClassification(config)).eval()
    with torch.no_grad():
        model.fc_norm.weight.normal_()  # a non-trivial fc_norm, so skipping it would show
    enc = create_encoder(save(tmp_path, model), device="cpu", dtype="float32")
    batch = clips(2, 4, 32)
    pixels = preprocess(torch.from_numpy(batch), enc.spec)
    with torch.inference_mode():
        expected = model.fc_norm(model.videomae(pixel_values=pixels).last_hidden_state.mean(1))
    np.testing.assert_allclose(enc.encode_video(batch), normalize(expected), atol=ATOL)


def test_xclip_parity(tmp_path: Path) -> None:
    from transformers import XCLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    from vrag.encoders._xclip import tiny_model

    proc = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    tok = tiny_tokenizer()
    enc = create_encoder(save(tmp_path, tiny_model(), proc, tok), device="cpu", dtype="float32")
    ref_model = XCLIPModel.from_pretrained(tmp_path).eval()
    batch = clips(3, 4, 32)
    with torch.inference_mode():
        video = ref_model.get_video_features(pixel_values=frames_reference(proc, batch)).pooler_output
    np.testing.assert_allclose(enc.encode_video(batch), normalize(video), atol=ATOL)
    np.testing.assert_allclose(
        enc.encode_text(TEXTS), text_reference(ref_model, tok, padding=True), atol=ATOL
    )


def test_videoprism_parity(tmp_path: Path) -> None:
    """VideoPrism's processor (LlavaOnevisionVideoProcessor) needs torchvision; its documented contract is
    RGB / 255 at the checkpoint's size, no normalisation, text padded to max length."""
    from transformers import VideoPrismClipModel

    from vrag.encoders._videoprism import tiny_model

    tok = tiny_tokenizer()
    enc = create_encoder(save(tmp_path, tiny_model(), tok), device="cpu", dtype="float32")
    ref_model = VideoPrismClipModel.from_pretrained(tmp_path).eval()
    batch = clips(3, 4, 32)
    pixels = torch.from_numpy(batch).permute(0, 1, 4, 2, 3).float() / 255
    with torch.inference_mode():
        video = ref_model.get_video_features(pixel_values_videos=pixels).pooler_output.flatten(1)
    np.testing.assert_allclose(enc.encode_video(batch), normalize(video), atol=ATOL)
    text = text_reference(ref_model, tok, padding="max_length", max_length=16)
    np.testing.assert_allclose(enc.encode_text(TEXTS), text, atol=ATOL)


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_frame_average_parity(tmp_path: Path, kind: str) -> None:
    from transformers import CLIPModel, SiglipModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    from vrag.encoders._frames import tiny_model

    if kind == "siglip":
        proc: Any = SiglipImageProcessorPil(size={"height": 32, "width": 32})
        ref_cls: Any = SiglipModel
        text_kwargs: dict[str, Any] = {"padding": "max_length", "max_length": 16}
    else:
        proc = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
        ref_cls, text_kwargs = CLIPModel, {"padding": True}
    tok = tiny_tokenizer()
    enc = create_encoder(save(tmp_path, tiny_model(kind), proc, tok), device="cpu", dtype="float32")
    ref_model = ref_cls.from_pretrained(tmp_path).eval()
    batch = clips(2, 5, 32)
    pixels = frames_reference(proc, batch)
    with torch.inference_mode():
        feats = ref_model.get_image_features(pixel_values=pixels.flatten(0, 1)).pooler_output
    per_frame = F.normalize(feats, dim=-1).view(2, 5, -1)
    np.testing.assert_allclose(enc.encode_video(batch), normalize(per_frame.mean(1)), atol=ATOL)
    np.testing.assert_allclose(enc.encode_frames(batch[0]), per_frame[0].numpy(), atol=ATOL)
    np.testing.assert_allclose(
        enc.encode_text(TEXTS), text_reference(ref_model, tok, **text_kwargs), atol=ATOL
    )


RESIZE_CASES = [
    # processor, spec fields, max uint8-level difference allowed
    ("videomae", "bilinear", 32, HALF, HALF, 1.0),
    ("clip", "bicubic", 32, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, 3.0),
    ("siglip", "bicubic", None, HALF, HALF, 3.0),
]


@pytest.mark.parametrize(("kind", "resample", "shortest", "mean", "std", "levels"), RESIZE_CASES)
@pytest.mark.parametrize("size", [(48, 64), (90, 160), (27, 45)])
def test_resize_matches_processor_within_tolerance(
    kind: str, resample: Any, shortest: int | None, mean: Any, std: Any, levels: float, size: tuple[int, int]
) -> None:
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil
    from transformers.models.videomae.image_processing_pil_videomae import VideoMAEImageProcessorPil

    frames = smooth_frames(4, *size)
    crop = {"size": {"shortest_edge": 32}, "crop_size": {"height": 32, "width": 32}}
    if kind == "videomae":
        ref = np.asarray(
            VideoMAEImageProcessorPil(**crop)([list(frames)], return_tensors="np")["pixel_values"]
        )[0]
    elif kind == "clip":
        ref = np.asarray(CLIPImageProcessorPil(**crop)(list(frames), return_tensors="np")["pixel_values"])
    else:
        proc = SiglipImageProcessorPil(size={"height": 32, "width": 32})
        ref = np.asarray(proc(list(frames), return_tensors="np")["pixel_values"])
    spec = EncoderSpec(
        name="t", family=kind, source="-", modality="video", dim=1, frames=4, fps=None, input_size=(32, 32),
        resize_shortest=shortest, resample=resample, mean=mean, std=std,
    )  # fmt: skip
    ours = preprocess(torch.from_numpy(frames)[None], spec)[0].numpy()
    diff = np.abs(ours - ref) * np.asarray(std).reshape(1, 3, 1, 1) * 255
    upsampled_bicubic = (
        resample == "bicubic" and min(size) < 32
    )  # PIL and torch cubic kernels differ most here
    assert diff.max() <= (6.0 if upsampled_bicubic else levels) + 1e-3
    assert diff.mean() < 0.25


def test_bicubic_upsampling_stays_close_to_pil() -> None:
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    frames = smooth_frames(2, 27, 45)
    ref = np.asarray(CLIPImageProcessorPil()(list(frames), return_tensors="np")["pixel_values"])
    spec = EncoderSpec(
        name="t", family="frames", source="-", modality="image", dim=1, frames=2, fps=None,
        input_size=(224, 224), resize_shortest=224, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD,
    )  # fmt: skip
    ours = preprocess(torch.from_numpy(frames)[None], spec)[0].numpy()
    diff = np.abs(ours - ref) * np.asarray(OPENAI_CLIP_STD).reshape(1, 3, 1, 1) * 255
    assert diff.max() <= 6.0
    assert diff.mean() < 0.25
