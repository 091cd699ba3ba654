"""InternVideo2 (OpenGVLab), native PyTorch: the stage-2 video–text dual encoder, no remote code.

Vision: a pre-norm ViT over ``tubelet x 14 x 14`` patches with RMSNorm, RMS-normalised queries and keys, layer
scale, a CLS token and a learned position table (a second table for single images). The clip vector is the
``clip_projector``: ONE query (the mean of all tokens) cross-attends to the tokens (LayerNorm on q, k and v,
q/k/v biases), then ``vision_proj``. Text: the BERT tower up to its fusion layer (the layers below the
cross-attention ones, which only the ITM head uses) through transformers' ``BertModel``; the CLS state goes
through ``text_proj``. Both vectors are L2-normalised into one space (text→video retrieval).

Weights are the official stage-2 ``.pt`` files (``OpenGVLab/InternVideo2-Stage2_1B-224p-f4`` ...), converted
on load by :func:`convert_checkpoint`: prefixes stripped, training-only heads dropped (UTA decoders, ITM, MLM,
the fusion layers), position tables resized when a clip has another frame count.

GPU path: bf16 weights, ``scaled_dot_product_attention`` (flash / memory-efficient kernels on CUDA) for every
attention, and the MLP run over bounded token chunks, so activation memory stays linear in the clip length.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from vrag.encoders._base import Runtime, VideoEncoder, build_seeded, prepare_model
from vrag.encoders._loading import hub_file, is_offline, load_tokenizer
from vrag.encoders._spec import EncoderSpec
from vrag.errors import ConfigError, ModelUnavailableError

__all__ = [
    "ARCHS",
    "InternVideo2Config",
    "InternVideo2Encoder",
    "InternVideo2Model",
    "convert_checkpoint",
    "create_tiny",
    "load",
]

LICENSE = "apache-2.0 (code); the hub weights are gated: accept the model card's terms"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TOKENIZER = "google-bert/bert-large-uncased"
CONFIG_FILE = "config.json"
MODEL_TYPE = "internvideo2"
#: tokens per MLP call; bounds the ``tokens x mlp_hidden`` activation for long clips
MLP_CHUNK = 1 << 16
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin")


@dataclasses.dataclass(frozen=True, slots=True)
class InternVideo2Config:
    """Shape of an InternVideo2 dual encoder.

    Attributes:
        embed_dim: ViT width.
        depth: ViT blocks.
        num_heads: ViT attention heads.
        mlp_hidden: MLP width.
        patch_size: spatial patch side.
        image_size: input side the position table was trained at.
        num_frames: frames per clip (the position table's temporal length after any resizing).
        tubelet_size: frames per patch.
        qkv_bias: bias on the fused qkv projection.
        qk_norm: RMS-normalise queries and keys.
        layer_scale: per-channel residual scales (``ls1`` / ``ls2``).
        pool_heads: heads of the attention-pooling head.
        clip_embed_dim: width of the pooled vector (``clip_projector`` output).
        proj_dim: shared video–text space (``vision_proj`` / ``text_proj`` output).
        image_positions: whether a separate position table for single images exists.
        text: ``BertConfig`` fields of the text tower (its layers = the fusion layer), ``None``: video only.
        text_max_length: tokens per text.
    """

    embed_dim: int = 1408
    depth: int = 40
    num_heads: int = 16
    mlp_hidden: int = 6144
    patch_size: int = 14
    image_size: int = 224
    num_frames: int = 4
    tubelet_size: int = 1
    qkv_bias: bool = False
    qk_norm: bool = True
    layer_scale: bool = True
    pool_heads: int = 16
    clip_embed_dim: int = 768
    proj_dim: int = 512
    image_positions: bool = True
    text: dict[str, Any] | None = None
    text_max_length: int = 40

    @property
    def grid(self) -> tuple[int, int, int]:
        """``(t, h, w)`` patch grid of one clip."""
        side = self.image_size // self.patch_size
        return self.num_frames // self.tubelet_size, side, side

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: BERT-large truncated at InternVideo2's fusion layer (19 of 24 layers)
BERT_LARGE_19 = {
    "vocab_size": 30522,
    "hidden_size": 1024,
    "num_hidden_layers": 19,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
}
ARCHS: dict[str, InternVideo2Config] = {
    "1b": InternVideo2Config(text=BERT_LARGE_19),
    "6b": InternVideo2Config(
        embed_dim=3200, depth=48, num_heads=25, mlp_hidden=12800, text=BERT_LARGE_19
    ),  # stage-2 6B (audio-visual training; its audio tower is not loaded)
    # distilled students (vision tower only: their released CLIP text towers are MobileCLIP, not BERT)
    "s14": InternVideo2Config(embed_dim=384, depth=12, num_heads=6, mlp_hidden=1536, num_frames=8),
    "b14": InternVideo2Config(embed_dim=768, depth=12, num_heads=12, mlp_hidden=3072, num_frames=8),
    "l14": InternVideo2Config(embed_dim=1024, depth=24, num_heads=16, mlp_hidden=4096, num_frames=8),
}
#: registry name → (hub repo, weights file, architecture)
CHECKPOINTS = {
    "internvideo2-1b": (
        "OpenGVLab/InternVideo2-Stage2_1B-224p-f4",
        "InternVideo2-stage2_1b-224p-f4.pt",
        "1b",
    ),
    "internvideo2-6b": (
        "OpenGVLab/InternVideo2-Stage2_6B-224p-f4",
        "InternVideo2-stage2_6b-224p-f4.pt",
        "6b",
    ),
}


# ---------------------------------------------------------------- vision tower


class Block(nn.Module):
    """Pre-norm transformer block: RMSNorm → attention (qk-norm, SDPA) → layer scale, same for the MLP."""

    def __init__(self, cfg: InternVideo2Config) -> None:
        super().__init__()
        dim, self.heads = cfg.embed_dim, cfg.num_heads
        self.norm1, self.norm2 = nn.RMSNorm(dim, eps=1e-6), nn.RMSNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim, bias=cfg.qkv_bias)
        self.q_norm = nn.RMSNorm(dim, eps=1e-6) if cfg.qk_norm else nn.Identity()
        self.k_norm = nn.RMSNorm(dim, eps=1e-6) if cfg.qk_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, cfg.mlp_hidden), nn.Linear(cfg.mlp_hidden, dim)
        self.ls1 = nn.Parameter(torch.ones(dim)) if cfg.layer_scale else None
        self.ls2 = nn.Parameter(torch.ones(dim)) if cfg.layer_scale else None

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, c).unbind(2)
        q, k = self.q_norm(q), self.k_norm(k)  # over all heads at once, as trained
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + _scale(self.attention(self.norm1(x)), self.ls1)
        return x + _scale(_chunked(self.mlp, self.norm2(x)), self.ls2)


def _scale(x: torch.Tensor, gamma: torch.Tensor | None) -> torch.Tensor:
    return x if gamma is None else x * gamma


def _chunked(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``fn`` over token chunks of at most :data:`MLP_CHUNK` tokens (all batch rows together)."""
    b, n, _ = x.shape
    step = max(1, MLP_CHUNK // b)
    if n <= step:
        return fn(x)
    return torch.cat([fn(x[:, i : i + step]) for i in range(0, n, step)], dim=1)


class AttentionPool(nn.Module):
    """The ``clip_projector``: one query, the mean of all tokens, attends to them; ``dim → out_dim``."""

    def __init__(self, dim: int, heads: int, out_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm_q, self.norm_k, self.norm_v = (nn.LayerNorm(dim, eps=1e-5) for _ in range(3))
        self.q, self.k, self.v = (nn.Linear(dim, dim) for _ in range(3))
        self.proj = nn.Linear(dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q = self.q(self.norm_q(x.mean(dim=1, keepdim=True))).view(b, 1, self.heads, -1).transpose(1, 2)
        k = self.k(self.norm_k(x)).view(b, n, self.heads, -1).transpose(1, 2)
        v = self.v(self.norm_v(x)).view(b, n, self.heads, -1).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.reshape(b, c))


class VisionTower(nn.Module):
    """Patch embedding, CLS + positions, blocks, attention pooling. Input ``[B, T, 3, H, W]``."""

    def __init__(self, cfg: InternVideo2Config) -> None:
        super().__init__()
        self.cfg = cfg
        t, h, w = cfg.grid
        p = cfg.patch_size
        self.patch_embed = nn.Conv3d(3, cfg.embed_dim, (cfg.tubelet_size, p, p), (cfg.tubelet_size, p, p))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + t * h * w, cfg.embed_dim))
        self.img_pos_embed = (
            nn.Parameter(torch.zeros(1, 1 + h * w, cfg.embed_dim)) if cfg.image_positions else None
        )
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.pool = AttentionPool(cfg.embed_dim, cfg.pool_heads, cfg.clip_embed_dim)

    def tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """Last-block states ``[B, 1 + t*h*w, C]`` (CLS first)."""
        x = self.patch_embed(pixels.transpose(1, 2).to(self.cls_token.dtype))  # [B, C, t, h, w]
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self._positions(pixels.shape[1], x.shape[1])
        for block in self.blocks:
            x = block(x)
        return x

    def _positions(self, frames: int, n: int) -> torch.Tensor:
        if frames == 1 and self.pos_embed.shape[1] != n:  # a single image
            if self.img_pos_embed is not None:
                return self.img_pos_embed
            t = self.cfg.grid[0]
            grid = self.pos_embed[:, 1:].view(1, t, -1, self.cfg.embed_dim).mean(dim=1)
            return torch.cat([self.pos_embed[:, :1], grid], dim=1)
        if self.pos_embed.shape[1] != n:
            raise ConfigError(
                f"InternVideo2 was built for {self.cfg.num_frames} frames at {self.cfg.image_size}px, got "
                f"{frames} frames ({n} tokens); create the encoder with frames={frames}"
            )
        return self.pos_embed

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.pool(self.tokens(pixels))


# ---------------------------------------------------------------- dual encoder


class InternVideo2Model(nn.Module):
    """Vision tower + ``vision_proj``; BERT (to the fusion layer) + ``text_proj`` when the config has text.

    Example:
        >>> cfg = tiny_config()
        >>> model = InternVideo2Model(cfg).eval()
        >>> model.video_features(torch.zeros(1, 4, 3, 32, 32)).shape
        torch.Size([1, 16])
    """

    def __init__(self, cfg: InternVideo2Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.vision = VisionTower(cfg)
        self.vision_proj = nn.Linear(cfg.clip_embed_dim, cfg.proj_dim)
        self.text: nn.Module | None = None
        if cfg.text is not None:
            from transformers import BertConfig, BertModel

            text_cfg = BertConfig(**cfg.text)
            text_cfg._attn_implementation = "sdpa"
            self.text = BertModel(text_cfg, add_pooling_layer=False)
            self.text_proj = nn.Linear(text_cfg.hidden_size, cfg.proj_dim)

    def video_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """``[B, T, 3, H, W]`` normalised pixels → unnormalised ``[B, proj_dim]``."""
        return self.vision_proj(self.vision(pixels))

    def text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """Token ids → unnormalised ``[B, proj_dim]`` (CLS state through ``text_proj``)."""
        if self.text is None:
            raise ConfigError("this InternVideo2 checkpoint has no text tower; embed video only")
        hidden = self.text(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.text_proj(hidden[:, 0])


# ---------------------------------------------------------------- checkpoint conversion

_VISION_RENAMES = (  # first match wins: the pooling head's names contain the blocks' ones
    ("clip_projector.norm1_q.", "pool.norm_q."),
    ("clip_projector.norm1_k.", "pool.norm_k."),
    ("clip_projector.norm1_v.", "pool.norm_v."),
    ("clip_projector.cross_attn.q_bias", "pool.q.bias"),
    ("clip_projector.cross_attn.k_bias", "pool.k.bias"),
    ("clip_projector.cross_attn.v_bias", "pool.v.bias"),
    ("clip_projector.cross_attn.", "pool."),
    ("patch_embed.proj.", "patch_embed."),
    ("attn.qkv.", "qkv."),
    ("attn.proj.", "proj."),
    ("attn.q_norm.", "q_norm."),
    ("attn.k_norm.", "k_norm."),
    ("mlp.fc1.", "fc1."),
    ("mlp.fc2.", "fc2."),
    ("ls1.gamma", "ls1"),
    ("ls2.gamma", "ls2"),
)
#: official keys that only training uses (UTA distillation decoders, CLIP teacher tables, ITM, MLM, audio)
_TRAINING_ONLY = ("clip_decoder.", "final_clip_decoder.", "clip_pos_embed", "clip_img_pos_embed")


def unwrap_checkpoint(obj: Any) -> dict[str, torch.Tensor]:
    """The state dict inside an official file (deepspeed ``module``, ``model`` or a bare dict)."""
    for key in ("module", "model", "state_dict"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelUnavailableError("not an InternVideo2 checkpoint: expected a dict of tensors")
    return dict(obj)


def convert_checkpoint(state: Mapping[str, torch.Tensor], cfg: InternVideo2Config) -> dict[str, torch.Tensor]:
    """Map an official stage-2 (or vision-only) state dict onto :class:`InternVideo2Model`'s keys.

    Args:
        state: the official keys (``vision_encoder.*``, ``text_encoder.bert.*``, ``vision_proj.*``, ...), or a
            bare vision encoder's keys.
        cfg: the target shape; position tables are resized to its frame count and image size.

    Returns:
        A state dict for ``InternVideo2Model(cfg).load_state_dict``.
    """
    out: dict[str, torch.Tensor] = {}
    bare = not any(k.startswith("vision_encoder.") for k in state)
    for key, value in state.items():
        if bare or key.startswith("vision_encoder."):
            name = key if bare else key[len("vision_encoder.") :]
            if not name.startswith(_TRAINING_ONLY):
                out["vision." + _rename(name)] = value
        elif key.startswith(("vision_proj.", "text_proj.")):
            out[key] = value
        elif key.startswith("text_encoder.bert.") and cfg.text is not None:
            name = key[len("text_encoder.bert.") :]
            if _text_layer(name) < cfg.text["num_hidden_layers"] and not name.endswith("position_ids"):
                out["text." + name] = value
    side = None  # the checkpoint's spatial grid, read from its image table (1 + side * side rows)
    if "vision.img_pos_embed" in out:
        side = math.isqrt(out["vision.img_pos_embed"].shape[1] - 1)
    for name, size in (("vision.pos_embed", cfg.grid), ("vision.img_pos_embed", (1, *cfg.grid[1:]))):
        if name in out:
            out[name] = resize_positions(out[name], size, source=(side, side) if side else None)
    return out


def _rename(name: str) -> str:
    for old, new in _VISION_RENAMES:
        if old in name:
            return name.replace(old, new)
    return name


def _text_layer(name: str) -> int:
    """Layer index of a BERT key (``encoder.layer.N.…``), -1 for embeddings."""
    parts = name.split(".")
    return int(parts[2]) if name.startswith("encoder.layer.") else -1


def resize_positions(
    pos: torch.Tensor, grid: tuple[int, int, int], *, source: tuple[int, int] | None = None
) -> torch.Tensor:
    """Resize a ``[1, 1 + t*h*w, C]`` table (CLS first) to ``grid``: linear in time, bicubic in space.

    Args:
        pos: the table.
        grid: ``(t, h, w)`` wanted.
        source: the table's spatial ``(h, w)`` (a checkpoint's image table tells it); without it, the target's
            spatial size when it divides the length, else a square grid.
    """
    t_new, h_new, w_new = grid
    cls, rest = pos[:, :1], pos[:, 1:].float()
    n, c = rest.shape[1:]
    if source is not None:
        h_old, w_old = source
        if n % (h_old * w_old):
            raise ModelUnavailableError(f"position table of {n} tokens is not t x {h_old} x {w_old}")
    else:
        h_old, w_old = (h_new, w_new) if n % (h_new * w_new) == 0 else (_square_side(n),) * 2
    t_old = n // (h_old * w_old)
    if (t_old, h_old, w_old) == grid:
        return pos
    x = rest.view(1, t_old, h_old * w_old, c)
    if t_old != t_new:
        x = x.permute(0, 2, 3, 1).reshape(1, h_old * w_old * c, t_old)
        x = F.interpolate(x, size=t_new, mode="linear", align_corners=False)
        x = x.view(1, h_old * w_old, c, t_new).permute(0, 3, 1, 2)
    if (h_old, w_old) != (h_new, w_new):
        x = x.reshape(t_new, h_old, w_old, c).permute(0, 3, 1, 2)
        x = F.interpolate(x, size=(h_new, w_new), mode="bicubic", align_corners=False)
        x = x.permute(0, 2, 3, 1)
    return torch.cat([cls, x.reshape(1, -1, c).to(pos.dtype)], dim=1)


def _square_side(n: int) -> int:
    for t in (1, 2, 4, 8, 16, 32):
        side = math.isqrt(n // t)
        if n % t == 0 and side * side * t == n:
            return side
    raise ModelUnavailableError(f"position table of {n} tokens is not a t x s x s grid")


def build_model(cfg: InternVideo2Config, state: Mapping[str, torch.Tensor]) -> InternVideo2Model:
    """An :class:`InternVideo2Model` holding the converted ``state``; every parameter must be covered.

    Raises:
        ModelUnavailableError: the checkpoint lacks weights for part of the model or has the wrong shapes.
    """
    model = InternVideo2Model(cfg)
    converted = convert_checkpoint(state, cfg)
    expected = model.state_dict()
    missing = sorted(
        k for k in expected if k not in converted and not k.endswith(("position_ids", "token_type_ids"))
    )
    wrong = sorted(k for k, v in converted.items() if k in expected and v.shape != expected[k].shape)
    if missing or wrong:
        shown = ", ".join((missing + wrong)[:4])
        raise ModelUnavailableError(
            f"InternVideo2 checkpoint does not fit the {cfg.embed_dim}-d x {cfg.depth} architecture "
            f"({len(missing)} missing, {len(wrong)} mis-shaped: {shown}, ...); pick the matching "
            "registry name (internvideo2-1b / internvideo2-6b) or write the architecture into config.json"
        )
    model.load_state_dict({k: v for k, v in converted.items() if k in expected}, strict=False)
    return model


# ---------------------------------------------------------------- encoder


class InternVideo2Encoder(VideoEncoder):
    """InternVideo2 clip vectors (attention-pooled, projected) and BERT text vectors in the same space."""

    def __init__(self, model: InternVideo2Model, tokenizer: Any, spec: EncoderSpec, runtime: Runtime) -> None:
        self.model, self.tokenizer = model, tokenizer
        super().__init__(spec, runtime)

    def _embed(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.video_features(pixels)

    def _tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """Patch tokens of the last block (CLS dropped): ``[B, t*h*w, embed_dim]``."""
        return self.model.vision.tokens(pixels)[:, 1:]

    def _text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        return self.model.text_features(input_ids, attention_mask)


def make_spec(cfg: InternVideo2Config, *, name: str, source: str, test_only: bool = False) -> EncoderSpec:
    """Spec: squash-resize to the input size (bicubic), ImageNet mean/std, frames spread over the span."""
    return EncoderSpec(
        name=name,
        family="internvideo2",
        source=source,
        modality="video",
        dim=cfg.proj_dim,
        frames=cfg.num_frames,
        fps=None,
        input_size=(cfg.image_size, cfg.image_size),
        resize_shortest=None,
        resample="bicubic",
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        has_text=cfg.text is not None,
        token_grid=cfg.grid,
        license="random weights (tests only)" if test_only else LICENSE,
        test_only=test_only,
        text_max_length=cfg.text_max_length if cfg.text is not None else None,
    )


def load(
    source: str, runtime: Runtime, *, name: str | None = None, local: bool = False, frames: int | None = None
) -> InternVideo2Encoder:
    """Load an official InternVideo2 checkpoint from a hub repo or a local directory.

    Args:
        source: hub repo id or a directory holding the ``.pt`` file (and optionally ``config.json`` with
            ``{"model_type": "internvideo2", "arch": "1b"}`` or explicit config fields, and tokenizer files).
        runtime: device, dtype, batch size.
        name: registry name (picks the architecture and weights file).
        local: ``source`` is a directory.
        frames: frames per clip; the position table is resized (linearly in time) when it differs.

    Raises:
        WeightsUnavailableError: hub weights neither cached nor downloadable.
        ModelUnavailableError: the file does not fit the architecture.
    """
    cfg, weights, tokenizer_source = _resolve(source, name=name, local=local)
    if frames is not None:
        cfg = dataclasses.replace(cfg, num_frames=frames)
    state = unwrap_checkpoint(torch.load(weights, map_location="cpu", weights_only=True, mmap=True))
    model = build_model(cfg, state)
    tokenizer = None
    if cfg.text is not None:
        tok_local = Path(tokenizer_source).is_dir()
        tokenizer = load_tokenizer(tokenizer_source, local=tok_local)
    spec = make_spec(cfg, name=name or source, source=source)
    return InternVideo2Encoder(
        cast(InternVideo2Model, prepare_model(model, runtime)), tokenizer, spec, runtime
    )


def _resolve(source: str, *, name: str | None, local: bool) -> tuple[InternVideo2Config, Path, str]:
    """Architecture, weights path and tokenizer source of ``source``."""
    repo, filename, arch = CHECKPOINTS.get(name or "", (source, None, None))
    if not local and source not in (name, repo):  # a registered architecture from another hub repo
        repo, filename = source, None
    if local:
        root = Path(source)
        cfg = _config_from_dir(root) or (ARCHS[arch] if arch else None)
        files = sorted(p for p in root.iterdir() if p.suffix in _WEIGHT_SUFFIXES)
        if cfg is None or not files:
            raise ModelUnavailableError(
                f"{source}: needs one InternVideo2 .pt/.pth/.bin file and a config.json "
                '({"model_type": "internvideo2", "arch": "1b"}), or a registered name with source=DIR'
            )
        has_tok = (root / "vocab.txt").is_file() or (root / "tokenizer.json").is_file()
        return cfg, files[0], str(root) if has_tok else TOKENIZER
    if arch is None:
        raise ConfigError(
            f"{source}: unknown InternVideo2 checkpoint; use a registered name ({', '.join(CHECKPOINTS)}) "
            "or a local directory"
        )
    path = hub_file(repo, filename) if filename else None
    if path is None:
        path = _only_weights_file(repo)
    return ARCHS[arch], path, TOKENIZER


def _only_weights_file(repo: str) -> Path:
    """The single ``.pt``-like file of a hub repo (when the expected file name is absent)."""
    from huggingface_hub import HfApi

    files = [] if is_offline() else [f for f in HfApi().list_repo_files(repo) if f.endswith(_WEIGHT_SUFFIXES)]
    path = hub_file(repo, files[0]) if len(files) == 1 else None
    if path is None:
        raise ModelUnavailableError(
            f"{repo}: no single InternVideo2 weights file found ({files or 'none listed'}); download it and "
            "pass the directory as source"
        )
    return path


def _config_from_dir(root: Path) -> InternVideo2Config | None:
    path = root / CONFIG_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("model_type") != MODEL_TYPE:
        raise ConfigError(f"{path}: model_type is {data.get('model_type')!r}, expected {MODEL_TYPE!r}")
    base = ARCHS[data["arch"]] if "arch" in data else InternVideo2Config()
    fields = {f.name for f in dataclasses.fields(InternVideo2Config)}
    unknown = sorted(set(data) - fields - {"model_type", "arch"})
    if unknown:
        raise ConfigError(f"{path}: unknown InternVideo2 config keys {unknown}; valid: {sorted(fields)}")
    return dataclasses.replace(base, **{k: v for k, v in data.items() if k in fields})


# ---------------------------------------------------------------- tiny variant


def tiny_config() -> InternVideo2Config:
    """2 blocks, 32-d, 4 heads, 4 frames of 32x32, 3-layer (2 below fusion) 32-d BERT, 16-d space (tests)."""
    text = {
        "vocab_size": 82,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 64,
        "max_position_embeddings": 32,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
    }
    return InternVideo2Config(
        embed_dim=32,
        depth=2,
        num_heads=4,
        mlp_hidden=64,
        patch_size=8,
        image_size=32,
        num_frames=4,
        pool_heads=4,
        clip_embed_dim=24,
        proj_dim=16,
        text=text,
        text_max_length=32,
    )


def create_tiny(runtime: Runtime, *, frames: int | None = None) -> InternVideo2Encoder:
    """``internvideo2-test``: random weights, seeded, no download. Tests and CI only."""
    from vrag.encoders._tiny import tiny_tokenizer

    cfg = tiny_config()
    if frames is not None:
        cfg = dataclasses.replace(cfg, num_frames=frames)
    model = cast(InternVideo2Model, build_seeded(lambda: InternVideo2Model(cfg)))
    spec = make_spec(cfg, name="internvideo2-test", source="random-init", test_only=True)
    prepared = cast(InternVideo2Model, prepare_model(model, runtime))
    return InternVideo2Encoder(prepared, tiny_tokenizer(), spec, runtime)
