"""Synthetic lecture videos with exact ground truth: slides drawn with Pillow, narration as subtitles.

Two users: ``examples/make_demo_corpus.py`` (three short demo lectures) and the retrieval evaluation
(:func:`make_lecture_corpus`: up to ten lectures on distinct but overlapping topics, with paraphrased
queries whose answers sit either on the slide or in the narration only).

Every video is made from scratch, so the corpus is free to ship and its truth is exact: each slide's
interval, its title and bullets, and the narration spoken over it. Slides change with hard cuts or fade
through black; a moving "camera" shot stands in for the lecturer. The containers rotate through the three
ways transcripts arrive: a sidecar ``.en.srt`` (mp4/h264), an embedded subrip stream (mkv/h264) and a
sidecar ``.vtt`` (webm/vp9).

Example:
    >>> from pathlib import Path
    >>> from vrag.eval._lectures import make_lecture_corpus
    >>> corpus = make_lecture_corpus(Path("/tmp/lectures"), videos=3)  # doctest: +SKIP
    >>> corpus.queries[0].text, corpus.queries[0].video, corpus.queries[0].source  # doctest: +SKIP
    ('applications such as junk mail detection and estimating what a home costs', 'ml_basics.mp4', 'screen')
"""

from __future__ import annotations

import fractions
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vrag.errors import ConfigError

__all__ = [
    "LECTURES",
    "EvalQuery",
    "Lecture",
    "LectureCorpus",
    "LectureSlide",
    "Slide",
    "build",
    "make_lecture_corpus",
    "write_lecture",
]

Cue = tuple[float, float, str]
FADE_S = 1.0
CONTAINERS = (".mp4", ".mkv", ".webm")
CORPUS_VERSION = 1
"""Bump when the generated videos or queries change (a stored corpus of another version is regenerated)."""


@dataclass(frozen=True)
class Slide:
    """One shot of a lecture video.

    Attributes:
        title: slide title ("" for a camera shot).
        bullets: bullet lines on the slide.
        narration: one subtitle cue per sentence, spread over the slide.
        seconds: how long the slide is shown.
        transition: how the slide is entered: ``"cut"`` or ``"fade"`` (through black).
        camera: a moving "speaker" shot instead of a slide.
    """

    title: str
    bullets: tuple[str, ...]
    narration: tuple[str, ...]
    seconds: float = 12.0
    transition: str = "cut"
    camera: bool = False


# ---------------------------------------------------------------------------------------------- rendering


def render_slide(slide: Slide, size: tuple[int, int] = (480, 270)) -> np.ndarray:
    """A white slide with a dark title bar and bullets, as an RGB array (layout scales with the height)."""
    from PIL import Image, ImageDraw

    s = size[1] / 270
    image = Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0], round(56 * s)), fill=(30, 60, 120))
    width = size[0] - round(40 * s)
    title_font = _font(slide.title, round(30 * s), width)
    draw.text((round(20 * s), round(12 * s)), slide.title, font=title_font, fill=(255, 255, 255))
    for row, bullet in enumerate(slide.bullets):
        line = f"- {bullet}"
        at = (round(30 * s), round((90 + 48 * row) * s))
        draw.text(at, line, font=_font(line, round(24 * s), width), fill=(20, 20, 20))
    return np.asarray(image)


def _font(text: str, size: int, width: int) -> Any:
    """Pillow's bundled font at ``size``, shrunk until ``text`` fits in ``width`` pixels."""
    from PIL import ImageFont

    font = ImageFont.load_default(size=size)
    while size > 10 and font.getlength(text) > width:
        size -= 1
        font = ImageFont.load_default(size=size)
    return font


def camera_frame(i: int, size: tuple[int, int] = (480, 270)) -> np.ndarray:
    """A moving textured scene (stands in for the lecturer's camera)."""
    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    phase = i * 0.15
    r = 120 + 80 * np.sin(x / 23.0 + phase)
    g = 90 + 60 * np.sin(y / 17.0 - phase * 0.7)
    b = 60 + 40 * np.sin((x + y) / 31.0 + phase * 0.3)
    return np.stack([r, g, b], axis=-1).clip(0, 255).astype(np.uint8)


def slide_frames(slide: Slide, fps: int = 10, size: tuple[int, int] = (480, 270)) -> list[np.ndarray]:
    n = round(slide.seconds * fps)
    if slide.camera:
        return [camera_frame(i, size) for i in range(n)]
    frame = render_slide(slide, size)
    return [frame] * n


def fade_in(frames: list[np.ndarray], fps: int = 10) -> list[np.ndarray]:
    """Fade the first half of ``FADE_S`` in from black (the previous slide faded out before)."""
    n = round(FADE_S * fps / 2)
    out = list(frames)
    for i in range(n):
        out[i] = (frames[i].astype(np.float32) * (i + 1) / (n + 1)).astype(np.uint8)
    return out


def fade_out(frames: list[np.ndarray], fps: int = 10) -> list[np.ndarray]:
    n = round(FADE_S * fps / 2)
    out = list(frames)
    for k in range(n):
        i = len(frames) - 1 - k
        out[i] = (frames[i].astype(np.float32) * (k + 1) / (n + 1)).astype(np.uint8)
    return out


def build(
    slides: Sequence[Slide], *, fps: int = 10, size: tuple[int, int] = (480, 270)
) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """All frames of one lecture and the truth of each slide (interval, title, narration cues).

    Returns:
        The RGB frames, and per slide ``{"start", "end", <Slide fields>, "cues": [(start, end, text)]}``.
    """
    clips = [slide_frames(s, fps, size) for s in slides]
    for k, slide in enumerate(slides):
        if slide.transition == "fade" and k > 0:
            clips[k - 1], clips[k] = fade_out(clips[k - 1], fps), fade_in(clips[k], fps)
    frames: list[np.ndarray] = []
    truth = []
    for slide, clip in zip(slides, clips, strict=True):
        start = len(frames) / fps
        frames.extend(clip)
        end = len(frames) / fps
        truth.append({"start": start, "end": end, **asdict(slide), "cues": narration_cues(slide, start, end)})
    return frames, truth


def narration_cues(slide: Slide, start: float, end: float) -> list[Cue]:
    """Spread the narration sentences over the slide, leaving a short pause after each."""
    step = (end - start) / len(slide.narration)
    return [
        (round(start + i * step + 0.3, 3), round(start + (i + 1) * step - 0.4, 3), sentence)
        for i, sentence in enumerate(slide.narration)
    ]


# ---------------------------------------------------------------------------------------------- encoding


def encode(path: Path, frames: Sequence[np.ndarray], cues: Sequence[Cue], fps: int = 10) -> None:
    """Encode frames (h264, or vp9 for ``.webm``); embed the cues as a subrip stream in ``.mkv``."""
    import av

    out = av.open(str(path), "w")
    stream = out.add_stream("libvpx-vp9" if path.suffix == ".webm" else "libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
    subs = _subrip_stream(out) if path.suffix == ".mkv" else None
    for i, array in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(array, format="rgb24")
        frame.pts = i
        out.mux(stream.encode(frame))
    out.mux(stream.encode())
    if path.suffix == ".mkv":
        _mux_subtitles(out, subs, cues)
    out.close()


def _mux_subtitles(out: Any, subs: Any, cues: Sequence[Cue]) -> None:
    import av

    for start, end, text in cues:
        packet = av.Packet(text.encode())
        packet.stream, packet.time_base = subs, fractions.Fraction(1, 1000)
        packet.pts = packet.dts = round(start * 1000)
        packet.duration = round((end - start) * 1000)
        out.mux(packet)


def _subrip_stream(out: Any) -> Any:
    stream = out.add_stream("subrip")
    stream.codec_context.subtitle_header = b"[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
    stream.time_base = fractions.Fraction(1, 1000)
    stream.metadata["language"] = "eng"
    return stream


def write_sidecar(path: Path, cues: Sequence[Cue]) -> None:
    """Write ``cues`` as SubRip (``.srt``) or WebVTT (``.vtt``), by the suffix of ``path``."""
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


def write_lecture(
    path: Path, slides: Sequence[Slide], *, fps: int = 10, size: tuple[int, int] = (480, 270)
) -> list[dict[str, Any]]:
    """Write one lecture video and its transcript (``.en.srt`` beside an mp4, ``.vtt`` beside a webm,
    embedded in an mkv); return the truth of each slide (see :func:`build`)."""
    frames, truth = build(slides, fps=fps, size=size)
    cues: list[Cue] = [cue for slide in truth for cue in slide["cues"]]
    encode(path, frames, cues, fps)
    if path.suffix == ".mp4":
        write_sidecar(path.with_suffix(".en.srt"), cues)
    elif path.suffix == ".webm":
        write_sidecar(path.with_suffix(".vtt"), cues)
    return truth


# ---------------------------------------------------------------------------------------------- eval corpus


@dataclass(frozen=True)
class LectureSlide:
    """A slide of an evaluation lecture and the queries it answers.

    Attributes:
        title, bullets, narration: as in :class:`Slide` (``camera`` shots have narration only).
        screen: paraphrased queries whose answer is written on the slide (needs on-screen text).
        speech: paraphrased queries whose answer is only spoken (needs the transcript).
        camera: a moving camera shot instead of a slide.
    """

    title: str
    bullets: tuple[str, ...]
    narration: tuple[str, ...]
    screen: tuple[str, ...] = ()
    speech: tuple[str, ...] = ()
    camera: bool = False


@dataclass(frozen=True)
class Lecture:
    """An evaluation lecture: a file stem and its slides (the camera shot is placed by the seed)."""

    stem: str
    slides: tuple[LectureSlide, ...]
    camera: LectureSlide


@dataclass(frozen=True)
class EvalQuery:
    """A query with its ground truth: the one slide (video and interval) that answers it.

    Attributes:
        text: the query, a paraphrase (not a copy) of the slide text or narration.
        video: the video's file name.
        slide: the slide's position in the video.
        start, end: the slide's interval in seconds.
        source: where the answer is: ``"screen"`` (slide text) or ``"speech"`` (narration).
    """

    text: str
    video: str
    slide: int
    start: float
    end: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LectureCorpus:
    """A generated evaluation corpus: its folder, videos and queries with ground truth."""

    folder: Path
    videos: tuple[Path, ...]
    queries: tuple[EvalQuery, ...]
    seconds: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "videos": [p.name for p in self.videos],
            "queries": len(self.queries),
            "seconds": round(self.seconds, 1),
            "seed": self.seed,
        }


def make_lecture_corpus(
    folder: Path,
    *,
    videos: int | None = None,
    seed: int = 0,
    fps: int = 10,
    size: tuple[int, int] = (640, 360),
) -> LectureCorpus:
    """Write the evaluation lectures and ``ground_truth.json`` into ``folder`` (reused when it already
    holds the same corpus).

    The seed decides each video's container, slide lengths (9–14 s), where the camera shot sits and which
    slides fade in; the words and queries are fixed. The same arguments give the same corpus.

    Args:
        folder: output folder (created).
        videos: how many lectures (1–10, default all), the first ``videos`` of :data:`LECTURES`.
        seed: layout seed.
        fps, size: frame rate and ``(width, height)`` of the videos.

    Returns:
        The videos and the queries with their ground truth.

    Raises:
        ConfigError: ``videos`` out of range.
    """
    n = len(LECTURES) if videos is None else videos
    if not 1 <= n <= len(LECTURES):
        raise ConfigError(f"lecture corpus: videos must be 1..{len(LECTURES)}, got {videos}")
    manifest = {"version": CORPUS_VERSION, "videos": n, "seed": seed, "fps": fps, "size": list(size)}
    truth_file = folder / "ground_truth.json"
    stored = _read_truth(truth_file)
    if stored is not None and stored.get("manifest") == manifest and _complete(folder, stored):
        return _corpus(folder, stored, seed)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    offset = rng.randrange(len(CONTAINERS))
    slides_truth: dict[str, list[dict[str, Any]]] = {}
    queries: list[dict[str, Any]] = []
    for i, lecture in enumerate(LECTURES[:n]):
        name = lecture.stem + CONTAINERS[(i + offset) % len(CONTAINERS)]
        layout = _layout(lecture, rng)
        truth = write_lecture(folder / name, [slide for slide, _ in layout], fps=fps, size=size)
        slides_truth[name] = truth
        for k, ((_, spec), t) in enumerate(zip(layout, truth, strict=True)):
            for source, texts in (("screen", spec.screen), ("speech", spec.speech)):
                queries += [_query(text, name, k, t, source) for text in texts]
    data = {"manifest": manifest, "videos": slides_truth, "queries": queries}
    truth_file.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return _corpus(folder, data, seed)


def _layout(lecture: Lecture, rng: random.Random) -> list[tuple[Slide, LectureSlide]]:
    """The lecture's slides with seeded lengths and transitions; the camera shot goes in at a seeded place."""
    specs = list(lecture.slides)
    specs.insert(rng.randint(2, len(specs) - 1), lecture.camera)
    out = []
    for k, spec in enumerate(specs):
        seconds = 8.0 if spec.camera else float(rng.randint(18, 28)) / 2
        fade = k > 0 and not spec.camera and rng.random() < 0.35
        how = "fade" if fade else "cut"
        slide = Slide(spec.title, spec.bullets, spec.narration, seconds, how, spec.camera)
        out.append((slide, spec))
    return out


def _query(text: str, video: str, slide: int, truth: dict[str, Any], source: str) -> dict[str, Any]:
    return EvalQuery(text, video, slide, truth["start"], truth["end"], source).to_dict()


def _read_truth(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def _complete(folder: Path, data: dict[str, Any]) -> bool:
    return all((folder / name).is_file() for name in data.get("videos", {}))


def _corpus(folder: Path, data: dict[str, Any], seed: int) -> LectureCorpus:
    videos = tuple(folder / name for name in data["videos"])
    seconds = sum(slides[-1]["end"] for slides in data["videos"].values())
    return LectureCorpus(folder, videos, tuple(EvalQuery(**q) for q in data["queries"]), seconds, seed)


# ---------------------------------------------------------------------------------------------- the lectures
# Ten lectures on distinct but overlapping topics (attention in transformers and in psychology, regression
# in statistics and machine learning, indexes in databases and vector search, lenses in photography and
# astronomy, noise in photos and in networks), so that words shared across videos are traps. Bullets carry
# facts the narration does not say and the other way round; ``screen`` queries paraphrase the slide,
# ``speech`` queries the narration, with other words.


def _slide(title: str, bullets: str, narration: str, *, screen: str, speech: str) -> LectureSlide:
    split = lambda text: tuple(part.strip() for part in text.split(" | ") if part.strip())  # noqa: E731
    return LectureSlide(title, split(bullets), split(narration), split(screen), split(speech))


def _camera(narration: str, *, speech: str) -> LectureSlide:
    return LectureSlide("", (), tuple(narration.split(" | ")), (), tuple(speech.split(" | ")), camera=True)


LECTURES: tuple[Lecture, ...] = (
    Lecture("ml_basics", (
        _slide("Supervised learning", "Every example carries a label | e.g. spam filters, house prices",
               "We show the model thousands of solved problems. | It keeps adjusting until its guesses agree "
               "with the answers we gave it. | Collecting those answers is often the most expensive part.",
               screen="applications such as junk mail detection and estimating what a home costs",
               speech="gathering the correct answers for training tends to cost the most money"),
        _slide("Loss functions", "Squared error for regression | Cross-entropy for classification",
               "A loss turns every mistake into a single number. | Big mistakes should cost much more than "
               "small ones. | Training is nothing more than making this number as small as possible.",
               screen="which penalty to use when predicting categories versus continuous quantities",
               speech="summarising all of a model's errors as one score that we try to shrink"),
        _slide("Gradient descent", "Walk downhill on the loss surface | Step size is the learning rate",
               "We work out which direction makes the error grow fastest and move the opposite way. | Take "
               "steps that are too big and training bounces around or blows up. | Take steps that are too "
               "small and it crawls for days.",
               screen="the hyperparameter that controls how far each parameter update moves",
               speech="optimisation diverging with huge updates and taking forever with tiny ones"),
        _slide("Overfitting", "Near-perfect on the training set | Falls apart on new examples",
               "A flexible model can simply memorise the quirks of the data it saw. | More data or a "
               "penalty on large weights keeps it honest. | Stopping training early also helps.",
               screen="a model that looks excellent on what it was fit on yet fails on fresh inputs",
               speech="remedies for memorisation such as weight penalties and halting sooner"),
        _slide("Cross-validation", "Split the data into k folds | Train on k-1, test on the rest",
               "Each part of the data takes a turn as the held-out set. | Averaging the scores gives a "
               "steadier estimate than a single split. | It multiplies the compute bill, though.",
               screen="fit on all groups but one and evaluate on the group left out",
               speech="repeating the training several times makes evaluation more expensive to run"),
    ), _camera("Let me sketch this on the whiteboard for a moment. | Imagine a hiker in thick fog feeling "
               "for the steepest way down.",
               speech="an analogy of someone descending a mountain without being able to see")),
    Lecture("photography", (
        _slide("Aperture", "The f-number sets the opening | Wide opening, blurry background",
               "Portrait photographers love a soft, dreamy backdrop. | Landscape shooters close down to "
               "keep everything sharp. | Each full stop halves the light.",
               screen="which number describes how wide the lens opening is",
               speech="landscape photographers stopping down so the whole scene is crisp"),
        _slide("Shutter speed", "Fast freezes motion | Slow shows motion blur",
               "Sports shooters use a thousandth of a second. | Night photographers leave it open for many "
               "seconds on a tripod. | Hand-held, slow settings tend to shake.",
               screen="short exposure times stop action while long ones smear movement",
               speech="keeping the camera on a stand for exposures lasting several seconds at night"),
        _slide("ISO and noise", "Higher ISO brightens the image | But it adds grain",
               "Raising sensitivity amplifies the sensor signal. | Dim concert halls force photographers to "
               "push it very high. | Modern cameras clean up much of the speckle.",
               screen="boosting sensor sensitivity makes pictures grainy",
               speech="shooting in dark music venues needs very high sensitivity"),
        _slide("Focal length", "Wide angle versus telephoto | Measured in millimetres",
               "A long lens makes far away subjects fill the frame. | It also flattens the apparent "
               "distance between objects. | Wide lenses exaggerate whatever is close.",
               screen="the lens property given in mm that separates wide from zoom lenses",
               speech="long lenses compress the sense of depth between things"),
        _slide("Composition", "Rule of thirds | Leading lines draw the eye",
               "Placing the horizon in the middle often looks static. | Put the subject slightly off centre "
               "instead. | Roads and rivers can guide the viewer into the picture.",
               screen="dividing the frame into a three by three grid to place the subject",
               speech="why not to put the horizon right across the centre of the picture"),
    ), _camera("Let me hand this camera around the room. | Feel how heavy the big zoom lens is.",
               speech="passing equipment around so students can feel the weight of a long lens")),
    Lecture("databases", (
        _slide("B-tree indexes", "Sorted, balanced tree of keys | Lookups in logarithmic time",
               "Without an index the database reads every row of the table. | With one it jumps straight "
               "to the matching page. | Each extra index slows down inserts a little.",
               screen="a balanced ordered structure that finds a key in log time",
               speech="the downside of adding many indexes is slower writes"),
        _slide("Transactions", "Atomic, consistent, isolated, durable | All or nothing",
               "Moving money between two accounts must never half happen. | If the server crashes midway "
               "the change is rolled back. | Once confirmed, the transfer survives a power cut.",
               screen="the four guarantees a reliable unit of database work must give",
               speech="a bank transfer interrupted by a crash is undone"),
        _slide("Joins", "Combine rows from two tables | Inner, left, right, full outer",
               "Customers live in one table and their orders in another. | Matching them on the customer "
               "id gives one row per order. | Rows without a partner disappear in the inner version.",
               screen="the variants that keep unmatched rows from one side or both",
               speech="linking each purchase to the buyer who made it"),
        _slide("Query planner", "Chooses how to execute SQL | Relies on table statistics",
               "The same question can be answered in many orders of operations. | The optimiser estimates "
               "the cost of each plan and picks the cheapest. | Outdated statistics lead it to terrible "
               "choices.",
               screen="the component picking an execution strategy for a statement from data statistics",
               speech="why stale estimates make the optimiser choose slow plans"),
        _slide("Replication", "Copies on several servers | Primary writes, replicas read",
               "If one machine dies another copy takes over. | Replicas may lag a few seconds behind. | So "
               "a user can briefly read stale data.",
               screen="one main node accepts writes while the copies serve reads",
               speech="followers running slightly behind so users may briefly see old values"),
    ), _camera("Let me open a terminal and run a query live. | If the demo gods are kind it will finish "
               "quickly.",
               speech="typing a command into a console to show a live example")),
    Lecture("memory", (
        _slide("Working memory", "Holds about four items | Lasts seconds without rehearsal",
               "Try keeping a phone number in mind while someone talks to you. | The digits slip away "
               "almost immediately. | Grouping them into chunks helps.",
               screen="how many things a person can keep in mind at once",
               speech="remembering digits gets easier when they are grouped together"),
        _slide("Selective attention", "We filter out most sensory input | The cocktail party effect",
               "In a noisy room you can follow one conversation and ignore the rest. | Yet hearing your own "
               "name cuts through instantly. | Attention is a limited resource.",
               screen="ignoring most of what our senses pick up, named after a crowded social gathering",
               speech="your own name grabbing you even though you were not listening"),
        _slide("Sleep and memory", "Memories consolidate during sleep | Deep sleep replays the day",
               "Students who pull an all-nighter remember less a week later. | Even a short nap after "
               "studying improves recall. | The brain seems to rehearse new material offline.",
               screen="the nightly process that strengthens what we learned by replaying it",
               speech="staying up all night before an exam leads to worse retention"),
        _slide("Spacing effect", "Spread study over several days | Beats cramming for retention",
               "Reviewing just as you are about to forget is the most efficient moment. | Flashcard apps "
               "schedule reviews this way. | The gaps can grow longer each time.",
               screen="distributing learning sessions over time instead of one long session",
               speech="apps that time each review for the moment just before you forget"),
        _slide("Forgetting curve", "Ebbinghaus, 1885 | Steep loss in the first day",
               "He memorised nonsense syllables and tested himself at intervals. | Most of the material was "
               "gone within a day. | What survived the first week tended to stay.",
               screen="the nineteenth century researcher who measured how memories decay",
               speech="learning meaningless syllables and testing oneself at intervals"),
    ), _camera("Let me try a quick memory experiment with the audience. | Write down as many words from "
               "this list as you can recall.",
               speech="the audience is asked to jot down the words they remember")),
    Lecture("neural_nets", (
        _slide("Artificial neurons", "Weighted sum of the inputs | Plus a bias, then a nonlinearity",
               "The idea was loosely borrowed from brain cells in the nineteen forties. | Each unit on its "
               "own can only draw a straight boundary. | The power comes from wiring many of them together.",
               screen="a unit multiplies what comes in by weights, adds them up with an offset term",
               speech="a single unit by itself can only separate classes with a line"),
        _slide("Backpropagation", "Chain rule applied layer by layer | Errors flow from output to input",
               "After a forward pass we know how wrong the prediction was. | We then work out how much each "
               "weight contributed to that error. | Storing the intermediate results makes this cheap.",
               screen="derivatives of composed functions used to pass blame back towards the first layer",
               speech="figuring out each parameter's share of responsibility for a wrong prediction"),
        _slide("Activation functions", "ReLU, sigmoid, tanh | ReLU is the common default",
               "Without them a deep stack collapses into one linear map. | S-shaped curves flatten out at "
               "the extremes and slow learning down. | The rectifier simply zeroes out negative values.",
               screen="the most popular standard choice of nonlinearity nowadays",
               speech="what a deep model amounts to if every layer is purely linear"),
        _slide("Dropout", "Randomly silence units in training | Typical rate 0.1 to 0.5",
               "The network cannot rely on any single unit being present. | It is like training a large "
               "ensemble of thinner networks at once. | At test time every unit is switched back on.",
               screen="usual probability of switching units off, between ten and fifty percent",
               speech="a regulariser that behaves like averaging many smaller models"),
        _slide("Batch normalisation", "Normalise activations per mini-batch | Learned scale and shift",
               "Keeping each layer's inputs on a stable scale lets us train with larger steps. | Its "
               "behaviour differs between training and inference. | Very small batches make its "
               "statistics noisy.",
               screen="rescaling layer outputs with statistics of each group of examples plus a trainable "
                      "gain and offset",
               speech="problems that show up when the groups of examples are tiny"),
    ), _camera("Questions so far? Let us take a two minute break. | Grab a coffee and we will continue "
               "with regularisation.",
               speech="the lecturer stops for a short pause to get a hot drink")),
    Lecture("networking", (
        _slide("Packets", "Data split into small chunks | Each has a header with addresses",
               "A video call is chopped into thousands of pieces every second. | They may take different "
               "routes and arrive out of order. | The receiver puts them back together.",
               screen="each piece carries a header saying where it comes from and where it goes",
               speech="pieces travelling different paths and showing up in the wrong sequence"),
        _slide("TCP handshake", "SYN, SYN-ACK, ACK | Three messages before any data",
               "Both sides agree on starting sequence numbers. | Lost segments are sent again until "
               "acknowledged. | This reliability costs an extra round trip.",
               screen="how many messages are exchanged to open a connection before sending anything",
               speech="missing pieces are retransmitted until the other side confirms them"),
        _slide("DNS", "Turns names into IP addresses | Answers are cached",
               "Typing a website name starts a lookup chain. | Your resolver asks the root, then the top "
               "level domain, then the site's own servers. | A broken record can take a site offline.",
               screen="translating human readable hostnames into numeric addresses, with answers kept for "
                      "reuse",
               speech="the chain of servers consulted, starting from the root"),
        _slide("Routing", "Routers forward hop by hop | Tables pick the next hop",
               "No router knows the whole path to the destination. | Each one only knows a good neighbour "
               "to hand the packet to. | Internet providers exchange these routes using BGP.",
               screen="each device passes traffic on to the next device using a lookup table",
               speech="providers sharing reachability information between their networks"),
        _slide("TLS encryption", "Encrypts traffic in transit | Certificates prove identity",
               "The padlock in your browser means this layer is active. | Keys are agreed without ever "
               "being sent in the clear. | Anyone listening on the cafe wifi sees only noise.",
               screen="signed documents proving that a server is who it claims to be",
               speech="someone snooping on a coffee shop hotspot only sees scrambled data"),
    ), _camera("Let me unplug this cable to show what happens. | The video freezes, then recovers on the "
               "wireless link.",
               speech="pulling out a wire and the stream switching over to wifi")),
    Lecture("statistics", (
        _slide("Mean and median", "Mean: sum divided by count | Median: the middle value",
               "One billionaire walking into a bar moves the average income enormously. | The middle value "
               "barely changes. | That is why reports on wages prefer it.",
               screen="adding up all the numbers and dividing by how many there are",
               speech="a very rich person entering a room distorts the typical earnings figure"),
        _slide("Variance", "Average squared distance from the mean | Standard deviation is its root",
               "Two classes can share the same average grade and still look very different. | In one, "
               "everybody scores about the same. | In the other, results range from failing to perfect.",
               screen="taking the square root of the mean squared deviation",
               speech="two groups of students with equal averages but very different spreads of marks"),
        _slide("Hypothesis tests", "Null hypothesis: no effect | p-value below 0.05 is significant",
               "We assume nothing interesting is going on and ask how surprising the data would be. | A tiny "
               "probability makes us doubt that assumption. | It never proves the effect is large or "
               "important.",
               screen="the conventional threshold for calling a result significant",
               speech="a significant result does not show that the effect matters in practice"),
        _slide("Confidence intervals", "Range likely to contain the truth | Wider with small samples",
               "Pollsters report a margin of error of plus or minus three points. | Ninety five percent of "
               "intervals built this way capture the true value. | Asking more people narrows the range.",
               screen="why the plausible range for the true value widens with fewer observations",
               speech="the error margin that election surveys publish"),
        _slide("Linear regression", "Fit a straight line to the points | Least squares on residuals",
               "The slope tells us how much the outcome changes per unit of input. | Outliers can drag the "
               "line far away from most points. | Always plot the data before trusting the fit.",
               screen="minimising the squared leftovers when drawing a line through data",
               speech="how a few extreme points can pull the fitted line away"),
    ), _camera("Let me roll these dice a few times to show you randomness. | Notice how the totals bunch up "
               "around seven.",
               speech="demonstrating chance by throwing a pair of dice whose sums cluster in the middle")),
    Lecture("astronomy", (
        _slide("Planetary orbits", "Orbits are ellipses | The sun sits at one focus",
               "Earth is slightly closer to the sun in January than in July. | Seasons come from the tilt "
               "of the axis, not the distance. | Kepler worked this out from careful observations.",
               screen="planets travel on oval paths with our star at one focal point",
               speech="summer and winter are caused by the tilt rather than by how far away we are"),
        _slide("Gravity", "Every mass attracts every other | Falls off with distance squared",
               "The same force that drops an apple keeps the moon in orbit. | The moon is constantly "
               "falling towards us and missing. | Tides come from its pull on the oceans.",
               screen="the attraction weakens with the square of the separation",
               speech="the moon's pull makes the sea rise and fall"),
        _slide("Light years", "Distance light travels in a year | About 9.5 trillion km",
               "Looking at a distant star means looking into the past. | Light from the nearest star left "
               "over four years ago. | Some of the stars you see may no longer exist.",
               screen="how many kilometres this unit of distance amounts to",
               speech="seeing faraway stars as they were long ago"),
        _slide("Telescopes", "A bigger mirror collects more light | In orbit, no atmosphere",
               "Twinkling stars are pretty but ruin sharp images. | Adaptive optics bend the mirror hundreds "
               "of times a second to cancel it. | Radio dishes see what our eyes cannot.",
               screen="why larger mirrors gather more light and observatories in space escape the air",
               speech="deformable mirrors correcting the shimmer of the atmosphere"),
        _slide("Black holes", "Nothing escapes past the horizon | Born when massive stars collapse",
               "Time runs slower near one than far away. | The first picture of one's shadow was released "
               "in 2019. | A giant one sits at the centre of our galaxy.",
               screen="how these objects form from dying heavy stars",
               speech="clocks ticking more slowly close to one"),
    ), _camera("Let me dim the lights and show you tonight's sky. | That bright dot low in the west is "
               "actually Venus.",
               speech="pointing out a planet that is visible in the evening sky")),
    Lecture("transformers", (
        _slide("Tokenization", "Text is split into subword pieces | Vocabulary of about 50k tokens",
               "Rare words get broken into smaller fragments the model has seen before. | This way there is "
               "never a word it cannot represent. | Prices and length limits are counted in these pieces.",
               screen="how many entries does the fragment vocabulary typically have",
               speech="billing and context limits are measured in word fragments rather than words"),
        _slide("Self-attention", "Queries, keys and values | Every token looks at every other",
               "Each position decides which other positions matter for its meaning. | The cost grows with "
               "the square of the sequence length. | That is why long documents are expensive.",
               screen="the three kinds of vectors that each position produces",
               speech="why processing very long inputs becomes quadratically costly"),
        _slide("Positional encoding", "Attention alone ignores word order | Add position signals",
               "The original paper used sine and cosine waves of different frequencies. | Newer models "
               "rotate the vectors instead. | Either way, the model learns where each token sits.",
               screen="how the model is told about the order of words in the sequence",
               speech="wave patterns of varying frequency used in the first design"),
        _slide("Pretraining", "Predict the next token | Trained on web-scale text",
               "No human labels are needed because the text supervises itself. | This stage takes weeks on "
               "thousands of accelerators. | The result is a general model that knows a lot about language.",
               screen="guessing the following word over huge amounts of internet writing",
               speech="the expensive stage that runs for weeks on many chips without human annotation"),
        _slide("Fine-tuning", "Adapt the model to one task | Small labelled dataset",
               "We start from the general model instead of from random weights. | A few thousand examples "
               "are often enough. | Adapters let us change only a tiny fraction of the parameters.",
               screen="specialising a model for a single job with a modest annotated set",
               speech="plug-in modules that update only a small share of the weights"),
    ), _camera("Let me pull up the original paper from twenty seventeen. | Its title claimed that attention "
               "is all you need.",
               speech="the famous 2017 article whose name says attention is sufficient")),
    Lecture("video_search", (
        _slide("Shot detection", "Find hard cuts and fades | Compare colour histograms",
               "A video is first split wherever the camera changes. | Gradual dissolves are much harder to "
               "catch than abrupt cuts. | Neural detectors learn both kinds.",
               screen="comparing colour distributions between frames to find boundaries",
               speech="slow transitions are trickier to spot than abrupt ones"),
        _slide("Clip embeddings", "Each scene becomes a vector | Text and video share one space",
               "A sentence and a matching clip land close together. | Search then becomes a nearest "
               "neighbour lookup. | The model was trained on millions of captioned videos.",
               screen="turning segments into vectors in a space shared with language",
               speech="the model learned from millions of videos with descriptions"),
        _slide("Vector databases", "Approximate nearest neighbours | HNSW graph index",
               "Comparing the query with every stored vector is too slow at scale. | A graph lets the "
               "search hop quickly toward close neighbours. | Filters restrict results to one video or a "
               "time range.",
               screen="the graph-based structure used for approximate neighbour search",
               speech="restricting results to a single recording or a time window"),
        _slide("Hybrid search", "Dense vectors plus BM25 keywords | Fuse rankings with RRF",
               "Meaning based search misses exact names and numbers. | Keyword search misses synonyms. | "
               "Combining the two lists by rank gets the best of both.",
               screen="combining keyword scoring with embeddings and merging their rankings",
               speech="semantic retrieval overlooks exact product codes and names"),
        _slide("Reranking", "Rescore the top candidates | Heavier model, fewer items",
               "The first stage casts a wide, cheap net. | A slower model then reads each candidate with "
               "the question. | Only a few dozen items are worth that cost.",
               screen="a more expensive model rescoring only the best few results",
               speech="a fast broad first pass followed by careful reading of each candidate"),
    ), _camera("Let me search our lecture archive live. | Type a question and watch the matching moment "
               "start playing.",
               speech="a live demo where asking something jumps straight to the right moment")),
)  # fmt: skip
