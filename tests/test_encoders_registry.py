"""The encoder registry and the contract every registered encoder keeps.

Encoders that can run here (test-only tiny variants and the bundled MiniLM) are checked for shape, dtype,
normalisation, determinism and batch invariance; the hub-backed names are checked to fail offline with a typed
error that says where vrag looked and how to pass a local directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vrag.encoders import (
    EncoderSpec,
    WeightsUnavailableError,
    create_encoder,
    describe_encoders,
    list_encoders,
)
from vrag.errors import ConfigError, ModelUnavailableError, UnknownNameError
from vrag.types import Frames

RUNNABLE = [i.name for i in describe_encoders() if i.test_only] + ["minilm"]
HUB = [i.name for i in describe_encoders() if not i.test_only and i.name not in {"minilm", "qformer"}]
VISUAL_TEST = [n for n in RUNNABLE if n != "minilm"]


@pytest.fixture(scope="module")
def encoders() -> dict[str, object]:
    return {}


def get(encoders: dict[str, object], name: str):  # type: ignore[no-untyped-def]
    if name not in encoders:
        encoders[name] = create_encoder(name, device="cpu", dtype="float32")
    return encoders[name]


def random_clips(enc, b: int, h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.random.default_rng(seed).integers(0, 256, (b, enc.spec.frames, h, w, 3), dtype=np.uint8)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def test_families_and_test_variants_are_listed() -> None:
    names = list_encoders()
    for name in ["videomae-base", "videoprism-lvt-base", "xclip-base-patch32", "siglip2-base-frames"]:
        assert name in names
    assert {"clip-vit-b32-frames", "minilm", "videomae-test", "frames-test", "xclip-test"} <= set(names)
    assert list_encoders("videomae*") == [n for n in names if n.startswith("videomae")]
    for info in describe_encoders():
        assert info.test_only == info.name.endswith("-test")
        assert info.description.startswith("TEST ONLY") == info.test_only


def test_import_does_not_load_torch() -> None:
    code = (
        "import sys, vrag.encoders as e; e.list_encoders(); "
        "print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_name_suggests_close_match() -> None:
    with pytest.raises(UnknownNameError) as info:
        create_encoder("videomae-bsae")
    assert "videomae-base" in info.value.suggestions


def test_unknown_override_raises() -> None:
    with pytest.raises(ConfigError, match="does not take batchsize"):
        create_encoder("videomae-test", batchsize=4)


def test_hub_id_without_prefix_points_to_hf_prefix() -> None:
    with pytest.raises(ConfigError, match="hf:MCG-NJU/videomae-base"):
        create_encoder("MCG-NJU/videomae-base")


@pytest.mark.parametrize("name", HUB)
def test_hub_encoders_fail_offline_with_typed_error(name: str, offline: Path) -> None:
    with pytest.raises(WeightsUnavailableError) as info:
        create_encoder(name)
    err = info.value
    assert isinstance(err, ModelUnavailableError)
    assert "/" in err.model_id and err.model_id in str(err)
    assert err.looked_in == str(offline) and str(offline) in str(err)
    assert "--local-dir" in str(err) and "create_encoder('DIR')" in str(err)


def test_hf_prefix_fails_offline_naming_the_id(offline: Path) -> None:
    with pytest.raises(WeightsUnavailableError, match="someone/missing-model"):
        create_encoder("hf:someone/missing-model")


def test_local_dir_overrides_are_checked(tmp_path: Path) -> None:
    from vrag.encoders._videomae import tiny_model

    tiny_model().save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="does not take colour"):
        create_encoder(str(tmp_path), colour="red")
    enc = create_encoder("videomae-base", source=str(tmp_path), device="cpu")
    assert enc.spec.name == "videomae-base" and enc.spec.source == str(tmp_path) and not enc.spec.test_only


def test_checkpoint_missing_weights_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    from vrag.encoders._videomae import tiny_model

    tiny_model().save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    dropped = next(k for k in weights if "encoder.layer.1.attention" in k)
    save_file(
        {k: v for k, v in weights.items() if k != dropped}, tmp_path / "model.safetensors", {"format": "pt"}
    )
    with pytest.raises(ModelUnavailableError, match="refusing to embed with random weights"):
        create_encoder(str(tmp_path))


@pytest.mark.parametrize("name", RUNNABLE)
def test_spec_is_complete(encoders: dict[str, object], name: str) -> None:
    spec = get(encoders, name).spec
    assert isinstance(spec, EncoderSpec)
    assert spec.dim > 0 and spec.license and spec.source
    assert spec.test_only == name.endswith("-test")
    if spec.modality != "text":
        assert spec.frames > 0 and spec.input_size[0] > 0 and spec.token_grid is not None
        assert len(spec.clip_times(3.0, 7.0)) == spec.frames


@pytest.mark.parametrize("name", VISUAL_TEST)
def test_video_embeddings_contract(encoders: dict[str, object], name: str) -> None:
    enc = get(encoders, name)
    clips = random_clips(enc, 3)
    out = enc.encode_video(clips)
    assert out.shape == (3, enc.spec.dim) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(out, enc.encode_video(clips))  # deterministic
    alone = np.concatenate([enc.encode_video(c) for c in clips])
    np.testing.assert_allclose(out, alone, atol=1e-5)  # batch invariance
    np.testing.assert_allclose(out, enc.encode_video(clips, batch_size=2), atol=1e-5)
    assert not np.allclose(out[0], out[1], atol=1e-3)


@pytest.mark.parametrize("name", VISUAL_TEST)
def test_accepts_frames_and_mixed_sizes(encoders: dict[str, object], name: str) -> None:
    enc = get(encoders, name)
    small, large = random_clips(enc, 1, 40, 56)[0], random_clips(enc, 1, 72, 96, seed=1)[0]
    times = np.arange(enc.spec.frames, dtype=np.float64)
    frames = Frames(small, times, times.astype(np.int64))
    mixed = enc.encode_video([frames, large])
    np.testing.assert_allclose(mixed[0], enc.encode_video(small)[0], atol=1e-5)
    np.testing.assert_allclose(mixed[1], enc.encode_video(large[None])[0], atol=1e-5)


@pytest.mark.parametrize("name", VISUAL_TEST)
def test_tokens_follow_token_grid(encoders: dict[str, object], name: str) -> None:
    enc = get(encoders, name)
    tokens = enc.encode_video_tokens(random_clips(enc, 2))
    t, h, w = enc.spec.token_grid
    assert tokens.shape[:2] == (2, t * h * w) and tokens.dtype == np.float32


@pytest.mark.parametrize("name", [n for n in RUNNABLE if n not in ("videomae-test", "videomaev2-test")])
def test_text_embeddings_contract(encoders: dict[str, object], name: str) -> None:
    enc = get(encoders, name)
    texts = ["a dog catches a frisbee", "stock prices fell sharply", "a dog catches a frisbee"]
    out = enc.encode_text(texts)
    assert out.shape == (3, enc.spec.dim) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out[0], out[2], atol=1e-5)
    np.testing.assert_allclose(out[:1], enc.encode_text(texts[:1]), atol=1e-5)  # padding does not leak
    assert not np.allclose(out[0], out[1], atol=1e-3)


def test_minilm_ranks_related_text_first(encoders: dict[str, object]) -> None:
    enc = get(encoders, "minilm")
    docs = enc.encode_document(["a kitten sleeps on the couch", "the central bank raised interest rates"])
    query = enc.encode_query(["cat napping on a sofa"])
    assert enc.spec.dim == 384
    assert (query @ docs.T).argmax() == 0


def test_video_only_encoder_refuses_text(encoders: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="no text tower"):
        get(encoders, "videomae-test").encode_text(["a query"])


def test_wrong_frame_count_says_what_to_decode(encoders: dict[str, object]) -> None:
    enc = get(encoders, "videomae-test")
    with pytest.raises(ConfigError, match=r"takes 4 frames per clip, got \[3\].*clip_times"):
        enc.encode_video(np.zeros((1, 3, 32, 32, 3), np.uint8))


@pytest.mark.parametrize("bad", [np.zeros((1, 4, 32, 32, 3), np.float32), np.zeros((1, 4, 32, 32), np.uint8)])
def test_rejects_non_uint8_rgb(encoders: dict[str, object], bad: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="uint8 RGB"):
        get(encoders, "videomae-test").encode_video(bad)


def test_bf16_stays_close_to_fp32(encoders: dict[str, object]) -> None:
    fp32 = get(encoders, "videomae-test")
    bf16 = create_encoder("videomae-test", device="cpu", dtype="bfloat16")
    clips = random_clips(fp32, 2)
    cos = (fp32.encode_video(clips) * bf16.encode_video(clips)).sum(axis=1)
    assert cos.min() > 0.99


def test_clip_times_and_decode_size() -> None:
    spec = EncoderSpec(
        name="s", family="videomae", source="-", modality="video", dim=8, frames=4, fps=2.0,
        input_size=(224, 224), resize_shortest=224,
    )  # fmt: skip
    np.testing.assert_allclose(spec.clip_times(0.0, 10.0), [4.25, 4.75, 5.25, 5.75])  # 2 s window, centred
    np.testing.assert_allclose(spec.clip_times(1.0, 2.0), [1.125, 1.375, 1.625, 1.875])  # short span: spread
    assert spec.clip_seconds == 2.0
    assert spec.decode_size(1280, 720) == (398, 224)
    assert spec.decode_size(720, 1280) == (224, 398)
    with pytest.raises(ConfigError, match="empty"):
        spec.clip_times(2.0, 2.0)


@pytest.mark.slow
@pytest.mark.integration
def test_gpu_benchmark_runs_on_cpu_smoke() -> None:
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, str(root / "benchmarks" / "gpu_encode.py"), "--cpu-smoke", "--iters", "1"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=root).stdout
    assert "| videomae-tiny | 2 |" in out and "| xclip-tiny | 2 |" in out
