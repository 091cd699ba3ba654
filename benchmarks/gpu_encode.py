"""GPU encode sweep: bf16 batch sizes → clips/s, peak memory and achieved TFLOP/s vs the card's peak.

Models (random weights, speed does not depend on values): VideoMAE-B and VideoMAE-L (16x224), the
text-aligned X-CLIP B/16 (8x224), InternVideo2-1B (native; 4x224 as released, and 16x224 long clips with
the position table resized) and Qwen3-VL-Embedding 2B / 8B (the released architectures written out in
``vrag.encoders._qwen3vl_tiny.ARCHS``; clips of 640x360 frames fitted by the reference's pixel budget to
384x640: 16 frames = 1920 vision tokens, 64 frames = 7680), run through vrag's own path: end-to-end (uint8
host batch → pinned copy → device-side preprocessing → bf16 forward) and model-only (inputs already on the
device), which gives the achieved TFLOP/s. FLOPs are counted analytically (matmuls + attention; 2 FLOPs per
MAC; the decoder's causal attention counted as half a square). Sized to finish in under 5 minutes on one
H100/H200.

    python benchmarks/gpu_encode.py                    # full sweep on CUDA
    python benchmarks/gpu_encode.py --models 'qwen3-vl*'   # only the Qwen3-VL-Embedding rows
    python benchmarks/gpu_encode.py --compile          # also try torch.compile
    python benchmarks/gpu_encode.py --device cpu       # tiny configs on CPU: checks the script runs (CI)
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

#: dense bf16 tensor-core peak, TFLOP/s (no sparsity)
PEAKS = {"H100 PCIe": 756.0, "H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "L40S": 362.0}


@dataclass
class Case:
    name: str
    family: str
    config: dict[str, Any]
    frames: int
    size: int
    batches: tuple[int, ...]


_LARGE = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}
_TINY_VIT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
FULL = [
    Case("videomae-b", "videomae", {}, 16, 224, (8, 32, 64, 128)),
    Case("videomae-l", "videomae", _LARGE, 16, 224, (8, 32, 64)),
    Case("xclip-b16", "xclip", {"vision_config": {"patch_size": 16}}, 8, 224, (8, 32, 128)),
    Case("internvideo2-1b", "internvideo2", {"arch": "1b"}, 4, 224, (8, 32, 64)),
    Case("internvideo2-1b-16f", "internvideo2", {"arch": "1b"}, 16, 224, (4, 16)),
    Case("qwen3-vl-2b", "qwen3vl", {"arch": "2b"}, 16, 640, (1, 4, 8)),
    Case("qwen3-vl-2b-64f", "qwen3vl", {"arch": "2b"}, 64, 640, (1, 2)),
    Case("qwen3-vl-8b", "qwen3vl", {"arch": "8b"}, 16, 640, (1, 4)),
]
_TINY_VIDEO = {"image_size": 32, "patch_size": 8, "num_frames": 4, **_TINY_VIT}
SMOKE = [
    Case("videomae-tiny", "videomae", _TINY_VIDEO, 4, 32, (1, 2)),
    Case("xclip-tiny", "xclip", {"vision_config": _TINY_VIDEO}, 4, 32, (1, 2)),
    Case("internvideo2-tiny", "internvideo2", {"arch": "tiny"}, 4, 32, (1, 2)),
    Case("internvideo2-tiny-8f", "internvideo2", {"arch": "tiny"}, 8, 32, (1, 2)),
    Case("qwen3-vl-tiny", "qwen3vl", {"arch": "tiny"}, 4, 640, (1, 2)),
]


def vit_flops(tokens: int, hidden: int, layers: int, mlp: int) -> float:
    """Forward FLOPs of a ViT encoder: qkv/out projections, MLP, and the two attention matmuls."""
    per_layer = 2 * tokens * (4 * hidden * hidden + 2 * hidden * mlp) + 4 * tokens * tokens * hidden
    return float(per_layer * layers)


def clip_flops(model: Any, case: Case) -> float:
    cfg = model.config
    if case.family == "videomae":
        tokens = (case.frames // cfg.tubelet_size) * (case.size // cfg.patch_size) ** 2
        return vit_flops(tokens, cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size)
    v = cfg.vision_config
    tokens = (case.size // v.patch_size) ** 2 + 1
    return case.frames * vit_flops(tokens, v.hidden_size, v.num_hidden_layers, v.intermediate_size)


def build_internvideo2(case: Case, runtime: Any) -> tuple[Any, float]:
    """InternVideo2 (vision + BERT text tower) built directly on the device, random weights."""
    import dataclasses

    import torch

    from vrag.encoders import _internvideo2 as iv2
    from vrag.encoders._base import prepare_model

    base = iv2.tiny_config() if case.config["arch"] == "tiny" else iv2.ARCHS[case.config["arch"]]
    cfg = dataclasses.replace(base, num_frames=case.frames, image_size=case.size)
    with torch.device(runtime.device):  # a 1B model initialised on the GPU, not copied over
        model = iv2.InternVideo2Model(cfg)
    spec = iv2.make_spec(cfg, name=case.name, source="random-init", test_only=True)
    enc = iv2.InternVideo2Encoder(prepare_model(model, runtime), None, spec, runtime)
    t, h, w = cfg.grid
    return enc, vit_flops(1 + t * h * w, cfg.embed_dim, cfg.depth, cfg.mlp_hidden)


def qwen3vl_flops(enc: Any, batch: Any) -> float:
    """Forward FLOPs of one Qwen3-VL clip: vision blocks (attention within each frame pair), the patch
    mergers (main + deepstack), and the decoder over the whole prompt (causal attention: half a square)."""
    cfg = enc.model.config
    v, t = cfg.vision_config, cfg.text_config
    frames, gh, gw = (int(x) for x in batch.video_grid_thw[0])
    patches, per_pair = frames * gh * gw, gh * gw
    vision = vit_flops(per_pair, v.hidden_size, v.depth, v.intermediate_size) * frames
    merged, wide = patches // v.spatial_merge_size**2, v.hidden_size * v.spatial_merge_size**2
    mergers = (1 + len(v.deepstack_visual_indexes)) * 2 * merged * (wide * wide + wide * v.out_hidden_size)
    seq = int(batch.attention_mask[0].sum())
    q, kv = t.num_attention_heads * t.head_dim, t.num_key_value_heads * t.head_dim
    per_layer = 2 * seq * (t.hidden_size * (2 * q + 2 * kv) + 3 * t.hidden_size * t.intermediate_size)
    decoder = t.num_hidden_layers * (per_layer + 2 * seq * seq * q)
    return float(vision + mergers + decoder)


def qwen3vl_clips(enc: Any, case: Case, batch: int) -> np.ndarray:
    """uint8 clips as the decoder hands them over: 640x360 video at the spec's budget size."""
    w, h = enc.spec.decode_size(case.size, case.size * 9 // 16)
    return np.random.default_rng(0).integers(0, 256, (batch, case.frames, h, w, 3), dtype=np.uint8)


def build_qwen3vl(case: Case, runtime: Any) -> tuple[Any, float]:
    """Qwen3-VL-Embedding: the released architecture (random weights, built on the device) or the tiny one."""
    from vrag.encoders import _qwen3vl_tiny

    if case.config["arch"] == "tiny":
        enc = _qwen3vl_tiny.create_tiny(runtime, frames=case.frames)
    else:
        enc = _qwen3vl_tiny.build_random(case.config["arch"], runtime, frames=case.frames)
    return enc, qwen3vl_flops(enc, enc.prepare(qwen3vl_clips(enc, case, 1)))


def build(case: Case, device: str, dtype: str, compile: bool) -> tuple[Any, float]:
    """A vrag encoder around a random-weight model of the case's architecture."""
    import torch

    from vrag.encoders import _videomae, _xclip
    from vrag.encoders._base import prepare_model, resolve_runtime

    runtime = resolve_runtime(device, dtype, None, compile=compile)
    torch.manual_seed(0)
    if case.family == "qwen3vl":
        return build_qwen3vl(case, runtime)
    if case.family == "internvideo2":
        return build_internvideo2(case, runtime)
    if case.family == "videomae":
        from transformers import VideoMAEConfig, VideoMAEModel

        model = VideoMAEModel(VideoMAEConfig(**case.config))
        params = {**_videomae.DEFAULTS, "resize_shortest": case.size, "input_size": (case.size, case.size)}
        spec = _videomae.make_spec(
            model.config, name=case.name, source="random-init", params=params, test_only=True
        )
        return _videomae.VideoMAEEncoder(prepare_model(model, runtime), None, spec, runtime), clip_flops(
            model, case
        )
    from transformers import XCLIPConfig, XCLIPModel

    model = XCLIPModel(XCLIPConfig(**case.config))
    params = {**_xclip.DEFAULTS, "resize_shortest": case.size, "input_size": (case.size, case.size)}
    spec = _xclip.make_spec(model.config, name=case.name, source="random-init", params=params, test_only=True)
    enc = _xclip.XCLIPEncoder(prepare_model(model, runtime), None, spec, runtime)
    return enc, clip_flops(model, case)


def timed(fn: Any, iters: int) -> float:
    """Seconds per call of ``fn`` (after one warm-up call), synchronising CUDA."""
    import torch

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    fn()
    sync()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return (time.perf_counter() - start) / iters


def measure(enc: Any, case: Case, batch: int, iters: int) -> tuple[float, float]:
    """(end-to-end seconds from host uint8, model-only seconds on device-resident pixels) for one batch."""
    import torch

    if case.family == "qwen3vl":
        clips = qwen3vl_clips(enc, case, batch)
        inputs = enc.prepare(clips)  # token ids, packed patches and grids, on the device
        e2e = timed(lambda: enc.encode_video(clips, batch_size=batch), iters)
        return e2e, timed(lambda: enc.last_states(inputs), iters)

    w, h = enc.spec.decode_size(640, 360)  # as the decoder hands frames over: the encoder only crops
    clips = np.random.default_rng(0).integers(0, 256, (batch, case.frames, h, w, 3), dtype=np.uint8)
    e2e = timed(lambda: enc.encode_video(clips, batch_size=batch), iters)
    pixels = enc._pixels(torch.from_numpy(clips))

    def model_only() -> None:
        with torch.inference_mode(), enc._context():
            enc._embed_fn(pixels)

    return e2e, timed(model_only, iters)


def sweep(case: Case, args: argparse.Namespace, peak: float | None) -> list[dict[str, Any]]:
    import torch

    enc, flops = build(case, args.device, args.dtype, args.compile)
    rows: list[dict[str, Any]] = []
    for batch in case.batches:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        try:
            e2e, model_s = measure(enc, case, batch, args.iters)
        except torch.OutOfMemoryError:
            rows.append({"model": case.name, "batch": batch, "error": "out of memory"})
            break
        tflops = flops * batch / model_s / 1e12
        mem = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")
        rows.append({
            "model": case.name, "batch": batch,
            "clips_per_s": batch / e2e, "model_clips_per_s": batch / model_s,
            "peak_mem_gib": mem, "gflop_per_clip": flops / 1e9, "tflops": tflops,
            "pct_peak": None if peak is None else 100 * tflops / peak,
        })  # fmt: skip
    return rows


def card_peak(override: float | None) -> tuple[str, float | None]:
    import torch

    if not torch.cuda.is_available():
        return "cpu", override
    name = torch.cuda.get_device_name()
    if override:
        return name, override
    key = next((k for k in PEAKS if all(part in name for part in k.split())), None)
    return name, PEAKS.get(key) if key else None


def print_table(device: str, rows: list[dict[str, Any]]) -> None:
    print(f"\ndevice: {device}")
    print(
        "| model | batch | clips/s end-to-end | clips/s model | peak mem GiB | GFLOP/clip | TFLOP/s "
        "| % bf16 peak |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['model']} | {r['batch']} | {r['error']} | | | | | |")
            continue
        pct = "n/a" if r["pct_peak"] is None else f"{r['pct_peak']:.1f}"
        print(
            f"| {r['model']} | {r['batch']} | {r['clips_per_s']:.1f} | {r['model_clips_per_s']:.1f} | "
            f"{r['peak_mem_gib']:.2f} | "
            f"{r['gflop_per_clip']:.1f} | {r['tflops']:.1f} | {pct} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cpu-smoke", action="store_true", help="tiny configs on CPU, to check the script in CI"
    )
    parser.add_argument("--compile", action="store_true", help="wrap the forward in torch.compile")
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument(
        "--peak-tflops", type=float, default=None, help="card's dense bf16 peak, if not known"
    )
    parser.add_argument("--json", action="store_true", help="print rows as JSON lines too")
    parser.add_argument(
        "--device",
        choices=("cuda", "cpu"),
        default="cuda",
        help="cpu: the tiny configs (same as --cpu-smoke)",
    )
    parser.add_argument("--models", nargs="+", default=["*"], help="glob(s) of case names, e.g. 'qwen3-vl*'")
    args = parser.parse_args()
    args.cpu_smoke = args.cpu_smoke or args.device == "cpu"
    args.device, args.dtype = ("cpu", "float32") if args.cpu_smoke else ("cuda", "bfloat16")
    device, peak = card_peak(args.peak_tflops)
    if not args.cpu_smoke and device == "cpu":
        raise SystemExit("no CUDA device: run with --device cpu to check the script on CPU")
    cases = [
        c for c in (SMOKE if args.cpu_smoke else FULL) if any(fnmatch.fnmatch(c.name, m) for m in args.models)
    ]
    if not cases:
        raise SystemExit(f"no case matches {args.models}")
    rows = [row for case in cases for row in sweep(case, args, peak)]
    print_table(device, rows)
    if args.json:
        for row in rows:
            print(json.dumps(row))


if __name__ == "__main__":
    main()
