"""Q-Former pooler: K vectors per clip, InternVideo2-Chat weight conversion, training that helps retrieval.

The base encoder in these tests is the random ``videomae-test``: a fixed (untrained) feature extractor. Only
the pooler and its text projection learn, on top of the frozen, real MiniLM sentence encoder, so any gain in
held-out retrieval comes from training the pooler on the procedurally rendered captioned clips.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from vrag.encoders import create_encoder, describe_encoders, list_encoders
from vrag.encoders._qformer import QFormerEncoder, QFormerPooler, convert_internvideo2_chat
from vrag.errors import ConfigError
from vrag.eval._shapes import scenes
from vrag.train import read_pairs, train_qformer, write_pairs, write_shapes_set
from vrag.train._data import decode_clips
from vrag.train._qformer import retrieval_metrics, split


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread; the test machine's cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """240 captioned moving-shape clips (16 frames, 64 px, 30 fps) as mp4 + captions.jsonl."""
    return write_shapes_set(tmp_path_factory.mktemp("shapes"), scenes(0, 240))


def clips(n: int, frames: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, frames, 40, 40, 3), dtype=np.uint8)


# ---------------------------------------------------------------- the encoder


def test_registry_has_the_pooler_and_its_test_variant() -> None:
    assert {"qformer", "qformer-test"} <= set(list_encoders("qformer*"))
    flags = {info.name: info.test_only for info in describe_encoders("qformer*")}
    assert flags == {"qformer": False, "qformer-test": True}
    with pytest.raises(ConfigError, match="source=DIR"):
        create_encoder("qformer")


def test_pooler_gives_k_normalised_vectors_and_a_pooled_one() -> None:
    enc = create_encoder("qformer-test", device="cpu")
    assert isinstance(enc, QFormerEncoder)
    base = create_encoder("videomae-test", device="cpu")
    assert (enc.spec.frames, enc.spec.fps, enc.spec.input_size) == (base.spec.frames, base.spec.fps, (32, 32))
    assert enc.spec.has_text and enc.spec.test_only and enc.num_vectors == 32
    multi = enc.encode_video_multi(clips(3))
    assert multi.shape == (3, 32, enc.spec.dim)
    np.testing.assert_allclose(np.linalg.norm(multi, axis=-1), 1.0, atol=1e-5)
    pooled = enc.encode_video(clips(3))
    assert not np.allclose(pooled[0], pooled[1], atol=1e-3)  # different clips, different vectors
    mean = multi.mean(axis=1)
    np.testing.assert_allclose(pooled, mean / np.linalg.norm(mean, axis=-1, keepdims=True), atol=1e-5)
    # the K query vectors of one clip are not all the same vector (distinct queries read different things)
    assert np.ptp(multi[0] @ multi[0].T) > 1e-3
    text = enc.encode_text(["a red circle moving up on a black background"])
    assert text.shape == (1, enc.spec.dim)
    np.testing.assert_allclose(np.linalg.norm(text, axis=-1), 1.0, atol=1e-5)


def test_saved_pooler_loads_back_with_the_same_vectors(tmp_path: Path) -> None:
    enc = create_encoder("qformer-test", device="cpu")
    assert isinstance(enc, QFormerEncoder)
    enc.save(tmp_path / "pooler")
    again = create_encoder("qformer", source=str(tmp_path / "pooler"), device="cpu")
    assert isinstance(again, QFormerEncoder) and again.spec.test_only  # its base is a test-only encoder
    np.testing.assert_allclose(
        again.encode_video_multi(clips(2)), enc.encode_video_multi(clips(2)), atol=1e-6
    )
    np.testing.assert_allclose(
        again.encode_text(["a green square"]), enc.encode_text(["a green square"]), atol=1e-6
    )
    with pytest.raises(ConfigError, match="gives 24-d"):  # xclip-test tokens are 24-d, the pooler reads 32-d
        create_encoder(
            "qformer", source=str(tmp_path / "pooler"), base="xclip-test", device="cpu"
        ).encode_video(clips(1, frames=4))


# ---------------------------------------------------------------- InternVideo2-Chat weights

CHAT = {"hidden": 32, "heads": 4, "layers": 4, "inter": 48, "width": 32, "vocab": 50, "positions": 16}


def chat_state(queries: int = 4, extra: int = 6, seed: int = 0) -> dict[str, torch.Tensor]:
    """A tiny InternVideo2-Chat state dict in the official key layout.

    LAVIS ``BertModel`` under ``qformer.bert``, cross-attention in every second block, ``query_tokens`` +
    ``extra_query_tokens``, ``vision_layernorm``; plus keys of the parts the pooler must ignore (ViT, LLM,
    projector, MLM head, position-id buffer).
    """
    g = torch.Generator().manual_seed(seed)
    h, w, inter = CHAT["hidden"], CHAT["width"], CHAT["inter"]

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * 0.2

    def norm(prefix: str, size: int) -> dict[str, torch.Tensor]:
        return {f"{prefix}.weight": 1 + rand(size), f"{prefix}.bias": rand(size)}

    def linear(prefix: str, out: int, inp: int) -> dict[str, torch.Tensor]:
        return {f"{prefix}.weight": rand(out, inp), f"{prefix}.bias": rand(out)}

    bert = "qformer.bert."
    state = {"query_tokens": rand(1, queries, h), "extra_query_tokens": rand(1, extra, h)}
    state |= norm("vision_layernorm", w)
    state |= {bert + "embeddings.word_embeddings.weight": rand(CHAT["vocab"], h)}
    state |= {bert + "embeddings.position_embeddings.weight": rand(CHAT["positions"], h)}
    state |= {bert + "embeddings.position_ids": torch.arange(CHAT["positions"])[None]}
    state |= norm(bert + "embeddings.LayerNorm", h)
    for i in range(CHAT["layers"]):
        layer = f"{bert}encoder.layer.{i}."
        blocks = ["attention"] + (["crossattention"] if i % 2 == 0 else [])
        for block in blocks:
            kv = w if block == "crossattention" else h
            state |= linear(layer + f"{block}.self.query", h, h)
            state |= linear(layer + f"{block}.self.key", h, kv) | linear(layer + f"{block}.self.value", h, kv)
            state |= linear(layer + f"{block}.output.dense", h, h) | norm(
                layer + f"{block}.output.LayerNorm", h
            )
        for ffn in ("", "_query"):
            state |= linear(layer + f"intermediate{ffn}.dense", inter, h)
            state |= linear(layer + f"output{ffn}.dense", h, inter) | norm(
                layer + f"output{ffn}.LayerNorm", h
            )
    state |= {
        "vision_encoder.blocks.0.attn.qkv.weight": rand(3 * w, w),
        "lm.model.embed_tokens.weight": rand(7, 8),
    }
    state |= {"project_up.weight": rand(8, h), "qformer.cls.predictions.bias": rand(CHAT["vocab"])}
    return state


def hand_run(
    state: dict[str, torch.Tensor], tokens: torch.Tensor, ids: torch.Tensor | None = None
) -> torch.Tensor:
    """The chat model's ``encode_vision`` on these weights, written out with plain tensor ops."""
    bert, heads, eps = "qformer.bert.", CHAT["heads"], 1e-12

    def ln(x: torch.Tensor, p: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], state[p + ".weight"], state[p + ".bias"], eps)

    def lin(x: torch.Tensor, p: str) -> torch.Tensor:
        return x @ state[p + ".weight"].T + state[p + ".bias"]

    def attend(x: torch.Tensor, memory: torch.Tensor, p: str) -> torch.Tensor:
        def split_heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)

        q, k, v = (
            split_heads(lin(y, p + n)) for y, n in ((x, ".query"), (memory, ".key"), (memory, ".value"))
        )
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        return (weights @ v).transpose(1, 2).reshape(x.shape)

    def ffn(x: torch.Tensor, p: str, suffix: str) -> torch.Tensor:
        return ln(
            lin(F.gelu(lin(x, f"{p}intermediate{suffix}.dense")), f"{p}output{suffix}.dense") + x,
            f"{p}output{suffix}.LayerNorm",
        )

    memory = ln(tokens, "vision_layernorm")
    queries = torch.cat([state["query_tokens"], state["extra_query_tokens"]], dim=1).expand(
        len(tokens), -1, -1
    )
    n = queries.shape[1]
    x = queries
    if ids is not None:
        words = state[bert + "embeddings.word_embeddings.weight"][ids]
        x = torch.cat(
            [queries, words + state[bert + "embeddings.position_embeddings.weight"][: ids.shape[1]]], dim=1
        )
    x = ln(x, bert + "embeddings.LayerNorm")
    for i in range(CHAT["layers"]):
        p = f"{bert}encoder.layer.{i}."
        x = ln(
            lin(attend(x, x, p + "attention.self"), p + "attention.output.dense") + x,
            p + "attention.output.LayerNorm",
        )
        q = x[:, :n]
        if i % 2 == 0:
            c = lin(attend(q, memory, p + "crossattention.self"), p + "crossattention.output.dense")
            q = ln(c + q, p + "crossattention.output.LayerNorm")
        x = torch.cat([ffn(q, p, "_query"), ffn(x[:, n:], p, "")], dim=1)
    return x[:, :n]


def test_internvideo2_chat_weights_land_and_match_a_hand_run() -> None:
    state = chat_state()
    config, converted = convert_internvideo2_chat(state, num_heads=CHAT["heads"])
    assert (config.num_queries, config.num_layers, config.cross_attention_every) == (10, 4, 2)
    assert (config.encoder_width, config.intermediate_size, config.vocab_size) == (32, 48, 50)
    pooler = QFormerPooler(config).eval()
    result = pooler.load_state_dict(
        converted, strict=True
    )  # every tensor lands: no missing / unexpected keys
    assert not result.missing_keys and not result.unexpected_keys
    assert len(converted) == len(pooler.state_dict())
    tokens = torch.randn(2, 12, CHAT["width"])
    with torch.no_grad():
        torch.testing.assert_close(pooler(tokens), hand_run(state, tokens), atol=1e-5, rtol=1e-4)
        ids = torch.tensor([[5, 9, 3], [7, 1, 2]])  # an instruction steers the queries (instruction-aware)
        steered = pooler(tokens, input_ids=ids)
        torch.testing.assert_close(steered, hand_run(state, tokens, ids), atol=1e-5, rtol=1e-4)
    assert (steered - pooler(tokens)).abs().max() > 1e-3
    prefixed = {f"module.{k}": v for k, v in state.items()}  # a DDP-saved checkpoint
    assert convert_internvideo2_chat(prefixed, num_heads=CHAT["heads"])[1].keys() == converted.keys()


def test_chat_checkpoint_loads_as_an_encoder_without_text(tmp_path: Path) -> None:
    torch.save({"model": chat_state()}, tmp_path / "chat.pt")
    enc = create_encoder("qformer", source=str(tmp_path / "chat.pt"), base="videomae-test", device="cpu")
    assert isinstance(enc, QFormerEncoder) and enc.num_vectors == 10 and not enc.spec.has_text
    assert enc.encode_video_multi(clips(2)).shape == (2, 10, CHAT["hidden"])
    with pytest.raises(ConfigError, match="no text projection"):
        enc.encode_text(["a dog"])
    with pytest.raises(ConfigError, match="base=NAME"):
        create_encoder("qformer", source=str(tmp_path / "chat.pt"), device="cpu")


# ---------------------------------------------------------------- data layout


def test_data_dir_layouts(tmp_path: Path) -> None:
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    write_pairs(tmp_path / "a", [(frames, "a black frame"), (frames + 200, "a bright frame")])
    assert [p.caption for p in read_pairs(tmp_path / "a")] == ["a black frame", "a bright frame"]
    side = tmp_path / "b"
    write_pairs(side, [(frames, "unused")])
    (side / "captions.jsonl").unlink()
    (side / "clip_00000.txt").write_text("a caption beside the video\n")
    assert [(p.video.name, p.caption) for p in read_pairs(side)] == [
        ("clip_00000.mp4", "a caption beside the video")
    ]
    (side / "captions.jsonl").write_text(json.dumps({"video": "missing.mp4", "caption": "x"}) + "\n")
    with pytest.raises(ConfigError, match=r"missing\.mp4"):
        read_pairs(side)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no \\(video, caption\\) pairs"):
        read_pairs(tmp_path / "empty")


def test_retrieval_metrics_on_a_known_ranking() -> None:
    scores = np.array([[0.9, 0.1, 0.5], [0.9, 0.1, 0.5]])
    relevant = np.array([[True, False, False], [False, True, False]])
    m = retrieval_metrics(scores, relevant)
    assert (m.recall_at_1, m.recall_at_5, m.queries, m.clips) == (0.5, 1.0, 2, 3)
    assert m.mrr == pytest.approx((1 + 1 / 3) / 2)


# ---------------------------------------------------------------- training


def test_training_beats_the_untrained_pooler_on_held_out_retrieval(shapes_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    report = train_qformer(
        shapes_dir, base="videomae-test", out_dir=out, steps=300, batch=32, lr=1e-3, k=8, size="tiny",
        eval_fraction=0.25, checkpoint_every=100, seed=0, device="cpu", progress=False,
    )  # fmt: skip
    before, after = report.before, report.after
    assert before is not None and after is not None
    assert (report.steps, report.train_pairs, report.eval_pairs) == (300, 180, 60)
    chance = float(np.mean(1 / np.arange(1, 61)))  # MRR of a random ranking of 60 clips
    assert before.maxsim.mrr < 2 * chance
    assert after.maxsim.mrr > before.maxsim.mrr + 0.2 and after.maxsim.mrr > 4 * chance
    assert after.maxsim.recall_at_5 > before.maxsim.recall_at_5 + 0.3
    assert after.pooled.mrr > before.pooled.mrr + 0.2
    assert "held-out text->video" in report.format_table()
    # what a user loads from out_dir reproduces the reported held-out retrieval
    enc = create_encoder("qformer", source=str(out), device="cpu")
    assert isinstance(enc, QFormerEncoder)
    pairs = read_pairs(shapes_dir)
    held_out = [pairs[i] for i in split(len(pairs), 0.25, 0)[1]]
    videos = enc.encode_video_multi(decode_clips(held_out, enc.spec))
    captions = [p.caption for p in held_out]
    queries = list(dict.fromkeys(captions))
    scores = np.einsum("qd,nkd->qnk", enc.encode_text(queries), videos).max(axis=-1)
    loaded = retrieval_metrics(scores, np.array([[c == q for c in captions] for q in queries]))
    assert loaded.mrr == pytest.approx(after.maxsim.mrr, abs=0.02)


def test_resume_continues_exactly_where_the_checkpoint_left_off(tmp_path: Path) -> None:
    data = write_shapes_set(tmp_path / "data", scenes(1, 24))
    options = {"base": "videomae-test", "steps": 16, "batch": 8, "lr": 1e-3, "k": 4, "size": "tiny"}
    options |= {"eval_fraction": 0.25, "checkpoint_every": 8, "device": "cpu", "progress": False}
    whole = train_qformer(data, out_dir=tmp_path / "whole", **options)

    def crash(step: int, loss: float) -> None:
        if step == 12:
            raise KeyboardInterrupt  # the run dies between checkpoints (after step 8's)

    with pytest.raises(KeyboardInterrupt):
        train_qformer(data, out_dir=tmp_path / "resumed", on_step=crash, **options)
    resumed = train_qformer(data, out_dir=tmp_path / "resumed", **options)
    assert resumed.resumed_from == 8 and resumed.steps == 16
    assert resumed.final_loss == whole.final_loss and resumed.before == whole.before
    a, b = (load_file(tmp_path / run / "model.safetensors") for run in ("whole", "resumed"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ConfigError, match="lr"):
        train_qformer(data, out_dir=tmp_path / "resumed", **(options | {"lr": 5e-4}))


def test_bf16_amp_trains(tmp_path: Path) -> None:
    data = write_shapes_set(tmp_path / "data", scenes(2, 12))
    report = train_qformer(
        data, base="videomae-test", out_dir=tmp_path / "amp", steps=4, batch=8, lr=1e-3, k=4, size="tiny",
        amp=True, eval_fraction=0, device="cpu", progress=False,
    )  # fmt: skip
    assert math.isfinite(report.final_loss) and report.before is None and report.steps == 4


def test_cli_train_qformer_writes_a_pooler_the_registry_loads(
    shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from vrag.cli import main as cli

    out = tmp_path / "pooler"
    args = ["train", "qformer", str(shapes_dir), "--out", str(out), "--base", "videomae-test"]
    args += ["--steps", "4", "--batch", "8", "--k", "4", "--size", "tiny", "--checkpoint-every", "2"]
    args += ["--json"]
    assert cli(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == 4 and report["after"] is not None
    pooler = create_encoder(str(out))  # a trained pooler folder is a model directory like any other
    assert pooler.encode_video_multi(clips(2, pooler.spec.frames)).shape == (2, 4, pooler.spec.dim)
    assert pooler.spec.vectors == 4
