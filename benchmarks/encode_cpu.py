"""CPU encode throughput: vrag's batched path vs the naive path a user would write, same weights, same frames.

naive: one clip at a time, fp32, default torch settings (``no_grad``), frames resized with PIL:
       - videomae-b / xclip-b32 / videomaev2-b: the Hugging Face image processor + the transformers model;
         VideoMAE V2 is the transformers ``VideoMAEModel`` holding the converted weights + its ``fc_norm``;
       - internvideo2-*: no Hugging Face class exists, so vrag's model module (``InternVideo2Model``) is
         called per clip on the checkpoint loaded with a plain ``torch.load``, frames prepared as the official
         demo does (resize to 224x224, /255, ImageNet mean/std), but with PIL bicubic like vrag's spec.
ours:  ``create_encoder(...)`` — uint8 batch → torch resize/normalise → batched forward under inference_mode,
       in fp32 and in bf16 (weights in bf16 + CPU autocast).

qwen3-vl-2b has no naive way here (the reference's preprocessing needs torchvision, which does not import
beside the CPU torch); its two ways are vrag's fp32 and bf16, each on a random-weight model of the released
2B architecture built in the worker (``vrag.encoders._qwen3vl_tiny.build_random``: both ways draw their own
weights, so no cosine), 16 frames fitted to 384x640 (1920 vision tokens + the prompt), and no warm-up clip
(one clip takes minutes; the first call's overhead is a fraction of a second).

Random weights of the real architectures: the hub is unreachable here, and speed does not depend on the
values (the vectors mean nothing; cosine only checks that both ways compute the same function). The new
encoders are loaded from checkpoints in their OFFICIAL layouts (converted on load, as for released weights).

Each way runs in its own subprocess (clean peak RSS): load (timed apart), warm up on one clip, then time the
clips. Ways are interleaved ``--repeat`` times; the fastest run is reported. Frames are 360x640 uint8, as a
decoder would hand them over.

    .venv/bin/python benchmarks/encode_cpu.py                 # VideoMAE-B (16x224) and X-CLIP B/32 (8x224)
    .venv/bin/python benchmarks/encode_cpu.py --models internvideo2-1b videomaev2-b   # ~8 min, 2 cores
    .venv/bin/python benchmarks/encode_cpu.py --clips 4 --models internvideo2-b14
    .venv/bin/python benchmarks/encode_cpu.py --models qwen3-vl-2b --repeat 1     # ~7 min, 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FRAME_HW = (360, 640)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IV2_WEIGHTS = "internvideo2.pt"

Encode = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Case:
    """A benchmarked architecture: frames per clip, clips timed by default, and a table title."""

    frames: int
    clips: int
    title: str


CASES = {
    "videomae-b": Case(16, 6, "VideoMAE-B (16x224)"),
    "xclip-b32": Case(8, 24, "X-CLIP B/32 (8x224)"),
    "videomaev2-b": Case(16, 4, "VideoMAE V2-B (16x224, official layout, transformers VideoMAEModel)"),
    "internvideo2-b14": Case(8, 4, "InternVideo2 distilled B14 (8x224, vision tower)"),
    "internvideo2-1b": Case(4, 2, "InternVideo2 stage-2 1B (4x224, vision + BERT-L text tower loaded)"),
    "qwen3-vl-2b": Case(16, 1, "Qwen3-VL-Embedding-2B (16 frames fitted to 384x640, 1920 vision tokens)"),
}
#: models timed only through vrag (no naive way), built in the worker, without a warm-up clip
VRAG_ONLY = {"qwen3-vl-2b"}


# ---------------------------------------------------------------- checkpoints (random weights)


def build(model: str, out: Path) -> None:
    """Save a seeded random model of the case's real architecture (and its processor config) to ``out``."""
    import torch

    torch.manual_seed(0)
    if model in VRAG_ONLY:  # built in each worker
        return None
    if model.startswith("internvideo2-"):
        return build_internvideo2(model.removeprefix("internvideo2-"), out)
    if model == "videomaev2-b":
        return build_videomaev2(out)
    from transformers import VideoMAEConfig, VideoMAEModel, XCLIPConfig, XCLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.videomae.image_processing_pil_videomae import VideoMAEImageProcessorPil

    from vrag.encoders._tiny import tiny_tokenizer

    if model == "videomae-b":
        VideoMAEModel(VideoMAEConfig()).save_pretrained(out)
        VideoMAEImageProcessorPil().save_pretrained(out)
    else:
        XCLIPModel(XCLIPConfig()).save_pretrained(out)
        CLIPImageProcessorPil().save_pretrained(out)
        tiny_tokenizer().save_pretrained(out)


#: vrag's InternVideo2 parameter names → the official checkpoint's (first match wins)
_IV2_OFFICIAL = (
    ("pool.norm_q.", "clip_projector.norm1_q."),
    ("pool.norm_k.", "clip_projector.norm1_k."),
    ("pool.norm_v.", "clip_projector.norm1_v."),
    ("pool.q.bias", "clip_projector.cross_attn.q_bias"),
    ("pool.k.bias", "clip_projector.cross_attn.k_bias"),
    ("pool.v.bias", "clip_projector.cross_attn.v_bias"),
    ("pool.", "clip_projector.cross_attn."),
    ("patch_embed.", "patch_embed.proj."),
    (".qkv.", ".attn.qkv."),
    (".proj.", ".attn.proj."),
    (".q_norm.", ".attn.q_norm."),
    (".k_norm.", ".attn.k_norm."),
    (".fc1.", ".mlp.fc1."),
    (".fc2.", ".mlp.fc2."),
)


def official_internvideo2_key(name: str) -> str:
    """``vision.blocks.0.qkv.weight`` → ``vision_encoder.blocks.0.attn.qkv.weight`` (the released layout)."""
    if name.startswith("text."):
        return "text_encoder.bert." + name.removeprefix("text.")
    if not name.startswith("vision."):
        return name  # vision_proj / text_proj
    rest = name.removeprefix("vision.")
    if rest.endswith((".ls1", ".ls2")):
        return f"vision_encoder.{rest}.gamma"
    old, new = next(((o, n) for o, n in _IV2_OFFICIAL if o in rest), ("", ""))
    return "vision_encoder." + (rest.replace(old, new, 1) if old else rest)


def build_internvideo2(arch: str, out: Path) -> None:
    """A random InternVideo2 of ``arch`` as an official stage-2 ``.pt`` + ``config.json`` (+ tokenizer)."""
    import torch

    from vrag.encoders import _internvideo2 as iv2
    from vrag.encoders._tiny import tiny_tokenizer

    cfg = iv2.ARCHS[arch]
    model = iv2.InternVideo2Model(cfg)
    with torch.no_grad():  # zeros in the released tables would hide a lost position table
        for p in (model.vision.pos_embed, model.vision.cls_token):
            p.normal_(std=0.02)
    state = {official_internvideo2_key(k): v for k, v in model.state_dict().items()}
    expected = {k for k in model.state_dict() if not k.endswith(("position_ids", "token_type_ids"))}
    lost = expected ^ set(iv2.convert_checkpoint(state, cfg))  # the layout vrag reads must round-trip
    if lost:
        raise SystemExit(f"official InternVideo2 layout does not round-trip: {sorted(lost)[:4]}")
    out.mkdir(parents=True)
    torch.save({"module": state}, out / IV2_WEIGHTS)  # deepspeed-style, as the released files
    (out / "config.json").write_text(json.dumps({"model_type": "internvideo2", "arch": arch}))
    if cfg.text is not None:  # the real BERT vocabulary is on the hub; text is not timed here
        tiny_tokenizer().save_pretrained(out)


def build_videomaev2(out: Path) -> None:
    """A random ViT-B VideoMAE V2 in the hub repos' layout (``model.`` prefix, fused qkv, q/v biases,
    fc_norm), plus ``out/hf``: the same weights converted once into a ``VideoMAEModel`` for the naive way."""
    import torch
    from safetensors.torch import save_file
    from transformers.models.videomae.image_processing_pil_videomae import VideoMAEImageProcessorPil

    from vrag.encoders import _videomaev2 as v2
    from vrag.encoders._base import resolve_runtime

    model_config = {"img_size": 224, "patch_size": 16, "embed_dim": 768, "depth": 12, "num_heads": 12}
    model_config |= {"num_frames": 16, "tubelet_size": 2, "use_mean_pooling": True, "layer_norm_eps": 1e-6}
    state = {f"model.{k}": v.contiguous() for k, v in _videomaev2_official(768, 12).state_dict().items()}
    out.mkdir(parents=True)
    save_file(state, str(out / "model.safetensors"))
    config = {"model_type": "VideoMAEv2_Base", "model_config": model_config}
    (out / "config.json").write_text(json.dumps(config))
    hf_model, fc_norm = v2.build(state, model_config, resolve_runtime("cpu", "float32", 1))
    hf_model.save_pretrained(out / "hf")
    torch.save(fc_norm.state_dict(), out / "hf" / "fc_norm.pt")
    VideoMAEImageProcessorPil(image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD).save_pretrained(out / "hf")


def _videomaev2_official(dim: int, depth: int) -> object:
    """Module tree with the official VideoMAE V2 parameter names (random q / v biases, so they count)."""
    import torch
    from torch import nn

    def block() -> nn.Module:
        b = nn.Module()
        b.norm1, b.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        b.attn = nn.Module()
        b.attn.qkv, b.attn.proj = nn.Linear(dim, 3 * dim, bias=False), nn.Linear(dim, dim)
        b.attn.q_bias = nn.Parameter(torch.randn(dim) * 0.02)
        b.attn.v_bias = nn.Parameter(torch.randn(dim) * 0.02)
        b.mlp = nn.Module()
        b.mlp.fc1, b.mlp.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        return b

    root = nn.Module()
    root.patch_embed = nn.Module()
    root.patch_embed.proj = nn.Conv3d(3, dim, (2, 16, 16), (2, 16, 16))
    root.blocks = nn.ModuleList(block() for _ in range(depth))
    root.fc_norm = nn.LayerNorm(dim)
    return root


def clips(model: str, n: int) -> np.ndarray:
    frames = CASES[model].frames
    return np.random.default_rng(0).integers(0, 256, (n, frames, *FRAME_HW, 3), dtype=np.uint8)


# ---------------------------------------------------------------- the two ways


def naive_encoder(model: str, path: Path) -> Encode:
    """Load the model the plain way; return a per-clip fp32 encode function."""
    if model.startswith("internvideo2-"):
        return naive_internvideo2(path)
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from transformers import AutoImageProcessor, AutoModel

    src = path / "hf" if model == "videomaev2-b" else path
    proc = AutoImageProcessor.from_pretrained(src)
    net = AutoModel.from_pretrained(src).eval()
    fc_norm = None
    if model == "videomaev2-b":
        fc_norm = torch.nn.LayerNorm(net.config.hidden_size, eps=net.config.layer_norm_eps)
        fc_norm.load_state_dict(torch.load(src / "fc_norm.pt", weights_only=True))

    def encode(data: np.ndarray) -> np.ndarray:
        out = []
        for clip in data:
            pil = [Image.fromarray(f) for f in clip]
            with torch.no_grad():
                if model == "xclip-b32":
                    pixels = proc(pil, return_tensors="pt")["pixel_values"][None]
                    vec = net.get_video_features(pixel_values=pixels).pooler_output
                else:
                    pixels = proc([pil], return_tensors="pt")["pixel_values"]
                    vec = net(pixel_values=pixels).last_hidden_state.mean(1)
                    vec = vec if fc_norm is None else fc_norm(vec)
            out.append(F.normalize(vec, dim=-1).numpy())
        return np.concatenate(out)

    return encode


def naive_internvideo2(path: Path) -> Encode:
    """``torch.load`` the official file into the model module; per clip: PIL resize, normalise, forward."""
    import torch
    import torch.nn.functional as F
    from PIL import Image

    from vrag.encoders import _internvideo2 as iv2

    arch = json.loads((path / "config.json").read_text())["arch"]
    cfg = iv2.ARCHS[arch]
    state = iv2.unwrap_checkpoint(torch.load(path / IV2_WEIGHTS, map_location="cpu", weights_only=True))
    net = iv2.build_model(cfg, state).eval()
    del state
    mean, std = np.array(IMAGENET_MEAN, np.float32), np.array(IMAGENET_STD, np.float32)
    size = (cfg.image_size, cfg.image_size)

    def encode(data: np.ndarray) -> np.ndarray:
        out = []
        for clip in data:
            frames = [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BICUBIC)) for f in clip]
            pixels = (np.stack(frames).astype(np.float32) / 255 - mean) / std  # [T, H, W, 3]
            with torch.no_grad():
                vec = net.video_features(torch.from_numpy(pixels).permute(0, 3, 1, 2)[None])
            out.append(F.normalize(vec, dim=-1).numpy())
        return np.concatenate(out)

    return encode


def ours_encoder(model: str, path: Path, dtype: str, batch: int) -> Encode:
    """vrag's factory (a registered name with ``source=DIR`` for the native families)."""
    from vrag.encoders import create_encoder

    opts = {"device": "cpu", "dtype": dtype, "batch_size": batch}
    if model == "qwen3-vl-2b":
        import torch

        from vrag.encoders._base import resolve_runtime
        from vrag.encoders._qwen3vl_tiny import build_random

        torch.manual_seed(0)
        return build_random(
            "2b", resolve_runtime("cpu", dtype, batch), frames=CASES[model].frames
        ).encode_video
    if model.startswith("internvideo2-"):  # config.json's "arch" picks the architecture
        enc = create_encoder("internvideo2-1b", source=str(path), **opts)
    elif model == "videomaev2-b":
        enc = create_encoder("videomaev2-base", source=str(path), **opts)
    else:
        enc = create_encoder(str(path), **opts)
    return enc.encode_video


# ---------------------------------------------------------------- runs


def worker(args: argparse.Namespace) -> None:
    """One way, one process: load, warm up on one clip, time the rest, report clips/s and peak RSS."""
    path, data = Path(args.path), clips(args.model, args.clips + 1)
    start = time.perf_counter()
    if args.way == "naive":
        encode = naive_encoder(args.model, path)
    else:
        encode = ours_encoder(args.model, path, args.way.split("-")[1], min(args.batch, args.clips))
    load_s = time.perf_counter() - start
    if args.model not in VRAG_ONLY:
        encode(data[:1])
    start = time.perf_counter()
    vecs = encode(data[1:])
    seconds = time.perf_counter() - start
    np.save(args.out, vecs)
    row = {"way": args.way, "seconds": seconds, "clips_per_s": args.clips / seconds, "load_s": load_s}
    print(json.dumps({**row, "peak_rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak RSS since it started (Linux ``VmHWM``).

    Not ``ru_maxrss``: Linux carries the parent's RSS at fork over ``exec`` into it, so every worker would
    report at least the parent's size (the parent holds the model it just built and saved).
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, kB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def measure(model: str, way: str, path: Path, n: int, batch: int, tmp: Path) -> dict[str, float]:
    out = tmp / f"{model}-{way}.npy"
    cmd = [sys.executable, __file__, "--worker", way, "--model", model, "--path", str(path)]
    cmd += ["--clips", str(n), "--batch", str(batch), "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode:
        raise SystemExit(f"{model} {way} failed:\n{res.stderr[-3000:]}")
    row = json.loads(res.stdout.strip().splitlines()[-1])
    row["vecs"] = str(out)
    return row


def report(model: str, rows: list[dict[str, float]]) -> None:
    base = rows[0]
    ref = np.load(str(base["vecs"]))
    first, against = ("fp32", "fp32") if model in VRAG_ONLY else ("naive", "naive fp32")
    print(f"\n{CASES[model].title}: {len(ref)} clips of {FRAME_HW[0]}x{FRAME_HW[1]} uint8 frames, CPU")
    print(f"| path | clips/s | x {first} | load s | peak RSS MB | min cosine vs {against} |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        cos = (
            "n/a"
            if model in VRAG_ONLY
            else f"{float((np.load(str(row['vecs'])) * ref).sum(axis=1).min()):.5f}"
        )
        ratio = row["clips_per_s"] / base["clips_per_s"]
        print(
            f"| {row['way']} | {row['clips_per_s']:.4f} | {ratio:.2f} | {row['load_s']:.1f} | "
            f"{row['peak_rss_mb']:.0f} | {cos} |"
        )


def best(rows: list[dict[str, float]]) -> dict[str, float]:
    """Best-of-N (the machine is shared: the fastest run is the least disturbed); RSS is the max seen."""
    top = dict(max(rows, key=lambda r: r["clips_per_s"]))
    top["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rows)
    return top


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["videomae-b", "xclip-b32"], choices=list(CASES))
    parser.add_argument("--clips", type=int, default=None, help="clips timed per way (default: per model)")
    parser.add_argument("--batch", type=int, default=4, help="vrag's clips per forward pass")
    parser.add_argument(
        "--repeat", type=int, default=2, help="interleaved runs per way; the best is reported"
    )
    parser.add_argument("--worker")
    parser.add_argument("--model", default="videomae-b")
    parser.add_argument("--path")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.worker:
        args.way = args.worker
        return worker(args)
    print("random weights of the real architectures (no hub here): speed does not depend on the values")
    print(f"load average at start (1/5/15 min): {loadavg()}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_str:
        tmp = Path(tmp_str)
        for model in args.models:
            path = tmp / model
            build(model, path)
            n = args.clips or CASES[model].clips
            ways = (
                ["ours-float32", "ours-bfloat16"]
                if model in VRAG_ONLY
                else ["naive", "ours-float32", "ours-bfloat16"]
            )
            runs = [[measure(model, w, path, n, args.batch, tmp) for w in ways] for _ in range(args.repeat)]
            report(model, [best([r[i] for r in runs]) for i in range(len(ways))])
    print(f"\nload average at end (1/5/15 min): {loadavg()}; wall {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
