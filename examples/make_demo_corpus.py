"""Generate the demo corpus: short lecture-style videos with slides, narration subtitles, cuts and fades.

Every video is made here from scratch (Pillow draws the slides, PyAV encodes them; the generator is
``vrag.eval._lectures``, which also makes the retrieval evaluation's corpus), so the corpus is free to
ship and its ground truth is exact: ``ground_truth.json`` lists each slide's interval, its title and the
narration spoken over it.

    python examples/make_demo_corpus.py [OUT_DIR]

The three videos exercise the three ways transcripts arrive: a sidecar ``.en.srt`` (mp4/h264), an embedded
subrip stream (mkv/h264) and a sidecar ``.vtt`` (webm/vp9). Slides change with hard cuts inside a topic and
fade through black between topics; a moving "camera" shot sits between the slides of each video.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vrag.eval._lectures import Slide, write_lecture

FPS = 10
SIZE = (480, 270)

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


def make_corpus(out_dir: Path) -> list[Path]:
    """Write the demo videos, their subtitles and ground_truth.json into ``out_dir``; return the videos."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth: dict[str, list[dict]] = {}
    videos = []
    for name, slides in LECTURES.items():
        path = out_dir / name
        truth[name] = write_lecture(path, slides, fps=FPS, size=SIZE)
        videos.append(path)
    (out_dir / "ground_truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return videos


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "demo_corpus"
    for video in make_corpus(target):
        print(video)
