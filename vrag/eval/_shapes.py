"""Procedural shape clips with known content and known temporal order (numpy only, deterministic).

A :class:`ShapeScene` names what a clip shows (a coloured shape on a plain background) and how it moves;
:func:`render` draws it as uint8 RGB frames, :func:`caption` describes it in words, :func:`scenes` draws
random scenes reproducibly, and :func:`render_sequence` / :func:`caption_sequence` compose "A, then B" clips.

Rendering is anti-aliased (coverage from a signed distance, one sample per pixel) and fully determined by
``(scene, frames, size, seed)``; ``seed`` only jitters the object's size and placement a little, so two seeds
give the same content and motion drawn slightly differently. Reverse motions are rendered as the exact
time-reversal of their forward motion, so ``render(reversed_scene(s), seed=k)`` equals
``render(s, seed=k)[::-1]`` frame for frame.

Example:
    >>> scene = ShapeScene("circle", "red", "blue", "left-to-right")
    >>> clip = render(scene, frames=8, size=32)
    >>> clip.shape, clip.dtype.name
    ((8, 32, 32, 3), 'uint8')
    >>> caption(scene)
    'a red circle moving left to right on a blue background'
    >>> bool((render(reversed_scene(scene), frames=8, size=32) == clip[::-1]).all())
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from vrag.errors import ConfigError

__all__ = [
    "COLOURS",
    "MOTIONS",
    "SHAPES",
    "ShapeScene",
    "caption",
    "caption_sequence",
    "render",
    "render_sequence",
    "reversed_scene",
    "scenes",
]

#: colour name → RGB, used for shapes and backgrounds alike
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 220, 40),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "orange": (245, 140, 20),
    "purple": (140, 50, 190),
    "grey": (128, 128, 128),
}
SHAPES = ("square", "circle", "triangle", "diamond")
#: forward motion → its time-reversal (and back); "static" is its own reversal
_REVERSE = {
    "left-to-right": "right-to-left",
    "up": "down",
    "appear": "disappear",
    "grow": "shrink",
}
_BACKWARD = {b: f for f, b in _REVERSE.items()}
MOTIONS = ("static", *(m for pair in _REVERSE.items() for m in pair))
_PHRASES = {
    "static": "",
    "left-to-right": "moving left to right",
    "right-to-left": "moving right to left",
    "up": "moving up",
    "down": "moving down",
    "appear": "appearing",
    "disappear": "disappearing",
    "grow": "growing",
    "shrink": "shrinking",
}
_RADIUS = 0.16  # object half-size as a fraction of the frame
_JITTER = 0.06  # placement jitter (fraction of the frame) between seeds
_SIZE_JITTER = 0.1  # relative size jitter between seeds


@dataclass(frozen=True)
class ShapeScene:
    """One shape on a plain background, and how it moves over the clip.

    Attributes:
        shape: one of :data:`SHAPES` (``"square"``, ``"circle"``, ``"triangle"``, ``"diamond"``).
        colour: the shape's colour, a name in :data:`COLOURS`.
        background: the background colour, a name in :data:`COLOURS` (different from ``colour``).
        motion: one of :data:`MOTIONS`: ``"left-to-right"``, ``"right-to-left"``, ``"up"``, ``"down"``,
            ``"appear"``, ``"disappear"``, ``"grow"``, ``"shrink"`` or ``"static"``.

    Example:
        >>> ShapeScene("square", "yellow", "black", "up").motion
        'up'
    """

    shape: str
    colour: str
    background: str
    motion: str = "static"

    def __post_init__(self) -> None:
        for field, value, allowed in (
            ("shape", self.shape, SHAPES),
            ("colour", self.colour, tuple(COLOURS)),
            ("background", self.background, tuple(COLOURS)),
            ("motion", self.motion, MOTIONS),
        ):
            if value not in allowed:
                raise ConfigError(
                    f"ShapeScene {field} {value!r} is not known; use one of {', '.join(allowed)}"
                )
        if self.colour == self.background:
            raise ConfigError(
                f"ShapeScene colour and background are both {self.colour!r}; the shape would be invisible, "
                "pick a different background"
            )


def reversed_scene(scene: ShapeScene) -> ShapeScene:
    """The same scene played backwards (left-to-right ↔ right-to-left, appear ↔ disappear, ...)."""
    motion = _REVERSE.get(scene.motion) or _BACKWARD.get(scene.motion) or scene.motion
    return replace(scene, motion=motion)


def caption(scene: ShapeScene) -> str:
    """Describe a scene in words, e.g. ``"a red circle moving left to right on a blue background"``."""
    phrase = _PHRASES[scene.motion]
    middle = f" {phrase}" if phrase else ""
    back = f"{_article(scene.background)} {scene.background} background"
    return f"{_article(scene.colour)} {scene.colour} {scene.shape}{middle} on {back}"


def caption_sequence(parts: Sequence[ShapeScene]) -> str:
    """Describe an "A, then B" clip, e.g. ``"a red circle on a blue background, then a green square ..."``."""
    _check_parts(parts)
    return ", then ".join(caption(p) for p in parts)


def scenes(seed: int, n: int) -> list[ShapeScene]:
    """``n`` random scenes (shape, colour, background, motion), the same for the same ``seed``."""
    if n < 0:
        raise ConfigError(f"scenes(n={n}): n must be >= 0")
    rng = np.random.default_rng(seed)
    colours = list(COLOURS)
    out = []
    for _ in range(n):
        colour, background = rng.choice(len(colours), size=2, replace=False)
        out.append(
            ShapeScene(
                shape=SHAPES[rng.integers(len(SHAPES))],
                colour=colours[colour],
                background=colours[background],
                motion=MOTIONS[rng.integers(len(MOTIONS))],
            )
        )
    return out


def render(scene: ShapeScene, *, frames: int = 16, size: int = 64, seed: int = 0) -> np.ndarray:
    """Draw a scene as a clip.

    Args:
        scene: what to draw.
        frames: number of frames (the motion spans the whole clip).
        size: frame height and width in pixels.
        seed: jitters the object's size (±10 %) and placement (±6 % of the frame); same seed, same pixels.

    Returns:
        uint8 ``[frames, size, size, 3]`` RGB.

    Raises:
        ConfigError: ``frames < 1`` or ``size < 8``.
    """
    _check_shape(frames, size)
    if scene.motion in _BACKWARD:
        forward = replace(scene, motion=_BACKWARD[scene.motion])
        return np.ascontiguousarray(render(forward, frames=frames, size=size, seed=seed)[::-1])
    rng = np.random.default_rng([seed, size])
    radius = _RADIUS * size * (1 + rng.uniform(-_SIZE_JITTER, _SIZE_JITTER))
    offset = rng.uniform(-_JITTER, _JITTER, size=2) * size
    bg = np.asarray(COLOURS[scene.background], np.float32)
    fg = np.asarray(COLOURS[scene.colour], np.float32)
    centre = (np.arange(size, dtype=np.float32) + 0.5)[None, :]  # pixel centres
    xs, ys = centre, centre.T
    clip = np.empty((frames, size, size, 3), np.uint8)
    for t in range(frames):
        progress = t / (frames - 1) if frames > 1 else 0.5
        cx, cy, r, visible = _pose(scene.motion, progress, size, radius, offset)
        alpha = _coverage(scene.shape, xs - cx, ys - cy, r) if visible else np.zeros((size, size), np.float32)
        frame = bg + alpha[..., None] * (fg - bg)
        clip[t] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    return clip


def render_sequence(
    parts: Sequence[ShapeScene], *, frames: int = 16, size: int = 64, seed: int = 0
) -> np.ndarray:
    """An "A, then B (then C ...)" clip: the frames are split into ``len(parts)`` contiguous runs.

    Each part is rendered with the same ``seed`` (so a static object keeps its place and size when it
    changes); with an even split, ``render_sequence([a, b])[::-1]`` equals ``render_sequence([b, a])`` for
    static scenes.

    Args:
        parts: the scenes, in the order they are shown (at least one; at most ``frames``).
        frames: total number of frames.
        size: frame height and width in pixels.
        seed: placement jitter, as in :func:`render`.

    Returns:
        uint8 ``[frames, size, size, 3]`` RGB.
    """
    _check_parts(parts)
    _check_shape(frames, size)
    if len(parts) > frames:
        raise ConfigError(
            f"render_sequence: {len(parts)} parts do not fit in {frames} frames; pass more frames"
        )
    counts = [len(run) for run in np.array_split(np.arange(frames), len(parts))]
    return np.concatenate(
        [render(p, frames=k, size=size, seed=seed) for p, k in zip(parts, counts, strict=True)]
    )


# ---------------------------------------------------------------- drawing


def _pose(
    motion: str, progress: float, size: int, radius: float, offset: np.ndarray
) -> tuple[float, float, float, bool]:
    """Centre x, centre y, radius and visibility at ``progress`` ∈ [0, 1] of a forward motion."""
    cx, cy = size / 2 + offset[0], size / 2 + offset[1]
    travel = size / 2 - radius - 1  # from one edge (minus a pixel) to the other
    if motion == "left-to-right":
        cx = size / 2 + offset[0] * 0.3 + (2 * progress - 1) * travel
    elif motion == "up":
        cy = size / 2 + offset[1] * 0.3 + (1 - 2 * progress) * travel
    elif motion == "grow":
        radius *= 0.4 + 0.9 * progress
    elif motion == "appear":
        return cx, cy, radius, progress >= 0.5
    return cx, cy, radius, True


def _coverage(shape: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    """Fraction of each pixel inside the shape (signed distance → 1-pixel anti-aliased edge)."""
    if shape == "circle":
        dist = np.hypot(dx, dy) - r
    elif shape == "square":
        dist = np.maximum(np.abs(dx), np.abs(dy)) - r * 0.85  # same area as the circle, roughly
    elif shape == "diamond":
        dist = (np.abs(dx) + np.abs(dy) - r * 1.2) / np.sqrt(2)
    else:  # triangle pointing up, circumradius 1.25 r
        up = -dy  # image rows grow downwards
        slant = np.maximum(0.866 * dx + 0.5 * up, -0.866 * dx + 0.5 * up)
        dist = np.maximum(-up, slant) - r * 0.7
    return np.clip(0.5 - dist, 0.0, 1.0).astype(np.float32)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _check_shape(frames: int, size: int) -> None:
    if frames < 1:
        raise ConfigError(f"frames={frames}: a clip needs at least 1 frame")
    if size < 8:
        raise ConfigError(f"size={size}: frames must be at least 8 pixels wide to draw a shape")


def _check_parts(parts: Sequence[ShapeScene]) -> None:
    if not parts:
        raise ConfigError("render_sequence needs at least one ShapeScene; pass e.g. [first, second]")
