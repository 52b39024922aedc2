"""Snapshot metadata in SQLite, shared by every local snapshotter backend.

One file (``<root>/metadata.db``, WAL, ``synchronous=FULL``), every change in one
transaction. A snapshot is a row: a numeric ``id`` (never reused: AUTOINCREMENT; the
backends name their directories by it), its ``key`` (an active or view key, or the name of a
committed snapshot: one key space), ``kind``, ``parent_id``, timestamps and, for committed
snapshots, the usage measured at commit. Labels live in their own table.

The rules are containerd's (``snapshots/storage``): a parent must exist (NotFound) and be
committed (FailedPrecondition); keys are unique (AlreadyExists); only active snapshots commit;
a snapshot with children cannot be removed. :meth:`MetaStore.write` yields a :class:`Txn`
whose ``on_rollback`` callbacks undo file-system steps when the body or the COMMIT fails, so a
backend can rename directories inside the transaction and never leave half a snapshot.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dockyard.containerd.snapshots import KIND_ACTIVE, KIND_COMMITTED, KINDS, Info, Usage
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

SCHEMA_VERSION = 1
MAX_LABEL_BYTES = 4096  # key + value, as containerd's labels.Validate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('View', 'Active', 'Committed')),
    parent_id INTEGER REFERENCES snapshots(id),
    created REAL NOT NULL,
    updated REAL NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    inodes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS snapshots_by_parent ON snapshots(parent_id);
CREATE TABLE IF NOT EXISTS labels (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, name)
) WITHOUT ROWID;
"""

_COLUMNS = (
    "s.id, s.key, s.kind, s.parent_id, COALESCE(p.key, ''), s.created, s.updated, s.size, s.inodes"
)
_SELECT = f"SELECT {_COLUMNS} FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent_id"


@dataclass
class Record:
    """One snapshot row: what the metadata knows, plus the ids backends name dirs by."""

    id: int
    key: str
    kind: str
    parent_id: int | None
    parent: str
    created: float
    updated: float
    size: int = 0
    inodes: int = 0
    labels: dict[str, str] = field(default_factory=dict)

    def info(self) -> Info:
        return Info(self.key, self.kind, self.parent, dict(self.labels), self.created, self.updated)

    def usage(self) -> Usage:
        return Usage(self.size, self.inodes)


def check_key(key: str, what: str = "key") -> None:
    if not isinstance(key, str) or not key:
        raise InvalidArgument(f"snapshot {what} must not be empty")
    if "\x00" in key:
        raise InvalidArgument(f"snapshot {what} {key!r}: contains a NUL byte")


def check_labels(labels: dict[str, str] | None) -> dict[str, str]:
    """A copy of ``labels`` after containerd's checks (non-empty keys, key+value <= 4 KiB)."""
    out: dict[str, str] = {}
    for name, value in (labels or {}).items():
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise InvalidArgument(f"snapshot label {name!r}: keys and values must be strings, keys non-empty")
        size = len(name.encode()) + len(value.encode())
        if size > MAX_LABEL_BYTES:
            raise InvalidArgument(
                f"snapshot label {name!r}: key and value are {size} bytes (at most {MAX_LABEL_BYTES})"
            )
        out[name] = value
    return out


class Txn:
    """One open transaction: the operations of containerd's snapshot storage."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._undo: list[Callable[[], None]] = []

    def on_rollback(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` if this transaction does not commit (last registered runs first)."""
        self._undo.append(fn)

    # reads
    def find(self, key: str) -> Record | None:
        row = self.db.execute(f"{_SELECT} WHERE s.key = ?", (key,)).fetchone()
        return self._record(row) if row else None

    def get(self, key: str) -> Record:
        rec = self.find(key)
        if rec is None:
            raise NotFound(f"snapshot {key!r}: not found")
        return rec

    def get_id(self, snapshot_id: int) -> Record | None:
        row = self.db.execute(f"{_SELECT} WHERE s.id = ?", (snapshot_id,)).fetchone()
        return self._record(row) if row else None

    def parent_ids(self, rec: Record) -> list[int]:
        """The ids of ``rec``'s ancestors, nearest first."""
        rows = self.db.execute(
            """WITH RECURSIVE chain(id, parent_id, depth) AS (
                   SELECT id, parent_id, 0 FROM snapshots WHERE id = ?
                   UNION ALL
                   SELECT s.id, s.parent_id, c.depth + 1
                   FROM snapshots s JOIN chain c ON s.id = c.parent_id)
               SELECT id FROM chain WHERE depth > 0 ORDER BY depth""",
            (rec.id,),
        ).fetchall()
        return [r[0] for r in rows]

    def children(self, rec: Record) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM snapshots WHERE parent_id = ?", (rec.id,)).fetchone()
        return int(row[0])

    def all(self) -> list[Record]:
        rows = self.db.execute(f"{_SELECT} ORDER BY s.id").fetchall()
        labels: dict[int, dict[str, str]] = {}
        for sid, name, value in self.db.execute("SELECT snapshot_id, name, value FROM labels"):
            labels.setdefault(sid, {})[name] = value
        return [self._record(row, labels.get(row[0], {})) for row in rows]

    def ids(self) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT id FROM snapshots")}

    # writes
    def check_new(self, kind: str, key: str, parent: str) -> Record | None:
        """Raise unless ``key`` is free and ``parent`` ("" for none) is committed."""
        if kind not in KINDS or kind == KIND_COMMITTED:
            raise InvalidArgument(f"snapshot {key!r}: cannot create a snapshot of kind {kind!r}")
        check_key(key)
        if self.find(key) is not None:
            raise AlreadyExists(f"snapshot {key!r}: already exists")
        if not parent:
            return None
        prec = self.find(parent)
        if prec is None:
            raise NotFound(f"snapshot {key!r}: parent {parent!r} not found")
        if prec.kind != KIND_COMMITTED:
            raise FailedPrecondition(
                f"snapshot {key!r}: parent {parent!r} is {prec.kind.lower()}, not committed"
            )
        return prec

    def create(self, kind: str, key: str, parent: str = "", labels: dict[str, str] | None = None) -> Record:
        """A new active or view snapshot (see :meth:`check_new` for the refusals)."""
        clean = check_labels(labels)
        prec = self.check_new(kind, key, parent)
        now = time.time()
        cur = self.db.execute(
            "INSERT INTO snapshots (key, kind, parent_id, created, updated) VALUES (?, ?, ?, ?, ?)",
            (key, kind, prec.id if prec else None, now, now),
        )
        sid = int(cur.lastrowid or 0)
        self._put_labels(sid, clean)
        return Record(sid, key, kind, prec.id if prec else None, parent, now, now, labels=clean)

    def commit(
        self, name: str, key: str, usage: Usage, labels: dict[str, str] | None = None, *, expect_id: int = 0
    ) -> Record:
        """Turn active ``key`` into committed ``name``: same id, labels are ``labels`` only."""
        check_key(name, "name")
        clean = check_labels(labels)
        rec = self.get(key)
        if rec.kind != KIND_ACTIVE:
            raise FailedPrecondition(f"snapshot {key!r}: is {rec.kind.lower()}, only active snapshots commit")
        if expect_id and rec.id != expect_id:
            raise FailedPrecondition(f"snapshot {key!r}: changed while it was being committed")
        if self.find(name) is not None:  # the active key itself too, as containerd
            raise AlreadyExists(f"snapshot {name!r}: already exists")
        now = time.time()
        self.db.execute(
            "UPDATE snapshots SET key = ?, kind = ?, created = ?, updated = ?, size = ?, inodes = ? WHERE id = ?",
            (name, KIND_COMMITTED, now, now, usage.size, usage.inodes, rec.id),
        )
        self.db.execute("DELETE FROM labels WHERE snapshot_id = ?", (rec.id,))
        self._put_labels(rec.id, clean)
        return Record(rec.id, name, KIND_COMMITTED, rec.parent_id, rec.parent, now, now,
                      usage.size, usage.inodes, clean)  # fmt: skip

    def remove(self, key: str) -> Record:
        """Delete ``key`` (and its labels); FailedPrecondition while it has children."""
        rec = self.get(key)
        count = self.children(rec)
        if count:
            raise FailedPrecondition(f"snapshot {key!r}: cannot remove, {count} snapshot(s) use it as parent")
        self.db.execute("DELETE FROM snapshots WHERE id = ?", (rec.id,))
        return rec

    def update(self, info: Info, fieldpaths: Sequence[str] = ()) -> Record:
        """Change labels: ``labels`` replaces all, ``labels.<k>`` sets or (absent) deletes one;
        no field paths replaces all. Other fields are immutable (InvalidArgument)."""
        rec = self.get(info.name)
        given = check_labels(info.labels)
        labels = dict(rec.labels)
        if not fieldpaths:
            labels = given
        for path in fieldpaths:
            if path == "labels":
                labels = dict(given)
            elif path.startswith("labels.") and len(path) > len("labels."):
                name = path[len("labels.") :]
                if name in given:
                    labels[name] = given[name]
                else:
                    labels.pop(name, None)
            else:
                raise InvalidArgument(f"snapshot {info.name!r}: cannot update field {path!r}")
        check_labels(labels)
        now = time.time()
        self.db.execute("UPDATE snapshots SET updated = ? WHERE id = ?", (now, rec.id))
        self.db.execute("DELETE FROM labels WHERE snapshot_id = ?", (rec.id,))
        self._put_labels(rec.id, labels)
        rec.labels, rec.updated = labels, now
        return rec

    def _put_labels(self, sid: int, labels: dict[str, str]) -> None:
        self.db.executemany(
            "INSERT INTO labels (snapshot_id, name, value) VALUES (?, ?, ?)",
            [(sid, k, v) for k, v in labels.items()],
        )

    def _record(self, row: tuple[Any, ...], labels: dict[str, str] | None = None) -> Record:
        sid, key, kind, parent_id, parent, created, updated, size, inodes = row
        if labels is None:
            labels = dict(self.db.execute("SELECT name, value FROM labels WHERE snapshot_id = ?", (sid,)))
        return Record(int(sid), key, kind, parent_id, parent, created, updated, size, inodes, labels)


class MetaStore:
    """The SQLite file of one snapshotter root. Thread-safe: one connection, one lock, and
    SQLite's own locking against other processes (``BEGIN IMMEDIATE`` for writers)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise FailedPrecondition(f"{path}: schema version {version} is newer than {SCHEMA_VERSION}")
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        self._db: sqlite3.Connection | None = db

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise FailedPrecondition(f"{self.path}: snapshot metadata is closed")
        return self._db

    @contextmanager
    def read(self) -> Iterator[Txn]:
        """A consistent read (a deferred transaction, rolled back at the end)."""
        with self._lock:
            db = self.db
            db.execute("BEGIN")
            try:
                yield Txn(db)
            finally:
                db.execute("ROLLBACK")

    @contextmanager
    def write(self) -> Iterator[Txn]:
        """A write transaction: committed when the body returns, otherwise rolled back and the
        ``on_rollback`` callbacks run (also when the COMMIT itself fails)."""
        with self._lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            txn = Txn(db)
            try:
                yield txn
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                for undo in reversed(txn._undo):
                    try:
                        undo()
                    except Exception:  # the first error is the one to report
                        pass
                raise

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
