"""Read snapshots: a private copy of an index's shards, taken between two engine calls of the writer.

Qdrant Edge 0.9 has no read-only open: loading a shard replays its write-ahead log into the segment files and
rewrites its config, and closing it flushes. So a reader never loads the index folder itself: it copies the
shard folders (between two engine calls of the writer: a seqlock, else the state lock, see ``_lock``) into a
folder of its own under ``$VRAG_SNAPSHOT_DIR`` (default: the system temp folder) and loads that copy. A copy
taken between two engine calls is exactly what a ``kill -9`` of the writer at that moment would leave on disk,
which Edge recovers from (it replays the copied log), so the reader sees the last committed state.

Copies are sparse (holes in Edge's preallocated files are not written) and use ``copy_file_range`` (a
reflink on btrfs/XFS, an in-kernel copy elsewhere). Snapshots of processes that died are swept away by the
next reader.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from vrag.store._errors import StoreError, StoreFullError
from vrag.store._lock import StateLock

PREFIX = "vrag-snapshot-"
SPACE_FIX = "free some space there, or set VRAG_SNAPSHOT_DIR to a folder with room for a copy of the index"


def snapshot_root() -> Path:
    """Where read snapshots go: ``$VRAG_SNAPSHOT_DIR``, else the system temp folder."""
    return Path(os.environ.get("VRAG_SNAPSHOT_DIR") or tempfile.gettempdir())


def take_snapshot(
    root: Path, names: Iterable[str], state: StateLock, *, wait: bool = True, locked: bool = False
) -> tuple[str, Path] | None:
    """Copy the shard folders ``names`` of ``root`` into a new private folder.

    Args:
        wait: when the writer is changing the index, wait for it (else return None at once).
        locked: copy holding the state lock (else first without a lock, as long as no write overlaps).

    Returns:
        The state token the copy was taken at, and the folder.

    Raises:
        StoreFullError: no room for the copy.
        StoreError: the index cannot be read.
    """
    sweep_stale()
    base = snapshot_root()
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
    except OSError as err:
        raise StoreError(str(base), f"cannot make a read snapshot there ({err.strerror})", SPACE_FIX) from err
    try:
        token = None if locked else _copy_unlocked(root, names, state, folder)
        if token is None:  # the writer kept changing files: copy holding the lock
            with state.shared(wait=wait) as token:
                if token is None:
                    shutil.rmtree(folder, ignore_errors=True)
                    return None
                _copy(root, names, folder)
    except OSError as err:
        shutil.rmtree(folder, ignore_errors=True)
        if err.errno == errno.ENOSPC:
            raise StoreFullError(
                str(base), "no space left for a read snapshot of the index", SPACE_FIX
            ) from err
        raise StoreError(str(root), f"cannot be read ({err.strerror}: {err.filename})") from err
    return token, folder


def _copy_unlocked(root: Path, names: Iterable[str], state: StateLock, folder: Path) -> str | None:
    """Copy without a lock (the seqlock of ``_lock``): its token, or None when each try overlapped a write."""
    for _ in range(2):
        token, seq = state.version()
        if seq % 2 == 0:
            _copy(root, names, folder)
            if state.version() == (token, seq):
                return token
        time.sleep(0.01)
    return None


def _copy(root: Path, names: Iterable[str], folder: Path) -> None:
    for name in names:
        shutil.rmtree(folder / name, ignore_errors=True)
        copy_tree(root / name, folder / name)


def copy_tree(src: Path, dst: Path) -> None:
    """Copy a folder tree, files sparse (see :func:`sparse_copy`)."""
    for folder, _dirs, files in os.walk(src):
        target = dst / os.path.relpath(folder, src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            sparse_copy(Path(folder, name), target / name)


def sparse_copy(src: Path, dst: Path) -> None:
    """Copy a file's data regions only (its holes stay holes), in the kernel where it can."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        size = os.fstat(fin.fileno()).st_size
        for start, end in _data_regions(fin.fileno(), size):
            _copy_range(fin.fileno(), fout.fileno(), start, end)
        fout.truncate(size)


def _data_regions(fd: int, size: int) -> list[tuple[int, int]]:
    if not hasattr(os, "SEEK_DATA"):
        return [(0, size)]
    regions, pos = [], 0
    try:
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as err:
                if err.errno == errno.ENXIO:  # only a hole from here to the end
                    break
                raise
            end = os.lseek(fd, start, os.SEEK_HOLE)
            regions.append((start, end))
            pos = end
    except OSError:  # the file system cannot say where the holes are: copy it all
        return [(0, size)]
    return regions


def _copy_range(fin: int, fout: int, start: int, end: int) -> None:
    pos = start
    if hasattr(os, "copy_file_range"):
        with contextlib.suppress(OSError):  # e.g. EXDEV on old kernels: fall back to read/write
            while pos < end:
                n = os.copy_file_range(fin, fout, end - pos, pos, pos)
                if n == 0:
                    return
                pos += n
            return
    while pos < end:
        data = os.pread(fin, min(end - pos, 1 << 20), pos)
        if not data:
            return
        os.pwrite(fout, data, pos)
        pos += len(data)


def sweep_stale() -> None:
    """Remove snapshot folders left by processes that no longer run (killed readers)."""
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) is not a liveness probe on Windows
        return
    with contextlib.suppress(OSError):
        for entry in snapshot_root().iterdir():
            if entry.name.startswith(PREFIX) and not _alive(entry.name[len(PREFIX) :].split("-", 1)[0]):
                shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except ValueError:
        return True  # not one of ours: leave it
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_bytes(path: Path) -> int:
    """Bytes free for this user on the file system holding ``path``."""
    return shutil.disk_usage(path).free


def used_bytes(path: Path) -> int:
    """Bytes a folder tree really takes on disk (holes not counted)."""
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                st = os.stat(os.path.join(folder, name))
                total += st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
    return total
