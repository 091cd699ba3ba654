"""Synthesize videos with known shots: hard cuts, cross-fades and fades through black.

Each scene is a coloured grating with a moving disc, drawn from a palette (colours) and a pattern
(orientation, frequency, motion). Two scenes with the same palette and different patterns look alike in
colour but differ in layout: "two camera angles of one place". The ground truth comes back as
:class:`SceneVideo`.

Example:
    >>> video = write_scenes(tmp_path / "v.mp4", [Scene(40, 0), Scene(40, 1)], [("dissolve", 10)])
    >>> video.transitions[0].start_frame, video.transitions[0].end_frame
    (40, 50)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.synth import Cue, write_video

PALETTES = (
    ((230, 40, 30), (250, 210, 60)),  # red / yellow
    ((20, 60, 200), (120, 220, 250)),  # blue / cyan
    ((30, 150, 50), (200, 240, 120)),  # green / lime
    ((120, 30, 140), (240, 150, 210)),  # purple / pink
    ((90, 60, 30), (230, 200, 160)),  # brown / sand
    ((20, 20, 20), (180, 180, 180)),  # grey
    ((200, 90, 10), (40, 30, 120)),  # orange / navy
    ((10, 120, 120), (250, 250, 250)),  # teal / white
)


@dataclass(frozen=True)
class Scene:
    """One shot's content: ``frames`` pure frames of palette ``palette`` drawn with pattern ``pattern``."""

    frames: int
    palette: int
    pattern: int | None = None  # default: same number as the palette
    speed: float = 1.0  # motion speed multiplier (1.0 ≈ one pixel per frame)


@dataclass(frozen=True)
class Transition:
    """Ground truth for one boundary. Frames ``[start_frame, end_frame)`` mix both scenes.

    A hard cut has ``start_frame == end_frame`` == the first frame of the new scene.
    """

    kind: str  # "cut" | "dissolve" | "fade"
    start_frame: int
    end_frame: int

    @property
    def gradual(self) -> bool:
        return self.kind != "cut"

    def hit(self, frame: int, tolerance: int = 2) -> bool:
        """Whether a detected boundary at ``frame`` (first frame of a new shot) finds this transition."""
        if self.gradual:
            return self.start_frame <= frame <= self.end_frame
        return abs(frame - self.start_frame) <= tolerance


@dataclass(frozen=True)
class SceneVideo:
    """A synthesized video and its ground truth."""

    path: Path
    fps: float
    n_frames: int
    transitions: tuple[Transition, ...]
    scene_ranges: tuple[tuple[int, int], ...]  # per scene, [first frame showing it, end) incl. transitions
    times: np.ndarray = field(repr=False)  # exact time of every frame (what was written as PTS)

    @property
    def cut_frames(self) -> list[int]:
        """First frame of each new shot for hard cuts (where a detector must put the boundary)."""
        return [t.start_frame for t in self.transitions if not t.gradual]

    @property
    def cut_times(self) -> list[float]:
        return [float(self.times[f]) for f in self.cut_frames]

    @property
    def duration(self) -> float:
        return float(self.times[-1] + 1.0 / self.fps)


def scene_frame(scene: Scene, t: int, width: int, height: int) -> np.ndarray:
    """Frame ``t`` (counted from the scene's first frame) of ``scene`` as float RGB ``[H, W, 3]``."""
    pattern = scene.palette if scene.pattern is None else scene.pattern
    low, high = (np.array(c, dtype=np.float32) for c in PALETTES[scene.palette % len(PALETTES)])
    angle = ((pattern * 5) % 12 + 0.5) * np.pi / 12  # patterns 0-11: 12 orientations, 15° apart
    period = 9.0 + 4.0 * (pattern % 3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = (xx * np.cos(angle) + yy * np.sin(angle) - scene.speed * t) * (2 * np.pi / period)
    grating = (0.5 + 0.5 * np.sin(phase))[..., None]
    img = low * (1 - grating) + high * grating
    cx = width * (0.3 + 0.4 * ((pattern * 0.37) % 1)) + 6 * np.sin(scene.speed * t / 12)
    cy = height * 0.5 + 0.25 * height * np.cos(scene.speed * t / 15 + pattern)
    disc = (xx - cx) ** 2 + (yy - cy) ** 2 < (0.18 * height) ** 2
    img[disc] = 255 - 0.5 * (low + high)
    return img


def _mix(kind: str, a: np.ndarray, b: np.ndarray, pos: int, length: int) -> np.ndarray:
    u = (pos + 1) / (length + 1)
    if kind == "dissolve":
        return (1 - u) * a + u * b
    return a * (1 - 2 * u) if u < 0.5 else b * (2 * u - 1)


def _timeline(
    scenes: Sequence[Scene], transitions: Sequence[tuple[str, int]]
) -> tuple[list[tuple[int, int, int, int, int]], list[Transition], list[tuple[int, int]]]:
    """Per output frame: (scene a, t in a, scene b or -1, position in transition, transition length)."""
    frames: list[tuple[int, int, int, int, int]] = []
    truth: list[Transition] = []
    ranges: list[tuple[int, int]] = []
    first = 0
    for k, scene in enumerate(scenes):
        start = len(frames) - (transitions[k - 1][1] if k and transitions[k - 1][0] != "cut" else 0)
        offset = len(frames) - start  # frames of this scene already shown inside the transition
        frames += [(k, offset + t, -1, 0, 0) for t in range(scene.frames)]
        ranges.append((first, len(frames)))
        if k + 1 < len(scenes):
            kind, length = transitions[k]
            length = 0 if kind == "cut" else length
            at = len(frames)
            frames += [(k, scene.frames + offset + p, k + 1, p, length) for p in range(length)]
            truth.append(Transition(kind, at, at + length))
            ranges[-1] = (first, len(frames))
            first = at
    return frames, truth, ranges


def write_scenes(
    path: str | Path,
    scenes: Sequence[Scene],
    transitions: Sequence[tuple[str, int]] | None = None,
    *,
    fps: float = 25,
    size: tuple[int, int] = (96, 54),
    subtitles: Sequence[Cue] = (),
    pts_ms: Sequence[int] | None = None,
) -> SceneVideo:
    """Write ``scenes`` joined by ``transitions`` (``("cut", 0)``, ``("dissolve", n)``, ``("fade", n)``).

    Transition frames are extra frames between the scenes' pure frames; default: hard cuts everywhere.
    ``pts_ms`` gives every frame's time in ms (variable frame rate); ``fps`` then only sets the last
    frame's length in ``SceneVideo.duration``.
    """
    transitions = list(transitions or [("cut", 0)] * (len(scenes) - 1))
    if len(transitions) != len(scenes) - 1:
        raise ValueError("need one transition between each pair of scenes")
    plan, truth, ranges = _timeline(scenes, transitions)

    def frame_fn(i: int, width: int, height: int) -> np.ndarray:
        a, t, b, pos, length = plan[i]
        img = scene_frame(scenes[a], t, width, height)
        if b >= 0:
            nxt = scene_frame(scenes[b], pos, width, height)
            img = _mix(transitions[a][0], img, nxt, pos, length)
        return np.clip(np.rint(img), 0, 255).astype(np.uint8)

    n = len(plan)
    write_video(path, n, fps=fps, size=size, frame_fn=frame_fn, subtitles=subtitles, pts_ms=pts_ms)
    ms = pts_ms if pts_ms is not None else [round(i * 1000 / fps) for i in range(n)]
    times = np.array([m / 1000 for m in ms[:n]])
    return SceneVideo(Path(path), fps, n, tuple(truth), tuple(ranges), times)
