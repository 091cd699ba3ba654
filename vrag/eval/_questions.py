"""Time-aware questions over the generated lectures: relational, moment, unanswerable and two-step, with a
training split (for choosing thresholds) and a held-out split (for reporting).

Every question is generated from the lecture structure in ``ground_truth.json`` (exact slide intervals,
titles, narration cues) or written by hand (the unanswerable ones), so its truth is exact:

- ``plain``: the retrieval eval's paraphrased queries (answer: one slide).
- ``relational``: "what comes right after the part about <slide k's title>?" (slide k+1), "just before"
  (k-1), "between <k> and <k+2>" (k+1), "the first / last time they mention <word>" (the first / last
  slide whose words hold it; words found on two or more slides of one lecture and in no other),
  "how does the talk start / end" asked about one video (first / last slide).
- ``moment``: the paraphrased speech queries whose answer is one narration sentence or a run of them
  (labelled by hand below); truth: those cues' exact times.
- ``unanswerable``: questions about topics the lectures never cover, far ("capital of France") and near
  ("Hawking radiation" beside a black-holes slide), hand-written and generated from templates.
- ``two-step``: "what did they say about <a paraphrase of slide i> before showing <slide j's title>?"
  (slide i, j > i) and the "after" form.

The split is by lecture (even positions train, odd held-out) for questions about a lecture, and by
position for the unanswerable ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["KINDS", "SPLITS", "TimeQuestion", "make_questions"]

KINDS = ("plain", "relational", "moment", "unanswerable", "two-step")
SPLITS = ("train", "held-out")


@dataclass(frozen=True)
class TimeQuestion:
    """A question with its truth.

    Attributes:
        kind: one of :data:`KINDS`.
        text: the question.
        split: ``"train"`` or ``"held-out"``.
        video: the answer's video file name (``None``: unanswerable).
        start, end: the answer's slide interval (seconds).
        moment: the answering cues' span (moment questions).
        relation: the relation the question asks about (relational and two-step questions).
        within: the video the question is asked about (searched with ``video=``), if any.
    """

    kind: str
    text: str
    split: str
    video: str | None = None
    start: float = 0.0
    end: float = 0.0
    moment: tuple[float, float] | None = None
    relation: str | None = None
    within: str | None = None

    @property
    def answerable(self) -> bool:
        return self.video is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_questions(folder: Path) -> list[TimeQuestion]:
    """Every question for the corpus in ``folder`` (made by ``make_lecture_corpus``), in a fixed order."""
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    videos: dict[str, list[dict[str, Any]]] = truth["videos"]
    out: list[TimeQuestion] = []
    for q in truth["queries"]:
        slide = videos[q["video"]][q["slide"]]
        out.append(_at("plain", q["text"], _split_of(videos, q["video"]), q["video"], slide))
    out += _moments(videos, truth["queries"])
    for name, slides in videos.items():
        split = _split_of(videos, name)
        out += _relational(name, slides, split) + _mentions(name, slides, videos, split)
        out += _two_step(name, slides, truth["queries"], split)
    out += _unanswerable()
    return out


def _split_of(videos: Mapping[str, Any], name: str) -> str:
    return SPLITS[list(videos).index(name) % 2]


def _at(kind: str, text: str, split: str, video: str, slide: Mapping[str, Any], **more: Any) -> TimeQuestion:
    return TimeQuestion(kind, text, split, video, float(slide["start"]), float(slide["end"]), **more)


# ---------------------------------------------------------------------------------------------- relational

_AFTER = (
    "what comes right after the part about {}?",
    "what is shown just after the slide on {}?",
    "what follows the part about {}?",
    "right after they discuss {}, what comes next?",
)
_BEFORE = (
    "what was covered just before the part about {}?",
    "what comes right before they talk about {}?",
    "what precedes the section on {}?",
)
_BETWEEN = (
    "what comes between the part about {} and the part about {}?",
    "what is discussed between {} and {}?",
)


def _relational(name: str, slides: Sequence[Mapping[str, Any]], split: str) -> list[TimeQuestion]:
    out = []
    for k, slide in enumerate(slides):
        title = str(slide["title"]).lower()
        if not title:
            continue  # the camera shot has no title to name it by
        if k + 1 < len(slides):
            text = _AFTER[k % len(_AFTER)].format(title)
            out.append(_at("relational", text, split, name, slides[k + 1], relation="after"))
        if k > 0:
            text = _BEFORE[k % len(_BEFORE)].format(title)
            out.append(_at("relational", text, split, name, slides[k - 1], relation="before"))
        if k + 2 < len(slides) and slides[k + 2]["title"]:
            text = _BETWEEN[k % len(_BETWEEN)].format(title, str(slides[k + 2]["title"]).lower())
            out.append(_at("relational", text, split, name, slides[k + 1], relation="between"))
    out.append(_at("relational", "how does the talk start?", split, name, slides[0], relation="start",
                   within=name))  # fmt: skip
    out.append(_at("relational", "what is said at the end of the lecture?", split, name, slides[-1],
                   relation="end", within=name))  # fmt: skip
    return out


def _mentions(
    name: str, slides: Sequence[Mapping[str, Any]], videos: Mapping[str, Sequence[Any]], split: str
) -> list[TimeQuestion]:
    """First / last mention of the words found on two or more slides of this lecture and in no other."""
    from vrag.chunking._text import content_words

    def words(slide: Mapping[str, Any]) -> set[str]:
        return set(content_words(" ".join([slide["title"], *slide["bullets"], *slide["narration"]])))

    others = {w for other, sl in videos.items() if other != name for s in sl for w in words(s)}
    where: dict[str, list[int]] = {}
    for k, slide in enumerate(slides):
        for word in sorted(words(slide)):
            where.setdefault(word, []).append(k)
    out = []
    for word, at in sorted(where.items()):
        if len(at) < 2 or word in others or len(word) < 5:
            continue
        first, last = slides[at[0]], slides[at[-1]]
        out.append(_at("relational", f"when do they first mention {word}?", split, name, first,
                       relation="first"))  # fmt: skip
        out.append(_at("relational", f"the last time they mention {word}", split, name, last,
                       relation="last"))  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------- moments

MOMENT_CUES: dict[str, tuple[int, int]] = {
    # speech query → (first, last) narration cue that answers it, labelled by reading each slide; queries
    # answered by the whole slide (every cue) are left out
    "gathering the correct answers for training tends to cost the most money": (2, 2),
    "optimisation diverging with huge updates and taking forever with tiny ones": (1, 2),
    "remedies for memorisation such as weight penalties and halting sooner": (1, 2),
    "repeating the training several times makes evaluation more expensive to run": (2, 2),
    "an analogy of someone descending a mountain without being able to see": (1, 1),
    "landscape photographers stopping down so the whole scene is crisp": (1, 1),
    "keeping the camera on a stand for exposures lasting several seconds at night": (1, 1),
    "shooting in dark music venues needs very high sensitivity": (1, 1),
    "long lenses compress the sense of depth between things": (1, 1),
    "why not to put the horizon right across the centre of the picture": (0, 0),
    "the downside of adding many indexes is slower writes": (2, 2),
    "a bank transfer interrupted by a crash is undone": (1, 1),
    "linking each purchase to the buyer who made it": (1, 1),
    "why stale estimates make the optimiser choose slow plans": (2, 2),
    "followers running slightly behind so users may briefly see old values": (1, 2),
    "typing a command into a console to show a live example": (0, 0),
    "remembering digits gets easier when they are grouped together": (2, 2),
    "your own name grabbing you even though you were not listening": (1, 1),
    "staying up all night before an exam leads to worse retention": (0, 0),
    "apps that time each review for the moment just before you forget": (0, 1),
    "learning meaningless syllables and testing oneself at intervals": (0, 0),
    "the audience is asked to jot down the words they remember": (1, 1),
    "a single unit by itself can only separate classes with a line": (1, 1),
    "figuring out each parameter's share of responsibility for a wrong prediction": (1, 1),
    "what a deep model amounts to if every layer is purely linear": (0, 0),
    "a regulariser that behaves like averaging many smaller models": (1, 1),
    "problems that show up when the groups of examples are tiny": (2, 2),
    "pieces travelling different paths and showing up in the wrong sequence": (1, 1),
    "missing pieces are retransmitted until the other side confirms them": (1, 1),
    "the chain of servers consulted, starting from the root": (1, 1),
    "providers sharing reachability information between their networks": (2, 2),
    "someone snooping on a coffee shop hotspot only sees scrambled data": (2, 2),
    "a very rich person entering a room distorts the typical earnings figure": (0, 0),
    "two groups of students with equal averages but very different spreads of marks": (0, 0),
    "a significant result does not show that the effect matters in practice": (2, 2),
    "the error margin that election surveys publish": (0, 0),
    "how a few extreme points can pull the fitted line away": (1, 1),
    "summer and winter are caused by the tilt rather than by how far away we are": (1, 1),
    "the moon's pull makes the sea rise and fall": (2, 2),
    "seeing faraway stars as they were long ago": (0, 0),
    "deformable mirrors correcting the shimmer of the atmosphere": (1, 1),
    "clocks ticking more slowly close to one": (0, 0),
    "pointing out a planet that is visible in the evening sky": (1, 1),
    "billing and context limits are measured in word fragments rather than words": (2, 2),
    "why processing very long inputs becomes quadratically costly": (1, 2),
    "wave patterns of varying frequency used in the first design": (0, 0),
    "the expensive stage that runs for weeks on many chips without human annotation": (0, 1),
    "plug-in modules that update only a small share of the weights": (2, 2),
    "slow transitions are trickier to spot than abrupt ones": (1, 1),
    "the model learned from millions of videos with descriptions": (2, 2),
    "restricting results to a single recording or a time window": (2, 2),
    "semantic retrieval overlooks exact product codes and names": (0, 0),
    "a fast broad first pass followed by careful reading of each candidate": (0, 1),
    "a live demo where asking something jumps straight to the right moment": (1, 1),
}


def _moments(
    videos: Mapping[str, Sequence[Mapping[str, Any]]], queries: Sequence[Mapping[str, Any]]
) -> list[TimeQuestion]:
    out = []
    for q in queries:
        if q["source"] != "speech" or q["text"] not in MOMENT_CUES:
            continue
        slide = videos[q["video"]][q["slide"]]
        first, last = MOMENT_CUES[q["text"]]
        cues = slide["cues"]
        span = (float(cues[first][0]), float(cues[last][1]))
        out.append(_at("moment", q["text"], _split_of(videos, q["video"]), q["video"], slide, moment=span))
    return out


# ---------------------------------------------------------------------------------------------- two-step


def _two_step(
    name: str, slides: Sequence[Mapping[str, Any]], queries: Sequence[Mapping[str, Any]], split: str
) -> list[TimeQuestion]:
    said = {q["slide"]: q["text"] for q in queries if q["video"] == name and q["source"] == "speech"}
    out = []
    for i in range(len(slides) - 1):
        j = i + 1 if i % 2 == 0 else min(i + 2, len(slides) - 1)
        if i in said and slides[j]["title"]:
            text = f"what did they say about {said[i]} before showing {str(slides[j]['title']).lower()}?"
            out.append(_at("two-step", text, split, name, slides[i], relation="before"))
        if j in said and slides[i]["title"] and i % 2 == 1:
            text = f"what do they say about {said[j]} after the part about {str(slides[i]['title']).lower()}?"
            out.append(_at("two-step", text, split, name, slides[j], relation="after"))
    return out


# ---------------------------------------------------------------------------------------------- unanswerable

UNANSWERABLE = (
    # far from every lecture
    "what is the capital of France?",
    "how long should I knead sourdough bread?",
    "who won the football world cup in 2018?",
    "how do plants turn sunlight into sugar?",
    "what caused the French revolution?",
    "how do I knit a scarf?",
    "which grape is used for champagne?",
    "how do volcanoes erupt?",
    "what is the offside rule in football?",
    "how do I file my tax return?",
    "how do vaccines train the immune system?",
    "what are the best chess openings for beginners?",
    "how do you tune a guitar?",
    "who painted the Mona Lisa?",
    "how many legs does a spider have?",
    "what is the recipe for a margherita pizza?",
    "how do bees tell each other where flowers are?",
    "how do you change a flat tyre?",
    "who discovered penicillin?",
    "what is the plot of Hamlet?",
    # near a lecture's topic, but not answered by it
    "how do convolutional layers share weights across an image?",
    "what is the difference between UDP and TCP?",
    "how does a firewall block incoming traffic?",
    "how are SQL views different from tables?",
    "what is the speed of light in kilometres per second?",
    "how does a camera's autofocus find the subject?",
    "how do recurrent neural networks process sequences?",
    "what is the distance from the Earth to Mars?",
    "how does garbage collection work in Java?",
    "what is the time complexity of quicksort?",
    "how do noise-cancelling headphones work?",
    "how does the lens of the human eye focus on the retina?",
    "how do black holes evaporate through Hawking radiation?",
    "how does memory paging work in an operating system?",
    "what schedule does cosine annealing give the learning rate?",
    "how do you shard a database across data centres by customer region?",
)
_ABSENT = (
    "photosynthesis", "the roman empire", "knitting patterns", "sourdough baking", "the stock market",
    "jazz improvisation", "mountain climbing gear", "medieval castles", "coral reefs", "electric cars",
    "wine tasting", "origami", "the olympic games", "hurricanes", "yoga poses", "coffee roasting",
    "ancient egypt", "bird migration", "solar panels on houses", "the human heart",
)  # fmt: skip
_ABSENT_TEMPLATES = (
    "what do they say about {}?",
    "is there a part about {}?",
    "where do they explain {}?",
    "what is mentioned about {}?",
)
_ABSENT_RELATIONAL = (
    "what comes right after the part about {}?",
    "what was covered just before they talk about {}?",
)


def _unanswerable() -> list[TimeQuestion]:
    texts = list(UNANSWERABLE)
    texts += [_ABSENT_TEMPLATES[i % len(_ABSENT_TEMPLATES)].format(t) for i, t in enumerate(_ABSENT)]
    texts += [_ABSENT_RELATIONAL[i % 2].format(t) for i, t in enumerate(_ABSENT[:8])]
    return [TimeQuestion("unanswerable", t, SPLITS[i % 2]) for i, t in enumerate(texts)]
