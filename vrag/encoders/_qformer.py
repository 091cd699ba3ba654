"""Q-Former pooling: K learned queries cross-attend to a base video encoder's tokens → K vectors per clip.

The pooler is transformers' ``InstructBlipVideoQFormerModel`` (BLIP-2 blocks: self-attention over the queries
and an optional instruction, cross-attention into the clip's tokens every ``cross_attention_every`` layers, a
separate feed-forward for query positions), preceded by a LayerNorm on the base tokens and followed by an
optional projection. A clip becomes ``K`` L2-normalised vectors (a Qdrant multivector, scored by MaxSim)
plus one pooled vector (their normalised mean). Text reaches the same space through a frozen sentence encoder
(the bundled MiniLM by default) and a trained linear projection.

Sources: ``qformer-test`` (random, tests only), a directory written by :meth:`QFormerEncoder.save` /
``vrag train qformer``, or an InternVideo2-Chat checkpoint (its 32 + 64 query Q-Former, see
:func:`convert_internvideo2_chat`; no text projection until trained). The chat model's Q-Former read its own
ViT's second-to-last layer; here it reads the last-layer tokens of the ``base`` encoder you name, so treat the
converted weights as a starting point to fine-tune with ``vrag train qformer``, not as the chat pooler.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vrag.encoders._base import ClipsInput, Runtime, VideoEncoder, build_seeded, check_texts, prepare_model
from vrag.encoders._spec import EncoderSpec
from vrag.errors import ConfigError, ModelUnavailableError

__all__ = [
    "PoolerConfig",
    "QFormerEncoder",
    "QFormerPooler",
    "convert_internvideo2_chat",
    "create_tiny",
    "load",
    "read_internvideo2_chat",
]

MODEL_TYPE = "vrag-qformer"
FORMAT = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
DEFAULT_TEXT_ENCODER = "minilm"
NO_TEXT = (
    "this Q-Former pooler has no text projection (text_dim is None); train one with "
    "`vrag train qformer DATA_DIR` to query it with text"
)


@dataclasses.dataclass(frozen=True, slots=True)
class PoolerConfig:
    """Shape of a Q-Former pooler.

    Attributes:
        encoder_width: width of the base encoder's tokens (what cross-attention reads).
        num_queries: ``K``, learned query tokens = vectors per clip.
        hidden_size: Q-Former width.
        num_layers: Q-Former blocks.
        num_heads: attention heads.
        intermediate_size: feed-forward width.
        cross_attention_every: block ``i`` cross-attends to the clip when ``i % cross_attention_every == 0``.
        embed_dim: output projection size; ``None`` keeps the Q-Former's hidden states (``hidden_size``).
        text_dim: input size of the text projection (the sentence encoder's dim); ``None``: no text tower.
        input_norm: LayerNorm the base tokens first (InternVideo2-Chat's ``vision_layernorm``).
        vocab_size: instruction vocabulary (``2`` when instructions are not used).
        max_positions: longest instruction, in tokens.
        dropout: hidden and attention dropout while training.
    """

    encoder_width: int
    num_queries: int = 32
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    cross_attention_every: int = 2
    embed_dim: int | None = 256
    text_dim: int | None = 384
    input_norm: bool = True
    vocab_size: int = 2
    max_positions: int = 32
    dropout: float = 0.1

    @property
    def out_dim(self) -> int:
        """Size of each output vector."""
        return self.embed_dim or self.hidden_size

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PoolerConfig:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: unknown or missing keys.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown or "encoder_width" not in data:
            problem = f"unknown keys {', '.join(unknown)}" if unknown else "no encoder_width"
            raise ConfigError(f"Q-Former pooler config: {problem}; write it with PoolerConfig.to_dict()")
        return cls(**data)

    def qformer_config(self) -> Any:
        """The matching ``InstructBlipVideoQFormerConfig``."""
        from transformers import InstructBlipVideoQFormerConfig

        return InstructBlipVideoQFormerConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            hidden_dropout_prob=self.dropout,
            attention_probs_dropout_prob=self.dropout,
            max_position_embeddings=self.max_positions,
            cross_attention_frequency=self.cross_attention_every,
            encoder_hidden_size=self.encoder_width,
        )


def tiny_config(encoder_width: int, *, num_queries: int = 32) -> PoolerConfig:
    """A 2-block, 64-d pooler with 32-d outputs and a MiniLM (384-d) text projection (tests only)."""
    return PoolerConfig(
        encoder_width=encoder_width,
        num_queries=num_queries,
        hidden_size=64,
        num_layers=2,
        num_heads=4,
        intermediate_size=128,
        embed_dim=32,
        text_dim=384,
        dropout=0.0,
    )


class QFormerPooler(nn.Module):
    """Base tokens ``[B, N, encoder_width]`` → ``[B, K, out_dim]`` (not normalised); text → the same space.

    Example:
        >>> pooler = QFormerPooler(tiny_config(32, num_queries=8))
        >>> pooler(torch.zeros(2, 10, 32)).shape
        torch.Size([2, 8, 32])
    """

    def __init__(self, config: PoolerConfig) -> None:
        from transformers import InstructBlipVideoQFormerModel

        super().__init__()
        self.config = config
        width = config.encoder_width
        self.input_norm: nn.Module = nn.LayerNorm(width, eps=1e-12) if config.input_norm else nn.Identity()
        self.queries = nn.Parameter(torch.randn(1, config.num_queries, config.hidden_size) * 0.02)
        self.qformer = InstructBlipVideoQFormerModel(config.qformer_config())
        self.proj: nn.Module = (
            nn.Linear(config.hidden_size, config.embed_dim) if config.embed_dim else nn.Identity()
        )
        if config.text_dim is not None:
            self.text_proj = nn.Linear(config.text_dim, config.out_dim)
            # CLIP's learned temperature, initialised to 1 / 0.07 (used by the trainer's contrastive loss)
            self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    @property
    def has_text(self) -> bool:
        return self.config.text_dim is not None

    def forward(
        self,
        tokens: torch.Tensor,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Pool a batch of token sequences, optionally conditioned on instruction ids (InstructBLIP style).

        Args:
            tokens: ``[B, N, encoder_width]`` base encoder tokens.
            input_ids: ``[B, L]`` instruction token ids appended after the queries (or ``None``).
            attention_mask: ``[B, L]`` mask of ``input_ids``.

        Returns:
            ``[B, K, out_dim]``.
        """
        b = tokens.shape[0]
        queries = self.queries.expand(b, -1, -1)
        mask = None
        if input_ids is not None:
            ones = torch.ones(b, queries.shape[1], dtype=torch.long, device=tokens.device)
            text_mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
            mask = torch.cat([ones, text_mask.to(torch.long)], dim=1)
        memory = self.input_norm(tokens)
        out = self.qformer(
            input_ids=input_ids,
            attention_mask=mask,
            query_embeds=queries.to(memory.dtype),
            encoder_hidden_states=memory,
            encoder_attention_mask=torch.ones(memory.shape[:2], dtype=torch.long, device=memory.device),
        ).last_hidden_state
        return self.proj(out[:, : queries.shape[1]])

    def embed_text(self, features: torch.Tensor) -> torch.Tensor:
        """Sentence-encoder features ``[N, text_dim]`` → ``[N, out_dim]`` (not normalised).

        Raises:
            ConfigError: the pooler has no text projection (``text_dim`` is ``None``).
        """
        if not self.has_text:
            raise ConfigError(NO_TEXT)
        return self.text_proj(features)


# ---------------------------------------------------------------- encoder


class QFormerEncoder(VideoEncoder):
    """A base video encoder + Q-Former pooler: ``K`` vectors per clip, one pooled vector, aligned text.

    Example:
        >>> from vrag.encoders import create_encoder
        >>> enc = create_encoder("qformer-test")  # random weights: tests only
        >>> clips = np.zeros((2, enc.spec.frames, 32, 32, 3), np.uint8)
        >>> enc.encode_video_multi(clips).shape == (2, enc.num_vectors, enc.spec.dim)
        True
    """

    def __init__(
        self,
        base: VideoEncoder,
        pooler: QFormerPooler,
        spec: EncoderSpec,
        *,
        text_encoder: str | None = DEFAULT_TEXT_ENCODER,
        base_name: str = "",
    ) -> None:
        self.base, self.pooler = base, pooler
        self.text_encoder_name, self.base_name = text_encoder, base_name or base.spec.name
        self.fixed_frames = base.fixed_frames
        self._text_tower: Any = None
        super().__init__(spec, base.runtime)

    @property
    def num_vectors(self) -> int:
        """``K``: vectors per clip from :meth:`encode_video_multi`."""
        return self.pooler.config.num_queries

    def encode_video_multi(self, clips: ClipsInput, *, batch_size: int | None = None) -> np.ndarray:
        """``K`` vectors per clip, for MaxSim (multivector) search.

        Args:
            clips: as for :meth:`encode_video`.
            batch_size: clips per forward pass.

        Returns:
            float32 ``[B, K, dim]``, each vector L2-normalised.
        """
        return F.normalize(self._run(clips, self._multi, batch_size), dim=-1).numpy()

    def encode_text(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Text queries in the pooler's space: frozen sentence encoder + the trained projection.

        Returns:
            float32 ``[N, dim]``, L2-normalised; score against :meth:`encode_video_multi` by MaxSim or against
            :meth:`encode_video` by dot product.

        Raises:
            ConfigError: the pooler has no text projection.
        """
        if not self.spec.has_text or self.text_encoder_name is None:
            raise ConfigError(f"encoder {self.spec.name!r}: {NO_TEXT}")
        features = self.text_features(check_texts(texts), batch_size=batch_size)
        with torch.inference_mode(), self._context():
            out = self.pooler.embed_text(features.to(self.runtime.device, self._param_dtype()))
        return F.normalize(out.float().cpu(), dim=-1).numpy()

    def text_features(self, texts: Sequence[str], *, batch_size: int | None = None) -> torch.Tensor:
        """The frozen sentence encoder's vectors ``[N, text_dim]`` (what the text projection reads)."""
        if self._text_tower is None:
            from vrag.encoders._catalog import create_encoder

            self._text_tower = create_encoder(str(self.text_encoder_name), device=str(self.runtime.device))
        return torch.from_numpy(self._text_tower.encode_query(list(texts), batch_size=batch_size))

    def save(self, directory: str | Path, *, extra: Mapping[str, Any] | None = None) -> Path:
        """Write ``config.json`` + ``model.safetensors``; load with ``create_encoder("qformer", source=DIR)``.

        Args:
            directory: created if missing.
            extra: more JSON-able facts to record (e.g. training metrics).

        Returns:
            The directory.
        """
        return save_pooler(
            self.pooler, directory, base=self.base_name, text_encoder=self.text_encoder_name, extra=extra
        )

    # -- family hooks
    def _multi(self, pixels: torch.Tensor) -> torch.Tensor:
        tokens = self.base._tokens(pixels)
        if tokens.shape[-1] != self.pooler.config.encoder_width:
            raise ConfigError(
                f"Q-Former pooler reads {self.pooler.config.encoder_width}-d tokens but base encoder "
                f"{self.base_name!r} gives {tokens.shape[-1]}-d; pass the base it was trained on (base=...)"
            )
        return self.pooler(tokens)

    def _embed(self, pixels: torch.Tensor) -> torch.Tensor:
        return F.normalize(self._multi(pixels).float(), dim=-1).mean(dim=1)

    def _tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.base._tokens(pixels)

    def _param_dtype(self) -> torch.dtype:
        return next(self.pooler.parameters()).dtype


def make_spec(
    base: EncoderSpec, config: PoolerConfig, *, name: str, source: str, test_only: bool
) -> EncoderSpec:
    """The pooler's contract: the base's decode/preprocess contract, the pooler's dim and text alignment."""
    return dataclasses.replace(
        base,
        name=name,
        family="qformer",
        source=source,
        dim=config.out_dim,
        has_text=config.text_dim is not None,
        token_grid=base.token_grid,
        test_only=test_only or base.test_only,
        license="random weights (tests only)" if test_only else base.license,
        text_max_length=None,
        text_pad_to_max=False,
        vectors=config.num_queries,
    )


def wrap(
    base: VideoEncoder,
    pooler: QFormerPooler,
    *,
    name: str,
    source: str,
    test_only: bool = False,
    text_encoder: str | None = DEFAULT_TEXT_ENCODER,
    base_name: str = "",
) -> QFormerEncoder:
    """Put ``pooler`` on the base's device / dtype and wrap both as one encoder.

    The base's token width is checked on the first clip (a mismatch raises :class:`ConfigError`).
    """
    spec = make_spec(base.spec, pooler.config, name=name, source=source, test_only=test_only)
    prepare_model(pooler, base.runtime)
    return QFormerEncoder(
        base, pooler, spec, text_encoder=text_encoder if pooler.has_text else None, base_name=base_name
    )


def create_tiny(runtime: Runtime) -> QFormerEncoder:
    """``qformer-test``: a random tiny pooler (K=32) over ``videomae-test``. Tests and CI only."""
    from vrag.encoders._videomae import create_tiny as tiny_base

    base = tiny_base(runtime)
    pooler = cast(
        QFormerPooler, build_seeded(lambda: _signal_preserving(QFormerPooler(tiny_config(base.spec.dim))))
    )
    return wrap(
        base, pooler, name="qformer-test", source="random-init", test_only=True, base_name="videomae-test"
    )


def _signal_preserving(pooler: QFormerPooler) -> QFormerPooler:
    """Re-draw linear weights with std ``1/sqrt(fan_in)``: BERT's 0.02 init leaves a random pooler's output
    almost independent of the clip (the cross-attention branch is ~1 % of the residual); tests need clips to
    stay distinguishable through a random pooler."""
    with torch.no_grad():
        for module in pooler.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, module.in_features**-0.5)
    return pooler


# ---------------------------------------------------------------- save / load


def save_pooler(
    pooler: QFormerPooler,
    directory: str | Path,
    *,
    base: str,
    text_encoder: str | None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a pooler directory: ``config.json`` (model_type ``vrag-qformer``) and ``model.safetensors``."""
    from safetensors.torch import save_file

    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in pooler.state_dict().items()}
    save_file(state, str(path / WEIGHTS_FILE))
    record = {
        "model_type": MODEL_TYPE,
        "format": FORMAT,
        "base": base,
        "text_encoder": text_encoder,
        "pooler": pooler.config.to_dict(),
        **(dict(extra) if extra else {}),
    }
    (path / CONFIG_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def read_pooler(directory: str | Path) -> tuple[QFormerPooler, dict[str, Any]]:
    """Load a pooler directory: the module (fp32, eval mode) and its ``config.json`` record.

    Raises:
        ModelUnavailableError: not a pooler directory, another format version, or weights that do not fit.
    """
    from safetensors.torch import load_file

    path = Path(directory)
    record = _read_record(path)
    pooler = QFormerPooler(PoolerConfig.from_dict(record["pooler"]))
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelUnavailableError(f"{path}: no {WEIGHTS_FILE}; save the pooler again (QFormerEncoder.save)")
    result = pooler.load_state_dict(load_file(str(weights)), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ModelUnavailableError(
            f"{weights}: weights do not fit the pooler config (missing {result.missing_keys[:3]}, unexpected "
            f"{result.unexpected_keys[:3]}); write the directory again with vrag train qformer"
        )
    return pooler.eval(), record


def _read_record(path: Path) -> dict[str, Any]:
    config = path / CONFIG_FILE
    record = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
    if not isinstance(record, dict) or record.get("model_type") != MODEL_TYPE:
        raise ModelUnavailableError(
            f"{path}: not a Q-Former pooler directory (no {CONFIG_FILE} with model_type {MODEL_TYPE!r}); "
            "pass a directory written by `vrag train qformer`"
        )
    if record.get("format") != FORMAT:
        raise ModelUnavailableError(
            f"{path}: pooler format {record.get('format')!r}, this vrag reads {FORMAT}; "
            "retrain it or upgrade vrag"
        )
    return record


def is_pooler_dir(path: str | Path) -> bool:
    """Whether ``path`` holds a pooler written by :func:`save_pooler`."""
    config = Path(path) / CONFIG_FILE
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("model_type") == MODEL_TYPE
    except (ValueError, AttributeError):
        return False


def load(
    source: str, runtime: Runtime, *, name: str | None = None, local: bool = True, base: str | None = None
) -> QFormerEncoder:
    """Load a trained pooler directory and the base encoder it records (or ``base``, a name or directory).

    Raises:
        ModelUnavailableError: not a pooler directory (see :func:`read_pooler`).
        ConfigError: the base gives tokens of another width than the pooler reads.
    """
    path = Path(source).expanduser()
    pooler, record = read_pooler(path)
    base_name = base or str(record["base"])
    encoder = _base_encoder(base_name, runtime)
    text = record.get("text_encoder")
    return wrap(
        encoder, pooler, name=name or str(path), source=str(path), text_encoder=text, base_name=base_name
    )


def _base_encoder(name: str, runtime: Runtime) -> VideoEncoder:
    from vrag.encoders._catalog import create_encoder

    device, batch = str(runtime.device), runtime.batch_size
    encoder = create_encoder(name, device=device, dtype=runtime.dtype, batch_size=batch)
    if not isinstance(encoder, VideoEncoder):
        raise ConfigError(f"Q-Former base {name!r} is a text encoder; pass a video encoder as base")
    return encoder


def load_any(source: str | None, runtime: Runtime, *, base: str | None = None) -> QFormerEncoder:
    """The ``qformer`` registry entry: a trained pooler directory, or an InternVideo2-Chat checkpoint.

    Raises:
        ConfigError: no source, or a chat checkpoint without a base encoder.
    """
    if source is None:
        raise ConfigError(
            "encoder 'qformer' needs source=DIR (a directory written by `vrag train qformer`) or "
            "source=CHECKPOINT with base=NAME (an InternVideo2-Chat checkpoint); for tests use 'qformer-test'"
        )
    path = Path(source).expanduser()
    if is_pooler_dir(path):
        return load(str(path), runtime, name="qformer", base=base)
    if base is None:
        raise ConfigError(
            f"{source}: not a trained pooler directory; for an InternVideo2-Chat checkpoint pass the video "
            "encoder whose tokens it reads as base=NAME (e.g. internvideo2-1b; its last-layer tokens)"
        )
    encoder = _base_encoder(base, runtime)
    config, state = convert_internvideo2_chat(read_internvideo2_chat(path))
    pooler = QFormerPooler(config)
    try:
        pooler.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ModelUnavailableError(f"{path}: not a loadable InternVideo2-Chat Q-Former ({err})") from err
    return wrap(encoder, pooler, name="qformer", source=str(path), text_encoder=None, base_name=base)


# ---------------------------------------------------------------- InternVideo2-Chat weights

_CHAT_QUERIES = "query_tokens"
_CHAT_EXTRA = "extra_query_tokens"
_CHAT_KEEP = ("query_tokens", "extra_query_tokens", "vision_layernorm.", "qformer.bert.")
_LAYER = re.compile(r"encoder\.layer\.(\d+)\.")


def read_internvideo2_chat(path: str | Path) -> dict[str, torch.Tensor]:
    """The bridge tensors (queries, ``vision_layernorm``, ``qformer.bert.*``) of an InternVideo2-Chat model.

    Args:
        path: a ``.pt`` / ``.pth`` / ``.bin`` file (optionally nested under ``"model"`` or ``"module"``), a
            ``.safetensors`` file, or a directory of ``*.safetensors`` shards (only the bridge tensors are
            read, never the language model).

    Raises:
        ModelUnavailableError: no such file, or no Q-Former tensors in it.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        files = sorted(p.glob("*.safetensors"))
    elif p.is_file():
        files = [p]
    else:
        raise ModelUnavailableError(
            f"{p}: no such checkpoint; pass the InternVideo2-Chat .pt file or model folder"
        )
    state: dict[str, torch.Tensor] = {}
    for file in files:
        state.update(_read_bridge(file))
    if not any(k.endswith(_CHAT_QUERIES) for k in state):
        raise ModelUnavailableError(
            f"{p}: no Q-Former tensors (query_tokens, qformer.bert.*); pass an InternVideo2-Chat checkpoint"
        )
    return state


def _read_bridge(file: Path) -> dict[str, torch.Tensor]:
    wanted = lambda key: any(part in key for part in _CHAT_KEEP)  # noqa: E731
    if file.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(file), framework="pt", device="cpu") as fh:
            return {k: fh.get_tensor(k) for k in fh.keys() if wanted(k)}  # noqa: SIM118 (not a dict)
    data = torch.load(str(file), map_location="cpu", weights_only=True)
    for nest in ("model", "module", "state_dict"):
        if isinstance(data, dict) and isinstance(data.get(nest), dict):
            data = data[nest]
    return {k: v for k, v in data.items() if isinstance(v, torch.Tensor) and wanted(k)}


def convert_internvideo2_chat(
    state: Mapping[str, torch.Tensor], *, num_heads: int | None = None
) -> tuple[PoolerConfig, dict[str, torch.Tensor]]:
    """Map an InternVideo2-Chat bridge (LAVIS ``BertModel`` layout) onto :class:`QFormerPooler`.

    The chat model concatenates ``query_tokens`` (32) and ``extra_query_tokens`` (64) into 96 queries,
    LayerNorms the ViT tokens (``vision_layernorm``) and runs ``qformer.bert`` with cross-attention every
    second block. Sizes are read from the tensors; the head count is not stored in a state dict, so it
    defaults to ``hidden_size // 64`` (BERT-base: 12). Keys outside the bridge (ViT, LLM, ``qformer.cls``) are
    ignored.

    Args:
        state: the checkpoint's tensors (a prefix such as ``"module."`` before all keys is allowed).
        num_heads: attention heads, when not ``hidden_size // 64``.

    Returns:
        The pooler config (no output or text projection) and a state dict that loads with ``strict=True``.

    Raises:
        ModelUnavailableError: no ``query_tokens``, or an unexpected bridge layout.
    """
    heads = (k for k in state if k.endswith(_CHAT_QUERIES) and not k.endswith(_CHAT_EXTRA))
    prefix = next((k[: -len(_CHAT_QUERIES)] for k in heads), None)
    if prefix is None:
        raise ModelUnavailableError("InternVideo2-Chat state has no query_tokens; pass the chat checkpoint")
    local = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    queries = [local[_CHAT_QUERIES]] + ([local[_CHAT_EXTRA]] if _CHAT_EXTRA in local else [])
    out: dict[str, torch.Tensor] = {"queries": torch.cat(queries, dim=1)}
    for key, value in local.items():
        new = _chat_key(key)
        if new is not None:
            out[new] = value
    return _chat_config(local, out, num_heads), out


def _chat_key(key: str) -> str | None:
    if key.startswith("vision_layernorm."):
        return "input_norm." + key.removeprefix("vision_layernorm.")
    if not key.startswith("qformer.bert.") or key.endswith("position_ids"):
        return None
    new = key.removeprefix("qformer.bert.").replace("embeddings.LayerNorm.", "embeddings.layernorm.")
    new = re.sub(r"\.(attention|crossattention)\.self\.", r".\1.attention.", new)
    return "qformer." + new


def _chat_config(
    local: Mapping[str, torch.Tensor], out: Mapping[str, torch.Tensor], num_heads: int | None
) -> PoolerConfig:
    layers = sorted({int(m.group(1)) for k in local if (m := _LAYER.search(k))})
    cross = [i for i in layers if f"qformer.bert.encoder.layer.{i}.crossattention.self.key.weight" in local]
    if not layers or not cross:
        raise ModelUnavailableError("InternVideo2-Chat state has no Q-Former blocks with cross-attention")
    every = cross[1] - cross[0] if len(cross) > 1 else len(layers)
    if cross != [i for i in layers if i % every == 0]:
        raise ModelUnavailableError(
            f"InternVideo2-Chat Q-Former cross-attends in blocks {cross}, not every {every}th block; "
            "pass an unmodified chat checkpoint"
        )
    first = "qformer.bert.encoder.layer.0."
    hidden = int(out["queries"].shape[-1])
    words = local["qformer.bert.embeddings.word_embeddings.weight"]
    return PoolerConfig(
        encoder_width=int(local[first + "crossattention.self.key.weight"].shape[1]),
        num_queries=int(out["queries"].shape[1]),
        hidden_size=hidden,
        num_layers=len(layers),
        num_heads=num_heads or max(hidden // 64, 1),
        intermediate_size=int(local[first + "intermediate.dense.weight"].shape[0]),
        cross_attention_every=every,
        embed_dim=None,
        text_dim=None,
        input_norm="vision_layernorm.weight" in local,
        vocab_size=int(words.shape[0]),
        max_positions=int(local["qformer.bert.embeddings.position_embeddings.weight"].shape[0]),
        dropout=0.0,
    )
