"""The LV-MAE-style sequence model (torch): encoder, masked-embedding decoder and attentive probe.

Shapes: ``B`` sequences of at most ``max_len`` segment embeddings of size ``dim``; ``keep`` masks are
``[B, L]`` booleans, True where a token may be attended to (not padding, and not masked out during
pretraining). A token that is not kept never influences any other token, so outputs do not depend on
padding.

- :class:`SequenceEncoder`: ``Linear(dim → hidden)`` + a ``[CLS]`` token + fixed 1D sin-cos positions, then
  pre-norm transformer blocks (LV-MAE, arXiv 2504.03501, at a much smaller size).
- :class:`Decoder`: a narrower transformer that sees the encoder's visible tokens plus a learned mask token at
  every masked position and predicts the masked embeddings.
- :class:`AttentiveProbe`: ``K`` learned slots (offset by the ``[CLS]`` state) that compete for the segments
  (softmax over slots, a few rounds); each video vector is the attention-weighted mean of the *input*
  segment embeddings plus a learned correction, so the outputs live in the segments' space from the start.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vrag.errors import ConfigError

__all__ = ["LVMAE", "AttentiveProbe", "Decoder", "LVMAEConfig", "SequenceEncoder", "sincos_positions"]

MASKINGS = ("random", "semantic")


@dataclass(frozen=True, slots=True)
class LVMAEConfig:
    """Size and training objective of an ``lvmae`` aggregator (saved with its checkpoint).

    Attributes:
        dim: segment embedding size (input and output); 0 = take it from the data.
        k: video vectors per video (attentive-probe slots).
        hidden: encoder width.
        depth: encoder blocks.
        heads: attention heads (encoder and decoder).
        decoder_hidden: decoder width.
        decoder_depth: decoder blocks.
        max_len: segment tokens per window; longer videos are encoded in windows of this many.
        probe_iters: rounds of slot competition in the probe.
        refine: soft k-means rounds after the probe, in the segments' space (learned temperature): each
            vector moves to the weighted mean of the segments it matches best.
        mask_ratio: share of segment embeddings masked during pretraining.
        masking: ``"random"``, or ``"semantic"``: mask the embeddings least similar to their predecessor
            (the scene changes), which are the hardest to reconstruct.
        coverage_weight: weight of the coverage term ``1 - mean_i max_k cos(segment_i, video_k)``.
        contrast_weight: weight of the segment→video InfoNCE term (segments must match their own video's
            vectors better than other videos' in the batch), which keeps video vectors distinctive.
        temperature: temperature of the InfoNCE term.
    """

    dim: int = 0
    k: int = 8
    hidden: int = 128
    depth: int = 2
    heads: int = 4
    decoder_hidden: int = 64
    decoder_depth: int = 1
    max_len: int = 256
    probe_iters: int = 3
    refine: int = 2
    mask_ratio: float = 0.5
    masking: str = "random"
    coverage_weight: float = 1.0
    contrast_weight: float = 0.5
    temperature: float = 0.05

    def __post_init__(self) -> None:
        ints = {"k": self.k, "hidden": self.hidden, "depth": self.depth, "heads": self.heads}
        ints |= {
            "decoder_hidden": self.decoder_hidden,
            "max_len": self.max_len,
            "probe_iters": self.probe_iters,
        }
        bad = [f"{n}={v}" for n, v in ints.items() if v < 1]
        bad += [f"{n}={v}" for n, v in (("dim", self.dim), ("refine", self.refine)) if v < 0]
        if self.hidden % self.heads or self.decoder_hidden % self.heads:
            bad.append(f"hidden/decoder_hidden must be multiples of heads={self.heads}")
        if not 0.0 < self.mask_ratio < 1.0:
            bad.append(f"mask_ratio={self.mask_ratio} (must be in (0, 1))")
        if self.masking not in MASKINGS:
            bad.append(f"masking={self.masking!r} (use one of {', '.join(MASKINGS)})")
        if bad:
            raise ConfigError(f"lvmae aggregator config: invalid {'; '.join(bad)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LVMAEConfig:
        """Build from a saved record; unknown keys raise (a newer checkpoint format)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"lvmae config has unknown keys {unknown}; upgrade vrag or retrain the aggregator"
            )
        return cls(**data)


def sincos_positions(length: int, width: int) -> torch.Tensor:
    """Fixed 1D sine-cosine position table ``[length, width]`` (position 0 is the ``[CLS]`` token)."""
    half = width // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / max(half, 1))
    angles = torch.arange(length, dtype=torch.float64)[:, None] * freq[None, :]
    table = torch.zeros(length, width, dtype=torch.float64)
    table[:, :half] = torch.sin(angles)
    table[:, half : 2 * half] = torch.cos(angles)
    return table.float()


class Block(nn.Module):
    """Pre-norm transformer block; ``keep`` [B, L] says which tokens may be attended to."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        b, n, w = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])
        x = x + self.proj(att.transpose(1, 2).reshape(b, n, w))
        return x + self.mlp(self.norm2(x))


class SequenceEncoder(nn.Module):
    """``[CLS]`` + segment tokens with sin-cos positions through ``depth`` blocks."""

    pos: torch.Tensor

    def __init__(self, cfg: LVMAEConfig) -> None:
        super().__init__()
        self.embed = nn.Linear(cfg.dim, cfg.hidden)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.hidden))
        self.register_buffer("pos", sincos_positions(cfg.max_len + 1, cfg.hidden), persistent=False)
        self.blocks = nn.ModuleList(Block(cfg.hidden, cfg.heads) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.hidden)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """``x`` [B, L, dim], ``keep`` [B, L] → ``[B, 1 + L, hidden]`` (index 0 is ``[CLS]``)."""
        b, n, _ = x.shape
        tokens = torch.cat([self.cls.expand(b, 1, -1), self.embed(x)], dim=1) + self.pos[: n + 1]
        keep = torch.cat([keep.new_ones(b, 1), keep], dim=1)
        for block in self.blocks:
            tokens = block(tokens, keep)
        return self.norm(tokens)


class Decoder(nn.Module):
    """Predicts every segment embedding from the visible tokens and mask tokens at masked positions."""

    pos: torch.Tensor

    def __init__(self, cfg: LVMAEConfig) -> None:
        super().__init__()
        self.embed = nn.Linear(cfg.hidden, cfg.decoder_hidden)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.decoder_hidden))
        self.register_buffer("pos", sincos_positions(cfg.max_len + 1, cfg.decoder_hidden), persistent=False)
        self.blocks = nn.ModuleList(Block(cfg.decoder_hidden, cfg.heads) for _ in range(cfg.decoder_depth))
        self.norm = nn.LayerNorm(cfg.decoder_hidden)
        self.head = nn.Linear(cfg.decoder_hidden, cfg.dim)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, h: torch.Tensor, visible: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``h`` [B, 1 + L, hidden] encoder output → predictions ``[B, L, dim]``."""
        z = self.embed(h)
        seg = torch.where(visible[..., None], z[:, 1:], self.mask_token.to(z.dtype))
        tokens = torch.cat([z[:, :1], seg], dim=1) + self.pos[: h.shape[1]]
        keep = torch.cat([valid.new_ones(valid.shape[0], 1), valid], dim=1)
        for block in self.blocks:
            tokens = block(tokens, keep)
        return self.head(self.norm(tokens))[:, 1:]


class AttentiveProbe(nn.Module):
    """``K`` slots compete for the segment tokens; each returns a unit vector in the segments' space."""

    def __init__(self, cfg: LVMAEConfig) -> None:
        super().__init__()
        w = cfg.hidden
        self.iters, self.scale = cfg.probe_iters, w**-0.5
        self.slots = nn.Parameter(torch.randn(1, cfg.k, w))
        self.from_cls = nn.Linear(w, w)
        self.norm_tokens, self.norm_slots, self.norm_read = nn.LayerNorm(w), nn.LayerNorm(w), nn.LayerNorm(w)
        self.to_q, self.to_k, self.to_v = nn.Linear(w, w), nn.Linear(w, w), nn.Linear(w, w)
        self.update = nn.Sequential(nn.Linear(w, 2 * w), nn.GELU(), nn.Linear(2 * w, w))
        self.out = nn.Linear(w, cfg.dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.refine = cfg.refine
        self.log_tau = nn.Parameter(torch.tensor(math.log(0.05)))

    def forward(
        self, cls: torch.Tensor, h: torch.Tensor, x: torch.Tensor, keep: torch.Tensor
    ) -> torch.Tensor:
        """Video vectors ``[B, K, dim]`` from ``cls`` [B, w], ``h`` [B, N, w], inputs ``x`` [B, N, dim]."""
        tokens = self.norm_tokens(h)
        keys, values = self.to_k(tokens), self.to_v(tokens)
        slots = self.slots + self.from_cls(cls)[:, None, :]
        weights = keys.new_zeros(keys.shape[0], self.slots.shape[1], keys.shape[1])
        for _ in range(self.iters):
            logits = torch.einsum("bkw,bnw->bkn", self.to_q(self.norm_slots(slots)), keys) * self.scale
            share = logits.softmax(dim=1) * keep[:, None, :].to(logits.dtype)
            weights = share / share.sum(dim=-1, keepdim=True).clamp_min(1e-6)
            slots = slots + self.update(self.norm_read(weights @ values))
        correction = self.out(slots)
        vectors = F.normalize(weights @ x + correction, dim=-1)
        for _ in range(self.refine):  # soft k-means rounds in the segments' own space
            logits = torch.einsum("bkd,bnd->bkn", vectors, x) / self.log_tau.exp()
            share = logits.softmax(dim=1) * keep[:, None, :].to(logits.dtype)
            weights = share / share.sum(dim=-1, keepdim=True).clamp_min(1e-6)
            vectors = F.normalize(weights @ x + correction, dim=-1)
        return vectors


class LVMAE(nn.Module):
    """Encoder + decoder (pretraining only) + attentive probe (the video vectors)."""

    def __init__(self, cfg: LVMAEConfig) -> None:
        super().__init__()
        if cfg.dim < 1:
            raise ConfigError(
                "lvmae aggregator: set dim (the segment embedding size) before building the model"
            )
        self.cfg = cfg
        self.encoder, self.decoder, self.probe = SequenceEncoder(cfg), Decoder(cfg), AttentiveProbe(cfg)

    def reconstruct(self, x: torch.Tensor, visible: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Predictions ``[B, L, dim]`` of every segment from the visible ones only."""
        return self.decoder(self.encoder(x, visible & valid), visible, valid)

    def video_vectors(
        self, windows: torch.Tensor, valid: torch.Tensor, owner: list[list[int]]
    ) -> torch.Tensor:
        """Video vectors ``[V, K, dim]`` from windows ``[W, L, dim]`` (``valid`` [W, L]).

        ``owner[v]`` lists the windows of video ``v`` in order; the probe reads all of a video's windows at
        once (the ``[CLS]`` states are averaged), so videos longer than ``max_len`` are covered in full.
        """
        h = self.encoder(windows, valid)
        cls, tokens = h[:, 0], h[:, 1:]
        groups = [(cls[ids].mean(0), tokens[ids][valid[ids]], windows[ids][valid[ids]]) for ids in owner]
        n = max(len(g[1]) for g in groups)
        pad = windows.new_zeros
        t = torch.stack([torch.cat([g[1], pad(n - len(g[1]), g[1].shape[1])]) for g in groups])
        xs = torch.stack([torch.cat([g[2], pad(n - len(g[2]), g[2].shape[1])]) for g in groups])
        keep = torch.stack([torch.arange(n, device=t.device) < len(g[1]) for g in groups])
        return self.probe(torch.stack([g[0] for g in groups]), t, xs, keep)
