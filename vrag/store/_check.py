"""``Store.check``: read every point of both shards back and hold the video ledger against what is present.

What it finds (each a :class:`Problem`): a shard that cannot be opened, points whose payload cannot be read
back, vectors that are not finite, committed videos missing some of their segments, committed segments of
no committed video. Segments of an unfinished write (a crash) are counted apart: the next ingest removes them.

``repair=True`` fixes what can be fixed without the videos, in rounds until nothing is left to fix: a shard
with damage is *salvaged* on Qdrant Edge (its sound points are copied into a fresh shard and the old one is
moved to ``damaged/``, never deleted; writing into a damaged shard can make it unloadable) or has its damaged
points deleted on a server; then orphan segments (committed, of no committed video: e.g. the ledger was lost)
are set aside the same way, and unfinished writes are deleted. A video that lost segments stays in the
ledger, and since ``has_video`` counts segments, the next ``vrag index`` of its path (listed in ``reindex``)
indexes it again; so does every video that owned an orphan.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vrag.store._errors import IndexDamagedError, StoreError
from vrag.store._payload import COMMITTED, PENDING
from vrag.store._query import Collection, Filter, HasId, Match, Row

if TYPE_CHECKING:
    from vrag.store._query import Backend
    from vrag.store._store import Store

__all__ = ["CheckReport", "Problem", "check_store"]

_BATCH = 256
_SHARD_DAMAGE = ("unreadable-shard", "damaged-points", "non-finite-vectors")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an index.

    Attributes:
        kind: ``unreadable-shard``, ``damaged-points``, ``non-finite-vectors``, ``missing-segments`` or
            ``orphan-segments``.
        shard: ``"segments"`` or ``"videos"``.
        message: what is wrong, in words.
        videos: paths of the videos it touches (to index again), when known.
        points: ids of the points it concerns.
    """

    kind: str
    shard: Collection
    message: str
    videos: tuple[str, ...] = ()
    points: tuple[str, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "shard": self.shard, "message": self.message, "videos": list(self.videos),
            "points": len(self.points),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``Store.check`` found (after ``repair``: what is left) and what ``repair`` did.

    Attributes:
        location: the index.
        videos: committed videos in the ledger.
        segments: sound committed segments present.
        problems: what is wrong (empty when the index is sound).
        pending: segments of unfinished writes (a crash); the next ``vrag index`` or ``repair`` removes them.
        repaired: what ``repair`` did, one line each.
        reindex: paths of the videos to index again (``vrag index`` heals them).
    """

    location: str
    videos: int
    segments: int
    problems: tuple[Problem, ...] = ()
    pending: int = 0
    repaired: tuple[str, ...] = ()
    reindex: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location, "ok": self.ok, "videos": self.videos, "segments": self.segments,
            "pending": self.pending, "problems": [p.to_dict() for p in self.problems],
            "repaired": list(self.repaired), "reindex": list(self.reindex),
        }  # fmt: skip


def check_store(store: Store, backend: Backend, *, repair: bool = False) -> CheckReport:
    """Check ``store`` (see the module docstring); ``repair`` fixes what can be fixed without the videos.

    A repair holds the writer lock from the first look on (``exclusive`` on Edge), so no other process
    commits meanwhile: a video caught between its segments and its record is never taken for orphans. A
    plain check beside a running ``vrag index`` may see such a commit in progress; run it again after.
    """
    hold = getattr(backend, "exclusive", None) if repair else None
    with hold() if hold is not None else contextlib.nullcontext():
        report = _inspect(store, backend)
        done: list[str] = []
        heal = set(report.reindex)
        for _ in range(4):  # a round per layer: shards, orphans, leftovers; then one to confirm
            step = _repair_step(store, backend, report) if repair else []
            if not step:
                break
            done += step
            report = _inspect(store, backend)
            heal |= set(report.reindex)
    return dataclasses.replace(report, repaired=tuple(done), reindex=tuple(sorted(heal)))


# ------------------------------------------------------------------------------------------- inspect


def _inspect(store: Store, backend: Backend) -> CheckReport:
    problem = _unopenable(backend)
    if problem is not None:
        return CheckReport(store.location, 0, 0, (problem,))  # nothing more can be read
    problems: list[Problem] = []
    ledger = _scan_videos(backend, problems)
    present, owners = _scan_segments(backend, problems)
    _hold_ledger(ledger, present, problems)
    orphans = [pid for pid, vid in owners.items() if vid not in ledger]
    if orphans:
        paths = _paths(backend, orphans)
        problems.append(
            Problem("orphan-segments", "segments", f"{len(orphans)} segments belong to no committed video",
                    paths, tuple(orphans)),
        )  # fmt: skip
    pending = backend.count("segments", Filter(must=(Match("state", PENDING),)))
    heal = sorted({v for p in problems for v in p.videos})
    return CheckReport(
        store.location, len(ledger), sum(present.values()), tuple(problems), pending, reindex=tuple(heal)
    )


def _unopenable(backend: Backend) -> Problem | None:
    try:
        for coll in ("videos", "segments"):
            backend.count(coll, None)
    except IndexDamagedError as err:
        shard: Collection = "videos" if err.shard == "videos" else "segments"
        return Problem("unreadable-shard", shard, err.problem)
    return None


def _scan_videos(backend: Backend, problems: list[Problem]) -> dict[str, Row]:
    """The sound committed video records by video id (damage is added to ``problems``)."""
    rows: dict[str, Row] = {}
    damaged: list[str] = []
    non_finite: list[Row] = []
    for row, ok in _read_all(backend, "videos"):
        if not ok:
            damaged.append(row.id)
        elif not _finite(row.vectors):
            non_finite.append(row)
        elif row.payload.get("status") == COMMITTED:
            rows[str(row.payload.get("video_id", row.id))] = row
    _report_damage("videos", damaged, non_finite, problems)
    return rows


def _scan_segments(backend: Backend, problems: list[Problem]) -> tuple[Counter[str], dict[str, str]]:
    """Sound committed segments per video, and each one's video (damage is added to ``problems``)."""
    present: Counter[str] = Counter()
    owners: dict[str, str] = {}
    damaged: list[str] = []
    non_finite: list[Row] = []
    for row, ok in _read_all(backend, "segments"):
        if not ok:
            damaged.append(row.id)
        elif not _finite(row.vectors):
            non_finite.append(row)
        elif row.payload.get("state") == COMMITTED:
            vid = str(row.payload.get("video_id", ""))
            present[vid] += 1
            owners[row.id] = vid
    _report_damage("segments", damaged, non_finite, problems)
    return present, owners


def _report_damage(
    coll: Collection, damaged: list[str], non_finite: list[Row], problems: list[Problem]
) -> None:
    if damaged:
        problems.append(
            Problem("damaged-points", coll, f"{len(damaged)} points cannot be read back", (), tuple(damaged))
        )
    if non_finite:
        paths = {str(r.payload.get("video") or r.payload.get("path") or "") for r in non_finite}
        problems.append(
            Problem("non-finite-vectors", coll, f"{len(non_finite)} points have NaN or infinite vectors",
                    tuple(sorted(p for p in paths if p)), tuple(r.id for r in non_finite)),
        )  # fmt: skip


def _hold_ledger(ledger: dict[str, Row], present: Counter[str], problems: list[Problem]) -> None:
    short = []
    for vid, row in ledger.items():
        want = int(row.payload.get("n_segments", 0))
        if present[vid] != want:
            short.append((str(row.payload.get("path", vid)), present[vid], want))
    if short:
        lines = "; ".join(f"{path}: {have} of {want}" for path, have, want in short[:5])
        more = f" (and {len(short) - 5} more)" if len(short) > 5 else ""
        problems.append(
            Problem("missing-segments", "segments",
                    f"{len(short)} videos do not have the segments their record counts ({lines}{more})",
                    tuple(path for path, _, _ in short)),
        )  # fmt: skip


def _read_all(
    backend: Backend, coll: Collection, skip: frozenset[str] = frozenset()
) -> Iterator[tuple[Row, bool]]:
    """Every point with payload and vectors; one that cannot be read comes back as ``(Row(id), False)``."""
    ids = [pid for pid in _all_ids(backend, coll) if pid not in skip]
    for k in range(0, len(ids), _BATCH):
        yield from _read_batch(backend, coll, ids[k : k + _BATCH])


def _read_batch(backend: Backend, coll: Collection, ids: Sequence[str]) -> Iterator[tuple[Row, bool]]:
    try:
        rows, _ = backend.scroll(
            coll, Filter(must=(HasId(tuple(ids)),)), limit=len(ids), offset=None, with_vectors=True
        )
    except IndexDamagedError:
        if len(ids) == 1:
            yield Row(ids[0], {}), False
            return
        half = len(ids) // 2  # find the damaged points by halving the batch
        yield from _read_batch(backend, coll, ids[:half])
        yield from _read_batch(backend, coll, ids[half:])
        return
    for row in rows:
        yield row, True


def _all_ids(backend: Backend, coll: Collection) -> list[str]:
    ids: list[str] = []
    offset: str | None = None
    while True:
        rows, offset = backend.scroll(
            coll, None, limit=4096, offset=offset, with_vectors=False, with_payload=False
        )
        ids += [r.id for r in rows]
        if offset is None:
            return ids


def _paths(backend: Backend, ids: Sequence[str]) -> tuple[str, ...]:
    paths = {
        str(r.payload.get("video", ""))
        for k in range(0, len(ids), _BATCH)
        for r in backend.retrieve("segments", list(ids[k : k + _BATCH]))
    }
    return tuple(sorted(p for p in paths if p))


def _finite(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, float | int):
        return math.isfinite(value)
    values = getattr(value, "values", None)  # a sparse vector
    return values is None or all(math.isfinite(v) for v in values)


# ------------------------------------------------------------------------------------------- repair


def _repair_step(store: Store, backend: Backend, report: CheckReport) -> list[str]:
    """Fix the first layer of what ``report`` found; returns what was done (empty: nothing left to fix)."""
    damaged: dict[Collection, set[str] | None] = {}  # None: the shard cannot be opened at all
    for p in report.problems:
        if p.kind == "unreadable-shard":
            damaged[p.shard] = None
        elif p.kind in _SHARD_DAMAGE and damaged.get(p.shard, set()) is not None:
            damaged.setdefault(p.shard, set()).update(p.points)  # type: ignore[union-attr]
    if damaged:
        return [_fix_shard(store, backend, coll, ids) for coll, ids in damaged.items()]
    orphans = {pid for p in report.problems if p.kind == "orphan-segments" for pid in p.points}
    if orphans:  # e.g. the ledger was lost: the segments are set aside with the shard, never deleted
        what = f"{len(orphans)} segments of no committed video"
        return [_fix_shard(store, backend, "segments", orphans, what)]
    if not report.pending:
        return []
    with store.writing():
        return [f"deleted {store.purge_pending()} segments of an unfinished write"]


def _fix_shard(
    store: Store, backend: Backend, coll: Collection, bad: set[str] | None, what: str = "damage"
) -> str:
    """Set the ``bad`` points (None: the whole shard) aside: on Edge the shard goes to ``damaged/`` with them
    and a new one takes its other sound points (writing into a damaged shard can make it unloadable); a
    server's collection has them deleted."""
    salvage = getattr(backend, "salvage", None)
    if salvage is not None:
        sound: Iterator[Row] = iter(())
        if bad is not None:
            rows = _read_all(backend, coll, skip=frozenset(bad))
            sound = (row for row, ok in rows if ok and _finite(row.vectors))
        target, kept = salvage(coll, store.schema, sound)
        if not target.exists():
            return f"the {coll} shard was missing: made a new empty one"
        return f"moved the {coll} shard with its {what} to {target}; a new one holds its {kept} sound points"
    if bad is None:
        return f"the {coll} collection cannot be opened: restore it from a server snapshot"
    ids = tuple(sorted(bad))
    with store.writing():
        for k in range(0, len(ids), _BATCH):
            backend.delete(coll, Filter(must=(HasId(ids[k : k + _BATCH]),)))
    left = backend.count(coll, Filter(must=(HasId(ids),)))
    if left:
        raise StoreError(
            store.location, f"{left} of {len(ids)} points could not be deleted", "see the server's log"
        )
    return f"deleted {len(ids)} points ({what}) from the {coll} collection"
