"""Qdrant Edge backend: the embedded default, one folder on disk, any number of readers and one writer.

Layout of an index folder::

    LOCK           the writer lock (holds the writer's pid), see ``_lock``
    STATE          the state lock, the token of the last visible change and a sequence number, see ``_lock``
    TURN           the writer's turnstile, see ``_lock``
    schema.json    the schema record, written last when the index is created
    segments/      Edge shard: named dense vectors per channel (+ sparse "bm25"), WAL on; vrag-schema.json
    videos/        Edge shard: one multivector (MaxSim) per video channel; vrag-schema.json
    damaged/       shards ``vrag check --repair`` moved aside (never deleted)

**Readers and the writer.** Qdrant Edge 0.9 has no read-only open (loading a shard replays its log and
rewrites files; upstream's ``ReadOnlyEdgeShard`` follower is not in the Python bindings yet), and loading one
folder twice breaks it, so:

- Reads never load the folder's shards. They load a private *snapshot*: a sparse copy of the shard folders
  taken between two engine calls of the writer (``_snapshot``; a seqlock checks that no call overlapped the
  copy, else it is taken again holding the state lock). It is what a ``kill -9`` of the writer would leave,
  and Edge recovers it by replaying the copied log: a reader sees a committed state, never half a video (the
  two-phase commit of ``_store`` hides pending segments). A reader takes a new snapshot when the state token
  says a change became visible: at once after its own writes, else at most once per five copy times (so
  under a stream of commits a reader lags by about that much and spends at most a sixth of its time
  copying). Readers never block each other, never write to the folder, and work on read-only media; a reader
  that has a snapshot never waits for the writer.
- The first write opens the live shards under the writer lock (one writer at a time, ``IndexLockedError``
  otherwise); each engine call holds the state lock exclusively and makes the sequence number odd, so no copy
  keeps a file mid-change. Reads in the writing process go to the live shards (read-your-writes).
  ``Store.writing()`` scopes a write session: the live shards close (flushed) and the writer lock is released
  when it ends.
- Before each write the free space on the index's disk is checked (Edge maps its files into memory: a write
  that finds the disk full would be a SIGBUS, not an error), so a full disk is a ``StoreFullError`` with
  nothing half-written visible.

**Costs.** Each reader holds a copy of the index (disk under ``$VRAG_SNAPSHOT_DIR`` or the temp folder, and
page cache) and pays a copy to open (sparse, ``copy_file_range``: a reflink on btrfs/XFS, else a real copy of
the index's size) and to refresh. Many readers of a large index, or one reading constantly beside a fast
writer, compete for disk and CPU with the writer; a service that owns the index (``vrag serve``) avoids the
copies. Figures: BENCHMARKS.md ("Concurrent readers").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from vrag.store._edge_convert import INDEXES, edge_filter, nearest, row, shard_config, vector
from vrag.store._errors import IndexDamagedError, StoreError, StoreFullError
from vrag.store._lock import LOCK_NAME, STATE_NAME, TURN_NAME, StateLock, WriterLock
from vrag.store._query import Collection, Filter, Fusion, PointData, QuerySpec, Row, Sparse, Vector
from vrag.store._schema import StoreSchema
from vrag.store._snapshot import free_bytes, take_snapshot, used_bytes

log = logging.getLogger(__name__)

SCHEMA_FILE = "schema.json"
SCHEMA_COPY = "vrag-schema.json"
DAMAGED = "damaged"
COLLECTIONS: tuple[Collection, ...] = ("segments", "videos")
_OWN_ENTRIES = {
    LOCK_NAME,
    STATE_NAME,
    TURN_NAME,
    SCHEMA_FILE,
    SCHEMA_FILE + ".tmp",
    "aggregators",
    DAMAGED,
    *COLLECTIONS,
}
REFRESH_COSTS = 5
"""Under a stream of commits a reader refreshes its snapshot at most once per this many copy times."""
HEADROOM = 32 << 20
"""Free bytes a write must leave on the index's disk (Edge grows its files in steps of up to 32 MiB)."""


class _Shards:
    """Loaded shards (the writer's live ones or a snapshot) and how many calls are using them now."""

    def __init__(self, shards: dict[Collection, Any], *, token: str = "", folder: Path | None = None):
        self.shards, self.token, self.folder = shards, token, folder
        self.users = 0
        self.taken_at = time.monotonic()
        self.cost = 0.0  # seconds the copy and load took

    def close(self) -> None:
        for shard in self.shards.values():
            with contextlib.suppress(Exception):
                shard.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


class EdgeBackend:
    """An index folder read through snapshots and written under the writer lock (see the module docstring).

    The constructor only looks at the folder; it refuses a folder that is not an index and creates nothing.
    """

    def __init__(self, path: str | Path) -> None:
        self.root = Path(path).expanduser().resolve()
        self.location = str(self.root)
        self.rebuild_hint = f"delete the folder {self.root} to rebuild the index, or pass a new --index DIR"
        self.notes: list[str] = []
        _check_folder(self.root)
        self._cond = threading.Condition()
        self._state = StateLock(self.root)
        self._live: _Shards | None = None
        self._snap: _Shards | None = None
        self._writer: WriterLock | None = None
        self._wstate: StateLock | None = None
        self._depth = 0
        self._held = 0  # exclusive() sessions
        self._wrote = False  # this process wrote since its snapshot: refresh at the next read

    # ----------------------------------------------------------------- schema

    def read_schema(self) -> dict[str, Any] | None:
        record = _read_record(self.root / SCHEMA_FILE)
        if record is not None:
            return record
        for name in COLLECTIONS:  # schema.json lost or damaged: the copies kept in the shard folders
            record = _read_record(self.root / name / SCHEMA_COPY)
            if record is not None:
                note = f"{SCHEMA_FILE} was lost: used the copy in {name}/ (the next write restores it)"
                if note not in self.notes:
                    self.notes.append(note)
                    log.info("%s: %s", self.location, note)
                return record
        if not any((self.root / name).exists() for name in COLLECTIONS) or not self._holds_points():
            return None  # a new folder, or one whose creation crashed before anything was stored
        raise StoreError(
            self.location,
            f"holds indexed data but its {SCHEMA_FILE} is missing and no copy of it was found",
            f"restore {SCHEMA_FILE} from a backup (vrag never discards stored data), or move the folder "
            "aside and index the videos again",
        )

    def _holds_points(self) -> bool:
        return any(self.count(name, None) for name in COLLECTIONS)

    def create(self, schema: StoreSchema) -> None:
        with self._cond:
            self._ensure_space(0)
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(self.location, f"cannot be created ({err.strerror})") from err
            self._open_writer()
            try:
                with self._ws().exclusive(renew=True):
                    self._live = _Shards(self._create_shards(schema))
            except BaseException:
                self._close_writer()
                raise

    def _create_shards(self, schema: StoreSchema) -> dict[Collection, Any]:
        if (self.root / SCHEMA_FILE).exists():
            raise StoreError(
                self.location, "was created by another process meanwhile", "run the command again"
            )
        shards: dict[Collection, Any] = {}
        try:
            for name in COLLECTIONS:  # what a crashed creation left holds nothing (read_schema checked)
                shutil.rmtree(self.root / name, ignore_errors=True)
                shards[name] = qe.EdgeShard.create(str(self.root / name), shard_config(name, schema))
                for field, kind in INDEXES[name].items():
                    shards[name].update(qe.UpdateOperation.create_field_index(field, kind))
                shards[name].flush()
        except Exception as err:
            for shard in shards.values():
                shard.close()
            raise self._write_failed("new", err) from err
        self._write_schema_files(schema.to_json())
        return shards

    def _write_schema_files(self, text: str) -> None:
        for name in COLLECTIONS:
            if (self.root / name).is_dir() and not (self.root / name / SCHEMA_COPY).exists():
                _write_atomic(self.root / name / SCHEMA_COPY, text)
        if not (self.root / SCHEMA_FILE).exists():
            _write_atomic(self.root / SCHEMA_FILE, text)  # last: its presence means "created"

    # ----------------------------------------------------------------- write sessions

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """A write session: the live shards (and the writer lock) are let go when the outermost one ends."""
        with self._cond:
            self._depth += 1
        try:
            with self._cond:
                if self._live is None and not (self.root / SCHEMA_FILE).exists() and self.read_schema():
                    self._open_live()  # restores schema.json from its copy
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if self._depth == 0 and self._live is not None:
                    self._close_live()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the writer lock without loading the shards: no other process writes meanwhile, and reads come
        from a snapshot of a state only this process changes (``vrag check --repair`` looks under it)."""
        with self._cond:
            self._open_writer()
            self._held += 1
            self._wrote = True  # the next read takes a fresh snapshot
        try:
            yield
        finally:
            with self._cond:
                self._held -= 1
                if self._live is None:
                    self._close_writer()

    def _open_writer(self) -> None:
        if self._writer is not None:  # held already (exclusive)
            return
        self._writer = WriterLock(self.root)
        try:
            self._wstate = StateLock(self.root, writer=True)
        except BaseException:
            self._close_writer()
            raise

    def _close_writer(self) -> None:
        if self._held:  # exclusive() lets it go
            return
        if self._wstate is not None:
            self._wstate.close()
            self._wstate = None
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def _ws(self) -> StateLock:
        if self._wstate is None:
            raise StoreError(self.location, "is not open for writing", "write inside Store.writing()")
        return self._wstate

    def _open_live(self) -> _Shards:
        record = self.read_schema()
        if record is None:
            raise StoreError(self.location, "is not an index yet", "create it with open_store(..., schema=)")
        self._ensure_space(0)
        self._open_writer()
        shards: dict[Collection, Any] = {}
        try:
            with self._ws().exclusive():  # loading replays the log into the files: no copy meanwhile
                for name in COLLECTIONS:
                    shards[name] = _load(self.root / name, self.location, name)
                self._write_schema_files(json.dumps(record, indent=2, sort_keys=True))
        except BaseException:
            for shard in shards.values():
                shard.close()
            self._close_writer()
            raise
        self._live = _Shards(shards)
        return self._live

    def _close_live(self) -> None:
        live = self._live
        if live is None:
            return
        while live.users:
            self._cond.wait()
        try:
            with self._ws().exclusive():
                for name, shard in live.shards.items():
                    try:
                        shard.flush()
                    except Exception as err:  # the WAL still holds every write; report and close anyway
                        log.warning("%s: flushing the %s shard failed on close: %s", self.location, name, err)
                    shard.close()
        finally:
            self._live, self._wrote = None, True
            self._close_writer()

    # ----------------------------------------------------------------- writes

    @contextlib.contextmanager
    def _changing(self, coll: Collection, *, need: int = 0, renew: bool = False) -> Iterator[Any]:
        """The live shard ``coll`` for one engine call that changes it (state lock held exclusively);
        ``renew`` the state token after it when readers should see the change (a video record written or
        removed: the two-phase commit makes every visible change one)."""
        with self._cond:
            live = self._live or self._open_live()
            live.users += 1
        try:
            self._ensure_space(need)
            with self._ws().exclusive(renew=renew):
                yield live.shards[coll]
        except StoreError:
            raise
        except Exception as err:
            raise self._write_failed(coll, err) from err
        finally:
            with self._cond:
                live.users -= 1
                self._cond.notify_all()

    def upsert(self, coll: Collection, points: Sequence[PointData]) -> None:
        pts = [qe.Point(p.id, {k: vector(v) for k, v in p.vectors.items()}, dict(p.payload)) for p in points]
        with self._changing(coll, need=_estimate(points), renew=coll == "videos") as shard:
            shard.update(qe.UpdateOperation.upsert_points(pts))

    def set_payload(self, coll: Collection, payload: Mapping[str, Any], flt: Filter) -> None:
        with self._changing(coll) as shard:
            shard.update(qe.UpdateOperation.set_payload_by_filter(edge_filter(flt), dict(payload)))

    def update_vectors(self, coll: Collection, point_id: str, vectors: Mapping[str, Vector]) -> None:
        point = qe.PointVectors(point_id, {k: vector(v) for k, v in vectors.items()})
        with self._changing(coll, renew=coll == "videos") as shard:
            shard.update(qe.UpdateOperation.update_vectors([point]))

    def delete(self, coll: Collection, flt: Filter) -> None:
        with self._changing(coll, renew=coll == "videos") as shard:
            shard.update(qe.UpdateOperation.delete_points_by_filter(edge_filter(flt)))

    # ----------------------------------------------------------------- reads

    @contextlib.contextmanager
    def _reading(self, coll: Collection) -> Iterator[Any]:
        """The shard ``coll`` to read: the live one in the writing process, else a fresh snapshot's."""
        with self._cond:
            shards = self._live or self._fresh_snapshot()
            shards.users += 1
        try:
            yield shards.shards[coll]
        except Exception as err:
            if type(err) is Exception:  # an engine failure (argument errors have their own types)
                raise IndexDamagedError(self.location, coll, _short(err)) from err
            raise
        finally:
            with self._cond:
                shards.users -= 1
                self._cond.notify_all()
                if shards is not self._live and shards is not self._snap and not shards.users:
                    shards.close()  # a snapshot replaced while this call used it

    def _fresh_snapshot(self) -> _Shards:
        """The current snapshot, refreshed when a change became visible since it was taken; under a stream of
        commits at most once per five copy times (a reader spends at most a sixth of its time copying), except
        right after this process wrote (it reads its own writes)."""
        old = self._snap
        if old is not None and old.token == self._state.token():
            return old
        if old is not None and not self._wrote and time.monotonic() < old.taken_at + REFRESH_COSTS * old.cost:
            return old
        started = time.monotonic()
        taken = take_snapshot(self.root, COLLECTIONS, self._state, wait=old is None)
        if taken is None and old is not None:  # the writer is busy: serve the last copy, refresh next time
            return old
        if taken is None:
            raise StoreError(self.location, "no snapshot could be taken", "try again")
        self._snap = None
        if old is not None and not old.users:
            old.close()
        try:
            self._snap = self._load_snapshot(*taken)
        except IndexDamagedError:  # once more, holding the lock: a file may have been caught mid-creation
            retaken = take_snapshot(self.root, COLLECTIONS, self._state, locked=True)
            self._snap = self._load_snapshot(*retaken)  # type: ignore[misc]
        self._snap.cost, self._wrote = time.monotonic() - started, False
        return self._snap

    def _load_snapshot(self, token: str, folder: Path) -> _Shards:
        shards: dict[Collection, Any] = {}
        try:
            for name in COLLECTIONS:
                shards[name] = _load(folder / name, self.location, name)
        except BaseException:
            _Shards(shards, folder=folder).close()
            raise
        return _Shards(shards, token=token, folder=folder)

    def query(self, coll: Collection, spec: QuerySpec) -> list[Row]:
        flt = edge_filter(spec.filter)
        params = qe.SearchParams(hnsw_ef=spec.hnsw_ef, exact=spec.exact)
        if spec.fusion is None:
            request = qe.QueryRequest(
                limit=spec.limit, query=nearest(spec.sources[0]), filter=flt, params=params,
                with_payload=True, with_vector=spec.with_vectors,
            )  # fmt: skip
        else:
            prefetches = [
                qe.Prefetch(limit=s.limit, query=nearest(s), filter=flt, params=params) for s in spec.sources
            ]
            weights = list(spec.weights) if spec.weights else None
            fusion: Any = (
                qe.Fusion.Rrf(spec.rrf_k, weights) if spec.fusion is Fusion.RRF else qe.Fusion.Dbsf()
            )
            request = qe.QueryRequest(
                limit=spec.limit, prefetches=prefetches, filter=flt, with_payload=True, query=fusion,
                with_vector=spec.with_vectors,
            )  # fmt: skip
        with self._reading(coll) as shard:
            return [row(p, p.score) for p in shard.query(request)]

    def retrieve(self, coll: Collection, ids: Sequence[str]) -> list[Row]:
        with self._reading(coll) as shard:
            return [row(r) for r in shard.retrieve(list(ids), with_payload=True, with_vector=False)]

    def scroll(
        self, coll: Collection, flt: Filter | None, *, limit: int, offset: str | None, with_vectors: bool,
        with_payload: bool = True,
    ) -> tuple[list[Row], str | None]:  # fmt: skip
        request = qe.ScrollRequest(
            offset=offset, limit=limit, filter=edge_filter(flt), with_payload=with_payload,
            with_vector=with_vectors,
        )  # fmt: skip
        with self._reading(coll) as shard:
            records, nxt = shard.scroll(request)
            return [row(r) for r in records], None if nxt is None else str(nxt)

    def count(self, coll: Collection, flt: Filter | None) -> int:
        with self._reading(coll) as shard:
            return int(shard.count(qe.CountRequest(exact=True, filter=edge_filter(flt))))

    # ----------------------------------------------------------------- maintenance

    def optimize(self) -> None:
        for name in COLLECTIONS:  # optimizing rewrites a shard: it needs about its size free
            with self._changing(name, need=used_bytes(self.root / name)) as shard:
                shard.optimize()

    def unindexed(self) -> int:
        """Segment points not in an HNSW graph yet (searched exactly until ``optimize``)."""
        with self._reading("segments") as shard:
            info = shard.info()
        dense = len((self.read_schema() or {}).get("dense") or {}) or 1
        return max(0, int(info.points_count) - int(info.indexed_vectors_count) // dense)

    def flush(self) -> None:
        for name in COLLECTIONS:
            with self._changing(name) as shard:
                shard.flush()

    def salvage(self, coll: Collection, schema: StoreSchema, rows: Iterable[Row]) -> tuple[Path, int]:
        """Replace shard ``coll`` by a new one holding ``rows`` (its sound points, read from this backend);
        the old one is moved to ``damaged/`` (never deleted). Returns where it went and how many were kept."""
        with self._cond:
            self._close_live()  # rows are read from a snapshot: the writer lock keeps it current
            self._open_writer()
            try:
                fresh = self.root / f"{coll}.salvage"
                shutil.rmtree(fresh, ignore_errors=True)
                kept = _fill(fresh, coll, schema, rows)
                with self._ws().exclusive(renew=True):
                    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
                    target = self.root / DAMAGED / f"{coll}-{stamp}-{uuid.uuid4().hex[:6]}"
                    target.parent.mkdir(exist_ok=True)
                    if (self.root / coll).exists():
                        (self.root / coll).rename(target)
                    fresh.rename(self.root / coll)
            finally:
                self._close_writer()
                self._wrote = True  # read the new shard from now on
        return target, kept

    def close(self) -> None:
        with self._cond:
            try:
                self._close_live()
            finally:
                snap, self._snap = self._snap, None
                if snap is not None:
                    while snap.users:
                        self._cond.wait()
                    snap.close()

    # ----------------------------------------------------------------- helpers

    def _ensure_space(self, need: int) -> None:
        where = next(p for p in (self.root, *self.root.parents) if p.exists())
        free = free_bytes(where)
        if free < need + HEADROOM:
            raise StoreFullError(
                self.location,
                f"no space left on its disk ({_mb(free)} free; writing needs about {_mb(need + HEADROOM)})",
            )

    def _write_failed(self, coll: str, err: Exception) -> StoreError:
        where = next(p for p in (self.root, *self.root.parents) if p.exists())
        if free_bytes(where) < HEADROOM:
            return StoreFullError(self.location, f"no space left on its disk ({_short(err)})")
        return StoreError(
            self.location,
            f"the {coll} shard could not be written ({_short(err)})",
            f"run `vrag check --index {self.location}` to see whether it is damaged",
        )


def _fill(path: Path, coll: Collection, schema: StoreSchema, rows: Iterable[Row]) -> int:
    """Create shard ``coll`` at ``path`` holding ``rows``; returns how many."""
    shard = qe.EdgeShard.create(str(path), shard_config(coll, schema))
    try:
        for field, kind in INDEXES[coll].items():
            shard.update(qe.UpdateOperation.create_field_index(field, kind))
        kept, batch = 0, []
        for r in itertools.chain(rows, [None]):
            if r is not None:
                batch.append(qe.Point(r.id, dict(r.vectors), dict(r.payload)))
            if batch and (r is None or len(batch) >= 256):
                shard.update(qe.UpdateOperation.upsert_points(batch))
                kept, batch = kept + len(batch), []
        shard.flush()
    finally:
        shard.close()
    _write_atomic(path / SCHEMA_COPY, schema.to_json())
    return kept


def _check_folder(root: Path) -> None:
    """Refuse a path that is a file, or a folder that holds other things than an index (creating nothing)."""
    if root.exists() and not root.is_dir():
        raise StoreError(str(root), "is a file, not an index folder", "pass a folder with --index DIR")
    if root.is_dir() and not (root / SCHEMA_FILE).exists():
        strangers = sorted(p.name for p in root.iterdir() if p.name not in _OWN_ENTRIES)
        if strangers:
            raise StoreError(
                str(root),
                f"is not a vrag index (it holds {', '.join(strangers[:3])})",
                "pass an empty or new folder with --index DIR",
            )


def _load(path: Path, location: str, name: str) -> Any:
    try:
        return qe.EdgeShard.load(str(path))
    except Exception as err:  # named by the index's folder, not a snapshot's
        problem = _short(err).replace(str(path.parent), location)
        raise IndexDamagedError(location, name, f"it cannot be opened: {problem}") from err


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        log.warning("%s is unreadable (%s)", path, err)
        return None
    return record if isinstance(record, dict) else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def _estimate(points: Sequence[PointData]) -> int:
    """Bytes a batch of points may take on disk: vectors and payload, three times (log, storage, index)."""
    total = 0
    for p in points:
        for v in p.vectors.values():
            if isinstance(v, Sparse):
                total += 8 * len(v.indices)
            elif v and isinstance(v[0], list):
                total += 4 * len(v) * len(v[0])
            else:
                total += 4 * len(v)
        total += len(json.dumps(p.payload, default=str))
    return 3 * total


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 200 else text[:197] + "..."


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB"
