"""Random-weight Qwen3-VL models: ``qwen3-vl-embedding-test`` and the released architectures (benchmarks).

The tiny checkpoint is written as a real one is laid out: weights (``Qwen3VLModel``, or
``Qwen3VLForConditionalGeneration`` for the reranker), ``config.json``, a byte-level BPE tokenizer in Qwen's
layout built here with the ``tokenizers`` library (no download), and the processor configs;
:func:`create_tiny` writes one to a temporary directory and loads it back through
:func:`vrag.encoders._qwen3vl.load`, the path real checkpoints take. :func:`build_random` builds the released
2B / 8B architectures (:data:`ARCHS`, their ``config.json`` written out) with random weights straight on the
device, to time them where the hub is out of reach; their vectors mean nothing.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from vrag.encoders._base import Runtime, build_seeded
from vrag.encoders._loading import quiet_loading
from vrag.encoders._qwen3vl import (
    HALF,
    VIDEO_PAD,
    VISION_END,
    VISION_START,
    Qwen3VLEmbedder,
    Qwen3VLScorer,
    VisionLayout,
    load,
    load_scorer,
)

__all__ = [
    "ARCHS",
    "build_random",
    "create_tiny",
    "create_tiny_scorer",
    "save_tiny",
    "tiny_config",
    "tiny_tokenizer",
]

_ROPE = {
    "rope_type": "default",
    "rope_theta": 5_000_000.0,
    "mrope_section": [24, 20, 20],
    "mrope_interleaved": True,
}
_VISION = {
    "patch_size": 16,
    "temporal_patch_size": 2,
    "spatial_merge_size": 2,
    "num_position_embeddings": 2304,
}
_TEXT = {"vocab_size": 151936, "head_dim": 128, "num_key_value_heads": 8, "max_position_embeddings": 262144}
#: the released architectures (``config.json`` of Qwen/Qwen3-VL-Embedding-2B / -8B; tokens ids aside)
ARCHS: dict[str, dict[str, Any]] = {
    "2b": {
        "vision_config": {
            **_VISION, "depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16,
            "out_hidden_size": 2048, "deepstack_visual_indexes": [5, 11, 17],
        },
        "text_config": {
            **_TEXT, "hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
            "num_attention_heads": 16, "rope_parameters": _ROPE,
        },
        "tie_word_embeddings": True,
    },
    "8b": {
        "vision_config": {
            **_VISION, "depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "num_heads": 16,
            "out_hidden_size": 4096, "deepstack_visual_indexes": [8, 16, 24],
        },
        "text_config": {
            **_TEXT, "hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36,
            "num_attention_heads": 32, "rope_parameters": _ROPE,
        },
        "tie_word_embeddings": False,
    },
}  # fmt: skip

TINY_SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    VIDEO_PAD,
)
#: merges of the tiny byte-level BPE: "yes" / "no" must be single tokens (the reranker reads their rows)
TINY_MERGES = (("y", "e"), ("ye", "s"), ("n", "o"), ("e", "r"), ("t", "h"), ("th", "e"))
#: Qwen2's pre-tokenizer split (letters, digits one by one, punctuation runs, whitespace)
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)


def tiny_tokenizer() -> Any:
    """A byte-level BPE in Qwen's layout (256 byte tokens, a few merges, Qwen's special tokens), built here.

    Byte-level like the real Qwen tokenizer, so any language's text encodes losslessly (no unknown tokens).
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    for a, b in TINY_MERGES:
        vocab[a + b] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=list(TINY_MERGES)))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=TINY_SPECIALS[0],
        eos_token="<|im_end|>",
        additional_special_tokens=list(TINY_SPECIALS[1:]),
    )


def tiny_config(tokenizer: Any) -> Any:
    """2-block 16-d vision tower (patch 16, deepstack at both), 2-layer 64-d decoder (GQA, M-RoPE)."""
    from transformers import Qwen3VLConfig

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in TINY_SPECIALS}
    vision = {
        "depth": 2,
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_heads": 2,
        "patch_size": 16,
        "temporal_patch_size": 2,
        "spatial_merge_size": 2,
        "out_hidden_size": 64,
        "num_position_embeddings": 64,
        "deepstack_visual_indexes": [0, 1],
        "hidden_act": "gelu_pytorch_tanh",
    }
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6,
        "pad_token_id": ids["<|endoftext|>"],
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": [4, 2, 2],
            "mrope_interleaved": True,
        },
    }
    return Qwen3VLConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids[VIDEO_PAD],
        vision_start_token_id=ids[VISION_START],
        vision_end_token_id=ids[VISION_END],
        tie_word_embeddings=False,
    )


def save_tiny(folder: str | Path, *, head: bool = False, seed: int = 0) -> Path:
    """Write a tiny random checkpoint as a real one is laid out: weights, config, tokenizer, processor config.

    Args:
        folder: where to write it.
        head: a reranker (``Qwen3VLForConditionalGeneration``, with an LM head) instead of an embedder.
        seed: weight seed.
    """
    from transformers import Qwen3VLForConditionalGeneration, Qwen3VLModel

    out = Path(folder)
    tokenizer = tiny_tokenizer()
    cfg = tiny_config(tokenizer)
    cls = Qwen3VLForConditionalGeneration if head else Qwen3VLModel
    model: Any = build_seeded(lambda: cls(cfg), seed)
    with quiet_loading():
        model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    layout = dataclasses.asdict(VisionLayout())
    processor = {k: layout[k] for k in ("patch_size", "temporal_patch_size", "merge_size")}
    processor |= {"image_mean": list(HALF), "image_std": list(HALF), "processor_class": "Qwen3VLProcessor"}
    for name, key, kind in (
        ("preprocessor_config.json", "image_processor_type", "Qwen2VLImageProcessor"),
        ("video_preprocessor_config.json", "video_processor_type", "Qwen3VLVideoProcessor"),
    ):
        (out / name).write_text(json.dumps({**processor, key: kind}, indent=2), encoding="utf-8")
    return out


def create_tiny(
    runtime: Runtime, *, frames: int | None = None, dim: int | None = None, instruction: str | None = None
) -> Qwen3VLEmbedder:
    """``qwen3-vl-embedding-test``: a tiny random checkpoint written to a temporary directory and loaded
    back through :func:`load` (the real loading path). Tests and CI only."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vrag-qwen3vl-") as tmp:
        save_tiny(tmp)
        return load(
            tmp,
            runtime,
            name="qwen3-vl-embedding-test",
            local=True,
            frames=4 if frames is None else frames,
            dim=dim,
            instruction=instruction,
            test_only=True,
        )


def create_tiny_scorer(runtime: Runtime, *, frames: int | None = None) -> Qwen3VLScorer:
    """A tiny random reranker (same layout as a real one) loaded back through :func:`load_scorer`."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vrag-qwen3vl-rerank-") as tmp:
        save_tiny(tmp, head=True)
        scorer = load_scorer(tmp, runtime, local=True, frames=4 if frames is None else frames, test_only=True)
    scorer.spec = dataclasses.replace(scorer.spec, name="qwen3-vl-reranker-test", source="random-init")
    return scorer


def build_random(arch: str, runtime: Runtime, *, frames: int = 16) -> Qwen3VLEmbedder:
    """A released architecture (``"2b"`` / ``"8b"``) with random weights, built on the runtime's device.

    The tokenizer is the tiny byte-level one; its special tokens are given the model's token ids, so prompts
    cost a few more text tokens than with the real tokenizer (the clip's vision tokens are the same).
    """
    import torch
    from transformers import Qwen3VLConfig, Qwen3VLModel

    from vrag.encoders._base import prepare_model
    from vrag.encoders._qwen3vl import check_frames, make_spec

    tokenizer = tiny_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in TINY_SPECIALS}
    text = {**ARCHS[arch]["text_config"], "pad_token_id": ids["<|endoftext|>"]}
    cfg = Qwen3VLConfig(
        **{**ARCHS[arch], "text_config": text}, image_token_id=ids["<|image_pad|>"],
        video_token_id=ids[VIDEO_PAD], vision_start_token_id=ids[VISION_START],
        vision_end_token_id=ids[VISION_END],
    )  # fmt: skip
    with torch.device(runtime.device):
        model = Qwen3VLModel._from_config(cfg, dtype=runtime.dtype, attn_implementation="sdpa")
    name = f"qwen3-vl-embedding-{arch}-random"
    dim = int(text["hidden_size"])
    layout = VisionLayout()
    spec = make_spec(
        name=name, source="random-init", dim=dim, frames=check_frames(frames), layout=layout, test_only=True
    )
    return Qwen3VLEmbedder(prepare_model(model, runtime), tokenizer, spec, runtime, layout=layout)
