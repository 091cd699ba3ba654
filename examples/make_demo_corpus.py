"""Generate the demo corpus: short lecture-style videos with slides, narration subtitles, cuts and fades.

Every video is made here from scratch (Pillow draws the slides, PyAV encodes them), so the corpus is free to
ship and its ground truth is exact: ``ground_truth.json`` lists each slide's interval, its title and the
narration spoken over it.

    python examples/make_demo_corpus.py [OUT_DIR]

The three videos exercise the three ways transcripts arrive: a sidecar ``.en.srt`` (mp4/h264), an embedded
subrip stream (mkv/h264) and a sidecar ``.vtt`` (webm/vp9). Slides change with hard cuts inside a topic and
fade through black between topics; a moving "camera" shot sits between the slides of each video.
"""

from __future__ import annotations

import fractions
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FPS = 10
SIZE = (480, 270)
FADE_S = 1.0


@dataclass(frozen=True)
class Slide:
    title: str
    bullets: tuple[str, ...]
    narration: tuple[str, ...]  # one subtitle cue per sentence
    seconds: float = 12.0
    transition: str = "cut"  # how this slide is entered: "cut" or "fade"
    camera: bool = False  # a moving "speaker" shot instead of a slide


LECTURES: dict[str, tuple[Slide, ...]] = {
    "intro_to_ml.mp4": (
        Slide(
            "What is machine learning",
            ("Learn rules from data", "Instead of writing them by hand"),
            (
                "Machine learning means the computer infers the rules from examples.",
                "We never write the decision logic ourselves.",
                "Instead we collect labelled data and fit a model to it.",
            ),
        ),
        Slide(
            "Gradient descent",
            ("Follow the slope downhill", "Step size = learning rate"),
            (
                "To fit the model we minimise a loss function.",
                "Each step moves the weights against the gradient.",
                "If the learning rate is too large the loss diverges.",
            ),
            transition="fade",
        ),
        Slide(
            "",
            (),
            (
                "Let me show you this on the whiteboard.",
                "Picture a ball rolling into the bottom of a valley.",
            ),
            seconds=8.0,
            camera=True,
        ),
        Slide(
            "Overfitting",
            ("Great on training data", "Poor on new data"),
            (
                "A model that memorises its training set will fail on unseen examples.",
                "Hold out a validation set to detect this early.",
                "Regularisation and more data both help.",
            ),
            transition="fade",
        ),
    ),
    "neural_networks.mkv": (
        Slide(
            "Neurons and layers",
            ("Weighted sum + nonlinearity", "Stack layers for depth"),
            (
                "A neuron multiplies its inputs by weights and adds them up.",
                "Then it applies a nonlinear function.",
                "Deep networks stack many such layers.",
            ),
        ),
        Slide(
            "Backpropagation",
            ("Chain rule, layer by layer", "Errors flow backwards"),
            (
                "Training needs the gradient of the loss for every weight.",
                "The chain rule lets us reuse work from the layer above.",
                "So the error signal travels from the output back to the input.",
            ),
        ),
        Slide(
            "",
            (),
            ("Questions so far? Let us take a short pause.", "Next we look at activation functions."),
            seconds=8.0,
            camera=True,
        ),
        Slide(
            "Activation functions",
            ("ReLU, sigmoid, tanh", "ReLU trains fastest"),
            (
                "Without a nonlinearity the whole network collapses into one linear map.",
                "The rectified linear unit is the usual default today.",
                "Sigmoids saturate and slow training down.",
            ),
            transition="fade",
        ),
    ),
    "video_search.webm": (
        Slide(
            "Shot detection",
            ("Find the cuts", "Hard cuts and fades"),
            (
                "A video is first cut into shots at every camera change.",
                "Hard cuts are easy; gradual fades are harder to spot.",
                "We merge similar shots into scenes.",
            ),
        ),
        Slide(
            "Embeddings",
            ("Clips become vectors", "Similar meaning, nearby vectors"),
            (
                "Each scene is encoded into a vector by a video model.",
                "Text queries are embedded into the same space.",
                "Search becomes a nearest neighbour lookup.",
            ),
            transition="fade",
        ),
        Slide(
            "Vector databases",
            ("Qdrant stores the vectors", "Filters by video and time"),
            (
                "The vectors live in a database built for similarity search.",
                "Payload filters restrict results to one video or a time range.",
                "Every hit carries exact start and end times for citations.",
            ),
        ),
    ),
}


def render_slide(slide: Slide) -> np.ndarray:
    """A white slide with a dark title and bullets, as an RGB array."""
    image = Image.new("RGB", SIZE, (250, 250, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, SIZE[0], 56), fill=(30, 60, 120))
    draw.text((20, 12), slide.title, font=ImageFont.load_default(size=30), fill=(255, 255, 255))
    body = ImageFont.load_default(size=24)
    for row, bullet in enumerate(slide.bullets):
        draw.text((30, 90 + 48 * row), f"- {bullet}", font=body, fill=(20, 20, 20))
    return np.asarray(image)


def camera_frame(i: int) -> np.ndarray:
    """A moving textured scene (stands in for the lecturer's camera)."""
    h, w = SIZE[1], SIZE[0]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = i * 0.15
    r = 120 + 80 * np.sin(x / 23.0 + phase)
    g = 90 + 60 * np.sin(y / 17.0 - phase * 0.7)
    b = 60 + 40 * np.sin((x + y) / 31.0 + phase * 0.3)
    return np.stack([r, g, b], axis=-1).clip(0, 255).astype(np.uint8)


def slide_frames(slide: Slide) -> list[np.ndarray]:
    n = round(slide.seconds * FPS)
    if slide.camera:
        return [camera_frame(i) for i in range(n)]
    frame = render_slide(slide)
    return [frame] * n


def fade_in(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Fade the first FADE_S seconds in from black (the previous slide faded out before)."""
    n = round(FADE_S * FPS / 2)
    out = list(frames)
    for i in range(n):
        out[i] = (frames[i].astype(np.float32) * (i + 1) / (n + 1)).astype(np.uint8)
    return out


def fade_out(frames: list[np.ndarray]) -> list[np.ndarray]:
    n = round(FADE_S * FPS / 2)
    out = list(frames)
    for k in range(n):
        i = len(frames) - 1 - k
        out[i] = (frames[i].astype(np.float32) * (k + 1) / (n + 1)).astype(np.uint8)
    return out


def build(slides: tuple[Slide, ...]) -> tuple[list[np.ndarray], list[dict]]:
    """All frames of one lecture and the ground truth of each slide (interval, title, narration cues)."""
    clips = [slide_frames(s) for s in slides]
    for k, slide in enumerate(slides):
        if slide.transition == "fade" and k > 0:
            clips[k - 1], clips[k] = fade_out(clips[k - 1]), fade_in(clips[k])
    frames: list[np.ndarray] = []
    truth = []
    for slide, clip in zip(slides, clips, strict=True):
        start = len(frames) / FPS
        frames.extend(clip)
        end = len(frames) / FPS
        truth.append({"start": start, "end": end, **asdict(slide), "cues": narration_cues(slide, start, end)})
    return frames, truth


def narration_cues(slide: Slide, start: float, end: float) -> list[tuple[float, float, str]]:
    """Spread the narration sentences over the slide, leaving a short pause after each."""
    step = (end - start) / len(slide.narration)
    return [
        (round(start + i * step + 0.3, 3), round(start + (i + 1) * step - 0.4, 3), sentence)
        for i, sentence in enumerate(slide.narration)
    ]


def encode(path: Path, frames: list[np.ndarray], cues: list[tuple[float, float, str]]) -> None:
    """Encode frames (h264 or vp9 by suffix); embed the cues as a subrip stream in mkv."""
    out = av.open(str(path), "w")
    stream = out.add_stream("libvpx-vp9" if path.suffix == ".webm" else "libx264", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
    subs = _subrip_stream(out) if path.suffix == ".mkv" else None
    for i, array in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(array, format="rgb24")
        frame.pts = i
        out.mux(stream.encode(frame))
    out.mux(stream.encode())
    for start, end, text in cues if subs is not None else ():
        packet = av.Packet(text.encode())
        packet.stream, packet.time_base = subs, fractions.Fraction(1, 1000)
        packet.pts = packet.dts = round(start * 1000)
        packet.duration = round((end - start) * 1000)
        out.mux(packet)
    out.close()


def _subrip_stream(out: av.container.OutputContainer) -> av.stream.Stream:
    stream = out.add_stream("subrip")
    stream.codec_context.subtitle_header = b"[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
    stream.time_base = fractions.Fraction(1, 1000)
    stream.metadata["language"] = "eng"
    return stream


def write_sidecar(path: Path, cues: list[tuple[float, float, str]]) -> None:
    vtt = path.suffix == ".vtt"
    sep = "." if vtt else ","

    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"

    blocks = [
        ("" if vtt else f"{i}\n") + f"{stamp(a)} --> {stamp(b)}\n{text}\n"
        for i, (a, b, text) in enumerate(cues, 1)
    ]
    path.write_text(("WEBVTT\n\n" if vtt else "") + "\n".join(blocks), encoding="utf-8")


def make_corpus(out_dir: Path) -> list[Path]:
    """Write the demo videos, their subtitles and ground_truth.json into ``out_dir``; return the videos."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth: dict[str, list[dict]] = {}
    videos = []
    for name, slides in LECTURES.items():
        path = out_dir / name
        frames, truth[name] = build(slides)
        cues = [tuple(c) for slide in truth[name] for c in slide["cues"]]
        encode(path, frames, cues)
        if path.suffix == ".mp4":
            write_sidecar(path.with_suffix(".en.srt"), cues)
        elif path.suffix == ".webm":
            write_sidecar(path.with_suffix(".vtt"), cues)
        videos.append(path)
    (out_dir / "ground_truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return videos


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "demo_corpus"
    for video in make_corpus(target):
        print(video)
