"""The two locks of an Edge index folder: one writer at a time, and readers that copy only a committed state.

- ``LOCK``: the **writer lock**. The one process that writes an index holds an exclusive lock on it (its pid
  is inside) while it has the live shards open; a second writer gets ``IndexLockedError`` naming it. Readers
  never take it. In this process a registry refuses a second writer of the same folder, because Qdrant Edge
  breaks when one folder is loaded twice.
- ``STATE``: the **state lock** and two counters. Its content is a *token* the writer renews whenever a change
  becomes visible (a video record written or removed): a reader whose token differs knows its snapshot is
  stale; and a *sequence number*, odd while the engine is changing shard files, bumped around every engine
  call. A reader copies the shards without any lock and keeps the copy if the sequence was even and the same
  before and after (a seqlock: the writer never waits for it); after two overlapped tries it holds the lock
  shared for the copy, and the writer (which holds it exclusively for each engine call) waits for that one.
  ``TURN`` is the writer's turnstile (see :class:`StateLock`).

Both are kernel locks (``flock`` on POSIX; on Windows filelock's ``LockFileEx`` byte lock, where readers then
take the lock exclusively, one copy at a time): the kernel drops them when their holder dies, so a crash never
leaves a stale lock. Readers open ``STATE`` read-only and create nothing, so read-only media work.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from vrag.store._errors import IndexLockedError, StoreError

LOCK_NAME = "LOCK"
STATE_NAME = "STATE"
TURN_NAME = "TURN"
READ_ONLY_FIX = "it can be searched as it is; copy the folder to writable storage to add or delete videos"

_writers: set[str] = set()
_guard = threading.Lock()

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    """The writer lock of an index folder, held until ``release()`` (idempotent).

    Raises:
        IndexLockedError: another writer holds it (this process or another one, named by pid).
        StoreError: the folder is on read-only storage, or the lock file cannot be made.
    """

    def __init__(self, root: Path) -> None:
        from filelock import lock_descriptor

        self.root = root
        self._fd: int | None = None
        with _guard:
            if str(root) in _writers:
                raise IndexLockedError(str(root), os.getpid(), same_process=True)
            fd = _open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT)
            if not lock_descriptor(fd, blocking=False):
                os.close(fd)
                raise IndexLockedError(str(root), _holder_pid(root / LOCK_NAME))
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            _writers.add(str(root))

    def release(self) -> None:
        with _guard:
            if self._fd is None:
                return
            _writers.discard(str(self.root))
            os.close(self._fd)  # closing the only descriptor drops the lock
            self._fd = None


class StateLock:
    """The state lock and token of an index folder (see the module docstring).

    A reader uses :meth:`shared` and :meth:`token`; the writer opens it with ``writer=True`` (creating the
    files) and wraps each engine call in :meth:`exclusive`. A turnstile (``TURN``) gives the writer the right
    of way: while it waits for or holds the state lock, readers that have a snapshot keep using it instead
    of starting a copy, so readers never starve the writer and never wait for it.
    """

    def __init__(self, root: Path, *, writer: bool = False) -> None:
        self.path = root / STATE_NAME
        self.turn = root / TURN_NAME
        self._fd: int | None = None
        self._turn_fd: int | None = None
        if writer:
            self._turn_fd = _open(self.turn, os.O_RDWR | os.O_CREAT)
            self._fd = _open(self.path, os.O_RDWR | os.O_CREAT)
        self._lock = threading.Lock()  # one engine call at a time from this handle's threads
        token, seq = self.version()
        self._token, self._seq = token or uuid.uuid4().hex, seq + seq % 2  # odd: a writer died mid-call

    def token(self) -> str:
        """The current state token ("" when no writer ever ran here)."""
        return self.version()[0]

    def version(self) -> tuple[str, int]:
        """The token and the sequence number (odd: the writer is changing files now)."""
        try:
            token, seq = self.path.read_text(encoding="ascii").split()
            return token, int(seq)
        except (OSError, UnicodeDecodeError, ValueError):
            return "", 0

    @contextlib.contextmanager
    def shared(self, *, wait: bool = True) -> Iterator[str | None]:
        """Hold the lock shared (a reader copying); yields the token, or None when the writer is busy and
        ``wait`` is False (the reader then keeps the snapshot it has)."""
        with _opened(self.turn) as turn:
            if turn is not None and not _lock(turn, shared=True, wait=wait):
                yield None
                return
            with _opened(self.path) as fd:
                if fd is not None:
                    _lock(fd, shared=True, wait=True)  # the writer is not inside an engine call now
                if turn is not None:
                    _unlock(turn)  # let the writer queue up behind this copy
                yield self.token()

    @contextlib.contextmanager
    def exclusive(self, *, renew: bool = False) -> Iterator[None]:
        """Hold the lock exclusively (the writer, around one engine call); ``renew`` the token after it."""
        if self._fd is None or self._turn_fd is None:
            raise StoreError(str(self.path.parent), "the state lock was opened for reading", "open a writer")
        with self._lock:
            _lock(self._turn_fd, shared=False, wait=True)
            try:
                _lock(self._fd, shared=False, wait=True)  # waits for locked copies under way
                try:
                    self._publish(self._token, self._seq + 1)  # odd: files are changing
                    changed = False
                    try:
                        yield
                        changed = renew
                    finally:
                        self._publish(uuid.uuid4().hex if changed else self._token, self._seq + 1)
                finally:
                    _unlock(self._fd)
            finally:
                _unlock(self._turn_fd)

    def _publish(self, token: str, seq: int) -> None:
        if self._fd is None:
            return
        self._token, self._seq = token, seq
        os.lseek(self._fd, 0, os.SEEK_SET)  # same length every time (32 + 1 + 16 + 1 bytes)
        os.write(self._fd, f"{token}\n{seq:016d}\n".encode())

    def close(self) -> None:
        for fd in (self._fd, self._turn_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._turn_fd = None


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[int | None]:
    """A read-only descriptor of a lock file, or None when it does not exist (no writer ever ran here)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    except OSError as err:
        raise StoreError(str(path.parent), f"cannot open {path.name} ({err.strerror})") from err
    try:
        yield fd
    finally:
        os.close(fd)  # drops any lock on it


def _open(path: Path, flags: int) -> int:
    try:
        return os.open(path, flags, 0o644)
    except OSError as err:
        if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            problem = "is on read-only storage (or not writable by you)"
            raise StoreError(str(path.parent), problem, READ_ONLY_FIX) from err
        raise StoreError(str(path.parent), f"cannot create {path.name} ({err.strerror})") from err


def _lock(fd: int, *, shared: bool, wait: bool) -> bool:
    """Take the lock; without ``wait``, return False when it is held elsewhere."""
    if fcntl is None:  # pragma: no cover - Windows: filelock's byte lock, exclusive only
        from filelock import lock_descriptor

        return bool(lock_descriptor(fd, blocking=wait))
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        if not wait:
            return False
        fcntl.flock(fd, mode)
    return True


def _unlock(fd: int) -> None:
    if fcntl is None:  # pragma: no cover - Windows
        from filelock import unlock_descriptor

        unlock_descriptor(fd)
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def _holder_pid(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(path.read_text().split()[0])
    return None
