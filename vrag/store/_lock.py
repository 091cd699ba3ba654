"""One opener per index folder: an in-process registry plus an OS lock that other processes see.

Qdrant Edge breaks when one folder is opened twice (the first handle's flush fails), so a second open in
this process raises ``IndexLockedError(same_process=True)`` and another process gets ``IndexLockedError``
naming the holder's pid. The OS lock (``fcntl.flock`` on ``<index>/LOCK``) is released by the kernel when
the holder dies, so a crashed ingest never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from vrag.store._errors import IndexLockedError, StoreError

LOCK_NAME = "LOCK"

_open_paths: set[str] = set()
_guard = threading.Lock()


class FolderLock:
    """An acquired lock on an index folder; ``release()`` gives it back (idempotent)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._fd: int | None = None
        with _guard:
            if str(root) in _open_paths:
                raise IndexLockedError(str(root), os.getpid(), same_process=True)
            self._fd = _flock(root / LOCK_NAME)
            _open_paths.add(str(root))

    def release(self) -> None:
        with _guard:
            if self._fd is None:
                return
            _open_paths.discard(str(self.root))
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None


def _flock(path: Path) -> int:
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise StoreError(str(path.parent), f"cannot create the lock file ({err.strerror})") from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as err:
        os.close(fd)
        raise IndexLockedError(str(path.parent), _holder_pid(path)) from err
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _holder_pid(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text().split()[0])
    return None
