"""What the service reads from disk: files only under its roots, signed links for media elements, and
small cached keyframe JPEGs."""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vrag.store import StoredSegment

log = logging.getLogger(__name__)

__all__ = ["Keyframes", "Links", "Roots"]

KEYFRAME_WIDTH = 320


class Roots:
    """The folders the service may read. A path is allowed when its real location (symlinks followed)
    lies inside one of them."""

    def __init__(self, roots: Sequence[str | os.PathLike[str]]) -> None:
        self.roots = tuple(Path(r).resolve() for r in roots)

    def inside(self, path: str | Path) -> bool:
        """Whether ``path`` (existing or not) would resolve inside a root."""
        real = Path(path).expanduser().resolve()
        return any(real.is_relative_to(root) for root in self.roots)

    def file(self, path: str | Path) -> Path | None:
        """The real path of an existing regular file inside a root, else None."""
        try:
            real = Path(path).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not real.is_file() or not any(real.is_relative_to(root) for root in self.roots):
            return None
        return real


class Links:
    """Signed URLs for media and keyframes: a ``<video>`` or ``<img>`` element cannot send the API key, so
    the URLs handed out with search results carry an expiring HMAC of their own path instead.

    Expiry is rounded up to a tenth of ``ttl`` so the same resource keeps the same URL for a while (and
    browsers cache it).
    """

    def __init__(self, key: str | None, ttl: float) -> None:
        self._key = key.encode() if key else None
        self._ttl = ttl

    def query(self, path: str) -> str:
        """``?exp=…&sig=…`` for ``path`` (empty without an API key)."""
        if self._key is None:
            return ""
        step = max(int(self._ttl / 10), 1)
        exp = (int(time.time() + self._ttl) // step + 1) * step
        return f"?exp={exp}&sig={_sign(self._key, path, exp)}"

    def valid(self, path: str, params: Mapping[str, str]) -> bool:
        if self._key is None:
            return False
        try:
            exp = int(params.get("exp", ""))
        except ValueError:
            return False
        sig = params.get("sig", "")
        return exp >= time.time() and hmac.compare_digest(sig, _sign(self._key, path, exp))


def _sign(key: bytes, path: str, exp: int) -> str:
    return hmac.new(key, f"{path}\n{exp}".encode(), hashlib.sha256).hexdigest()[:32]


class Keyframes:
    """JPEG keyframes of segments (``KEYFRAME_WIDTH`` px wide), the most recent ``size`` kept in memory."""

    def __init__(self, size: int = 512) -> None:
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def jpeg(self, segment: StoredSegment, file: Path) -> bytes:
        """The keyframe of ``segment`` (its first keyframe time, else its middle) decoded from ``file``.

        Raises:
            MediaError: the file cannot be decoded there.
        """
        with self._lock:
            if segment.id in self._cache:
                self._cache.move_to_end(segment.id)
                return self._cache[segment.id]
        data = _render(segment, file)
        with self._lock:
            self._cache[segment.id] = data
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return data


def _render(segment: StoredSegment, file: Path) -> bytes:
    from PIL import Image

    from vrag.media import open_video

    t = segment.keyframes[0] if segment.keyframes else (segment.start + segment.end) / 2
    with open_video(file) as video:
        width = min(KEYFRAME_WIDTH, video.width - video.width % 2)
        height = max(2, round(width * video.height / video.width / 2) * 2)
        frame = video.frames_at([t], size=(width, height)).data[0]
    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="JPEG", quality=80, optimize=True)
    return out.getvalue()
