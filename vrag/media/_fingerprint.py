"""What a video's index entry was made from: the file's size, time and full-content hash, and its subtitles.

``video_id`` (``_probe``) samples five 64 KiB blocks, so it is instant on any file but misses an edit of the
same size elsewhere. The ingest keeps these facts with each video and re-indexes when they differ: same size
and modification time means unchanged (one ``stat``); otherwise the full-content hash decides (xxHash3-128,
about 10 GB/s in memory here, so a file is read at disk speed; figures in BENCHMARKS.md). The subtitle files
that could feed the transcript are part of the fingerprint, so editing ``talk.srt`` re-indexes ``talk.mp4``.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.bin"
    >>> _ = path.write_bytes(b"x" * 1000)
    >>> content_hash(path)
    'xxh3:50a1af5a5f2dcf01c0a4877b962cba82'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SourceFacts", "content_hash", "source_facts"]

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What a video was indexed from.

    Attributes:
        size: bytes.
        mtime_ns: modification time (ns).
        sidecars: a digest of the subtitle files beside it (names and contents), ``""`` when there are none.
        hash: the full-content hash, when computed (``""`` otherwise).
    """

    size: int
    mtime_ns: int
    sidecars: str
    hash: str = ""

    def to_extra(self) -> dict[str, int | str]:
        """The fields as kept in the video's record (``StoredVideo.extra``; the hash has its own field)."""
        return {"size": self.size, "mtime_ns": self.mtime_ns, "sidecars": self.sidecars}


def content_hash(path: str | os.PathLike[str]) -> str:
    """xxHash3-128 of the whole file, as ``"xxh3:<hex>"``."""
    import xxhash

    digest = xxhash.xxh3_128()
    with open(path, "rb", buffering=0) as fh:
        buffer = bytearray(_CHUNK)
        view = memoryview(buffer)
        while n := fh.readinto(buffer):
            digest.update(view[:n])
    return f"xxh3:{digest.hexdigest()}"


def source_facts(path: str | os.PathLike[str], *, with_hash: bool = False) -> SourceFacts:
    """Size, modification time and sidecar digest of a video (a symlink's target), and its hash if asked."""
    from vrag.media._subtitles import transcript_sources

    st = os.stat(path)
    sidecars = _digest(transcript_sources(path))
    return SourceFacts(st.st_size, st.st_mtime_ns, sidecars, content_hash(path) if with_hash else "")


def _digest(paths: Iterable[Path]) -> str:
    import xxhash

    digest = xxhash.xxh3_64()
    found = False
    for path in sorted(set(paths)):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        found = True
        digest.update(path.name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(xxhash.xxh3_128_digest(data))
    return digest.hexdigest() if found else ""
