"""Qwen3-VL-Embedding and -Reranker, native: parity with the QwenLM reference through committed goldens.

``tests/goldens/qwen3vl/embedding/`` is a tiny random checkpoint saved by the reference's
``Qwen3VLForEmbedding`` (the released key layout), with its tokenizer (a byte-level BPE), processor configs
and chat template; ``goldens.pt`` holds what the reference computed from it (fp32): clip and text vectors, the
tokens and patches of the clip batch, reranker scores (its LM head is stored there too), and the frame sizes
qwen-vl-utils picks for a range of videos. tests/goldens/README.md has the command.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.synth import read_index, write_video
from vrag import IndexConfig, VideoIndex
from vrag.encoders import create_encoder, describe_encoders, list_encoders
from vrag.encoders._base import resolve_runtime
from vrag.encoders._qwen3vl import (
    DOCUMENT_INSTRUCTION,
    QUERY_INSTRUCTION,
    VisionLayout,
    chat_prompt,
    frame_budget,
    load_scorer,
)
from vrag.errors import ConfigError, WeightsUnavailableError
from vrag.media import open_video
from vrag.pipeline import decode_clips
from vrag.search import create_reranker, list_rerankers
from vrag.search._rerank import NO_EVIDENCE
from vrag.types import Hit

GOLDENS = Path(__file__).parent / "goldens" / "qwen3vl"
MODEL = GOLDENS / "embedding"
ATOL = 1e-5
#: the golden clips: (frames, height, width), already at the size the pixel budget picks
CLIPS = [(4, 384, 384), (3, 320, 448), (6, 256, 512)]
QUERIES = [
    "a dog runs on the beach",
    "两只猫在沙发上睡觉",
    "¿Dónde está la biblioteca?",
    "Ein Hund läuft am Strand",
]
DOCUMENTS = ["Gradient descent follows the slope downhill.", "yes no"]
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def golden_clip(frames: int, height: int, width: int, salt: int) -> np.ndarray:
    """The golden script's frames: integer arithmetic only, so both sides make the same pixels."""
    t, y, x, c = np.meshgrid(
        np.arange(frames), np.arange(height), np.arange(width), np.arange(3), indexing="ij"
    )
    return ((x * 7 + y * 13 + t * 29 + c * 71 + (x * y) % 31 + salt * 101) % 256).astype(np.uint8)


@pytest.fixture(scope="module")
def golden() -> dict[str, torch.Tensor]:
    return torch.load(GOLDENS / "goldens.pt", weights_only=True)


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    return [golden_clip(t, h, w, i) for i, (t, h, w) in enumerate(CLIPS)]


@pytest.fixture(scope="module")
def enc() -> Any:
    """The golden checkpoint through the registered 2B factory (source=DIR), fp32 on CPU, 64 frames max."""
    return create_encoder(
        "qwen3-vl-embedding-2b", source=str(MODEL), frames=64, device="cpu", dtype="float32"
    )


@pytest.fixture(scope="module")
def tiny() -> Any:
    return create_encoder("qwen3-vl-embedding-test", device="cpu")


def test_registered_names() -> None:
    assert {"qwen3-vl-embedding-2b", "qwen3-vl-embedding-8b", "qwen3-vl-embedding-test"} <= set(
        list_encoders("qwen3-vl*")
    )
    flags = {i.name: i.test_only for i in describe_encoders("qwen3-vl*")}
    assert flags == {
        "qwen3-vl-embedding-2b": False,
        "qwen3-vl-embedding-8b": False,
        "qwen3-vl-embedding-test": True,
    }
    assert "qwen3-vl" in list_rerankers()


def test_goldens_are_small() -> None:
    assert sum(p.stat().st_size for p in GOLDENS.rglob("*") if p.is_file()) < 1_000_000


def test_clip_batch_matches_reference(
    enc: Any, golden: dict[str, torch.Tensor], clips: list[np.ndarray]
) -> None:
    """Three clips of different sizes and frame counts (one odd) in one batch: tokens, patches, vectors."""
    batch = enc.prepare(clips)
    assert torch.equal(batch.input_ids, golden["video_input_ids"])  # prompt, stamps, vision tokens, padding
    assert torch.equal(batch.attention_mask, golden["video_attention_mask"])
    assert (
        batch.video_grid_thw.tolist()
        == golden["video_grid_thw"].tolist()
        == [[2, 24, 24], [2, 20, 28], [3, 16, 32]]
    )
    projected = batch.pixel_values_videos.float() @ golden["projection"]
    torch.testing.assert_close(projected, golden["pixel_projection"], atol=1e-4, rtol=0)
    video = enc.encode_video(clips)
    assert np.abs(video - golden["video"].numpy()).max() <= ATOL
    one_by_one = np.concatenate([enc.encode_video(c[None]) for c in clips])
    assert np.abs(one_by_one - golden["video_one_by_one"].numpy()).max() <= ATOL


def test_texts_match_reference(enc: Any, golden: dict[str, torch.Tensor]) -> None:
    """Queries in four languages with the query instruction, documents with the default one."""
    assert np.abs(enc.encode_query(QUERIES) - golden["queries"].numpy()).max() <= ATOL
    assert np.abs(enc.encode_document(DOCUMENTS) - golden["documents"].numpy()).max() <= ATOL
    assert np.array_equal(enc.encode_text(QUERIES[:1]), enc.encode_query(QUERIES[:1]))  # search's path


def test_reranker_matches_reference(
    tmp_path: Path, golden: dict[str, torch.Tensor], clips: list[np.ndarray]
) -> None:
    """The golden backbone plus the golden LM head, saved as a reranker checkpoint, loaded by load_scorer."""
    from transformers import Qwen3VLForConditionalGeneration

    from vrag.encoders._loading import quiet_loading

    with quiet_loading():
        model = Qwen3VLForConditionalGeneration(
            Qwen3VLForConditionalGeneration.config_class.from_pretrained(MODEL)
        )
        backbone = create_encoder(str(MODEL), device="cpu", dtype="float32").model
        model.model.load_state_dict(backbone.state_dict())
        model.lm_head.weight.data.copy_(golden["lm_head"].float())
        model.save_pretrained(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "video_preprocessor_config.json"):
        shutil.copy(MODEL / name, tmp_path / name)
    scorer = load_scorer(str(tmp_path), resolve_runtime("cpu", "float32", None), local=True, frames=64)
    docs = [(clips[0], ""), (None, "a cat sleeps on a sofa"), (clips[1], "two dogs")]
    scores = scorer.score("a cat on a sofa", docs)
    assert np.abs(np.array(scores) - golden["rerank_scores"].numpy()).max() <= ATOL


def test_frame_sizes_follow_the_reference(golden: dict[str, torch.Tensor]) -> None:
    """Aspect kept, sides multiples of 32, 128-768 tokens per frame pair, 7680 per clip (qwen-vl-utils)."""
    for width, height, frames, kept, out_h, out_w in golden["sizes"].tolist():
        assert kept == frames + frames % 2
        assert frame_budget(frames, VisionLayout()).size(width, height) == (out_w, out_h), (
            width,
            height,
            frames,
        )


def test_query_and_document_prompts_differ_and_are_applied(tiny: Any) -> None:
    text = "a woman plays with her dog on the beach"
    assert chat_prompt(QUERY_INSTRUCTION, text) == (
        "<|im_start|>system\nFind a video that contains the following visual content.<|im_end|>\n"
        f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"
    )  # the layout the reference's chat template renders
    query, document = tiny.encode_query([text]), tiny.encode_document([text])
    assert float((query @ document.T)[0, 0]) < 0.999  # same words, different instruction, different vector
    other = create_encoder("qwen3-vl-embedding-test", instruction="Retrieve lecture slides about the topic")
    assert other.query_instruction == "Retrieve lecture slides about the topic."  # punctuation added
    assert float((other.encode_query([text]) @ query.T)[0, 0]) < 0.999
    assert np.allclose(other.encode_document([text]), document, atol=1e-6)  # documents keep the default
    assert DOCUMENT_INSTRUCTION == "Represent the user's input."


def test_matryoshka_dim_truncates_and_renormalises(tiny: Any) -> None:
    clip = golden_clip(4, 256, 448, 0)[None]
    full = tiny.encode_video(clip)
    small = create_encoder("qwen3-vl-embedding-test", dim=32)
    assert small.spec.dim == 32 and tiny.spec.dim == 64
    vec = small.encode_video(clip)
    expected = full[:, :32] / np.linalg.norm(full[:, :32], axis=1, keepdims=True)
    np.testing.assert_allclose(vec, expected, atol=1e-6)
    assert small.encode_query(["a cat"]).shape == (1, 32)
    for bad in (16, 65):
        with pytest.raises(ConfigError, match=r"dim=.* pick 32 <= dim <= 64"):
            create_encoder("qwen3-vl-embedding-test", dim=bad)


def test_spec_frames_drive_what_the_pipeline_decodes(tmp_path: Path) -> None:
    """frames=6: each span gives 6 frames spread over it, decoded at the budget's size for that count."""
    path = write_video(tmp_path / "count.mp4", 100, fps=25, size=(64, 48))
    enc = create_encoder("qwen3-vl-embedding-test", frames=6)
    assert enc.spec.frames == 6 and enc.spec.fps is None
    assert enc.spec.decode_size(64, 48) == frame_budget(6, enc.layout).size(64, 48) == (448, 320)
    (clips,) = decode_clips(str(path), open_video(path).video_id, [(0.0, 2.0), (2.0, 4.0)], [enc.spec])
    assert clips.shape == (2, 6, 320, 448, 3)
    decoded = [[read_index(f) for f in clip] for clip in clips]
    assert decoded == [[4, 12, 20, 29, 37, 45], [54, 62, 70, 79, 87, 95]]  # bin centres at 25 fps
    with pytest.raises(ConfigError, match="2 to 64 frames"):
        create_encoder("qwen3-vl-embedding-test", frames=65)


def test_longer_clips_are_thinned_like_the_reference(tiny: Any) -> None:
    clip = golden_clip(10, 256, 448, 3)
    kept = np.linspace(0, 9, tiny.spec.frames, dtype=int)  # np.linspace(..., dtype=int), as the reference
    np.testing.assert_allclose(tiny.encode_video(clip[None]), tiny.encode_video(clip[kept][None]), atol=1e-6)


def test_multilingual_queries_go_through_the_byte_level_tokenizer(tiny: Any) -> None:
    """English, Chinese, Arabic: lossless tokens (no unknown token), finite unit vectors, all distinct."""
    queries = ["the cat sleeps on the sofa", "猫在沙发上睡觉", "القطة تنام على الأريكة", "狗在沙发上睡觉"]
    for text in queries:
        ids = tiny.tokenizer(text)["input_ids"]
        assert tiny.tokenizer.decode(ids) == text and tiny.tokenizer.unk_token_id not in ids
    vectors = tiny.encode_query(queries)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[np.triu_indices(len(queries), 1)].max() < 0.9999  # one character apart still differs


def test_hub_checkpoints_offline_raise_typed_errors() -> None:
    with pytest.raises(WeightsUnavailableError, match="Qwen3-VL-Embedding-8B"):
        create_encoder("qwen3-vl-embedding-8b", device="cpu")
    with pytest.raises(WeightsUnavailableError, match="Qwen3-VL-Reranker-2B"):
        create_reranker("qwen3-vl")
    with pytest.raises(ConfigError, match="allow_test_encoders"):
        create_reranker("qwen3-vl", model="test")


# ---------------------------------------------------------------- the demo corpus, indexed and reranked


def _demo_module() -> Any:
    spec = importlib.util.spec_from_file_location("make_demo_corpus", EXAMPLES / "make_demo_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("demo")
    _demo_module().make_corpus(folder)
    videos = sorted(p for p in folder.iterdir() if p.suffix in {".mp4", ".mkv", ".webm"})
    config = IndexConfig(
        visual_encoders=("qwen3-vl-embedding-test",), allow_test_encoders=True, workers=0, ocr="off"
    )
    with VideoIndex.open(folder / "idx", config) as index:
        report = index.add(videos)
        assert report.ok and len(report.indexed) == 3 and report.segments >= 9
        yield index


@pytest.mark.integration
def test_demo_corpus_indexes_and_searches_with_the_test_variant(demo_index: Any) -> None:
    hits = demo_index.search("gradient descent", k=3)
    assert hits and all("qwen3-vl-embedding-test" in h.channel_scores for h in hits)
    assert hits[0].video.endswith("intro_to_ml.mp4") and hits[0].start == pytest.approx(12.0, abs=0.2)


@pytest.mark.integration
def test_qwen3vl_reranker_rescores_real_candidates(demo_index: Any) -> None:
    reranker = create_reranker("qwen3-vl", model="test", allow_test_encoders=True, blend=0.0)
    plain = demo_index.search("gradient descent", k=4, candidates=4)
    hits = demo_index.search("gradient descent", k=4, candidates=4, rerank=reranker)
    assert {(h.video, h.start) for h in hits} == {(h.video, h.start) for h in plain}
    scores = [h.channel_scores["rerank"] for h in hits]
    assert all(0.0 < s < 1.0 for s in scores) and scores == sorted(scores, reverse=True)
    top = hits[0]  # the score is the model's P(yes) on that span's own frames and text
    frames = reranker.span_frames(top)
    assert frames.shape[0] == reranker.scorer.spec.frames
    direct = reranker.scorer.score("gradient descent", [(frames, top.text.strip())])[0]
    assert direct == pytest.approx(top.channel_scores["rerank"], abs=1e-6)
    no_text = create_reranker("qwen3-vl", model="test", allow_test_encoders=True, with_text=False)
    assert no_text.score("gradient descent", [top]) != pytest.approx([top.channel_scores["rerank"]])
    gone = Hit("/nonexistent/video.mp4", "x", 0.0, 4.0, 1.0, "")
    assert no_text.score("gradient descent", [gone]) == [NO_EVIDENCE]


@pytest.mark.slow
@pytest.mark.integration
def test_gpu_benchmark_runs_the_qwen3vl_case_on_cpu() -> None:
    root = Path(__file__).resolve().parents[1]
    cmd = [
        sys.executable,
        str(root / "benchmarks" / "gpu_encode.py"),
        "--device",
        "cpu",
        "--models",
        "qwen3-vl*",
    ]
    out = subprocess.run([*cmd, "--iters", "1"], capture_output=True, text=True, check=True, cwd=root).stdout
    assert "| qwen3-vl-tiny | 2 |" in out and "videomae" not in out


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_on_cuda_agrees_with_fp32(clips: list[np.ndarray]) -> None:
    fp32 = create_encoder(str(MODEL), device="cpu", dtype="float32").encode_video(clips)
    bf16 = create_encoder(str(MODEL), device="cuda", dtype="bfloat16").encode_video(clips)
    assert np.min(np.sum(fp32 * bf16, axis=1)) > 0.99
