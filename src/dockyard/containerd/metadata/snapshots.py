"""Snapshots per namespace over a backend snapshotter (containerd's ``metadata/snapshot.go``).

:class:`NamespacedSnapshotter` has the method set of :class:`Snapshotter`. Each namespace
has its own key space: key ``k`` of namespace ``ns`` is the backend snapshot
``ns/<n>/k`` (``n`` from a counter, so a key reused after removal never meets an old
backend snapshot). The row keeps the parent (a key of the same namespace), the kind, the
labels and the times; labels prefixed ``containerd.io/snapshot/`` are also handed to the
backend. Every change runs the backend call inside the database transaction, so a failing
backend leaves no row and a concurrent garbage collection never sees a half-made snapshot.

``prepare`` with the label ``containerd.io/snapshot.ref`` naming a snapshot that exists
already gives AlreadyExists "target snapshot ..." and leases that snapshot (so an unpacker
skips a layer another pull committed); ``prepare`` and ``commit`` of a key or name that
exists lease it too before refusing, as containerd does.

``remove`` deletes the row only (refused while children exist); the backend snapshot goes
at the next garbage collection, which removes every backend snapshot no namespace names.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from functools import partial

from dockyard.containerd.filters import parse_filters
from dockyard.containerd.metadata.leases import add_resource, remove_resource
from dockyard.containerd.metadata.namespaces import ensure_namespace
from dockyard.containerd.metadata.schema import next_sequence
from dockyard.containerd.metadata.validation import dumps, loads, update_labels, validate_labels
from dockyard.containerd.snapshots import (
    KIND_ACTIVE,
    KIND_COMMITTED,
    KIND_VIEW,
    LABEL_SNAPSHOT_REF,
    Info,
    Mount,
    Snapshotter,
    Usage,
    info_field,
)
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.containerd.metadata.db import DB

INHERITED_PREFIX = "containerd.io/snapshot/"


def inherited(labels: dict[str, str]) -> dict[str, str]:
    """The labels a backend sees (containerd's ``FilterInheritedLabels``)."""
    return {k: v for k, v in labels.items() if k.startswith(INHERITED_PREFIX)}


class NamespacedSnapshotter(Snapshotter):
    """Snapshotter ``name`` as seen from ``namespace``; ``lease`` protects what it creates."""

    def __init__(self, db: DB, name: str, backend: Snapshotter, namespace: str, lease: str = "") -> None:
        self._db = db
        self.name = name
        self.backend = backend
        self.namespace = namespace
        self.lease = lease
        self._resource = f"snapshots/{name}"

    def stat(self, key: str) -> Info:
        with self._db.read() as conn:
            return _info(self._row(conn, key))

    def update(self, info: Info, fieldpaths: Sequence[str] = ()) -> Info:
        if not info.name:
            raise InvalidArgument("snapshot name is required for update")
        with self._db.write() as conn:
            row = self._row(conn, info.name)
            current = _info(row)
            labels = update_labels(current.labels, info.labels, fieldpaths, f"snapshot {info.name!r}")
            current.labels, current.updated = labels, time.time()
            conn.execute("UPDATE snapshots SET labels = ?, updated_at = ? WHERE namespace = ? AND snapshotter = ?"
                         " AND key = ?", (dumps(labels), current.updated, self.namespace, self.name, info.name))
            backend = Info(name=row["backend_key"], kind=row["kind"], labels=inherited(labels))
            self.backend.update(backend, ["labels"])
        return current

    def usage(self, key: str) -> Usage:
        return self.backend.usage(self._backend_key(key))

    def mounts(self, key: str) -> list[Mount]:
        return self.backend.mounts(self._backend_key(key))

    def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        return self._create(key, parent, labels, KIND_ACTIVE)

    def view(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        return self._create(key, parent, labels, KIND_VIEW)

    def commit(self, name: str, key: str, labels: dict[str, str] | None = None) -> None:
        """Commit active ``key`` as ``name``; the new snapshot's labels are ``labels``."""
        checked = validate_labels(labels, f"snapshot {name!r}")
        if not name:
            raise InvalidArgument("snapshot name must not be empty")
        exists = False
        with self._db.write() as conn:
            add_resource(conn, self.namespace, self.lease, self._resource, name)
            exists = self._find(conn, name) is not None
            if not exists:
                self._commit(conn, name, key, checked)
        if exists:  # raised after the transaction, which keeps the lease on ``name``
            raise AlreadyExists(f"snapshot {name!r}: already exists")

    def remove(self, key: str) -> None:
        """Forget ``key`` in this namespace (the backend snapshot goes at the next garbage
        collection); FailedPrecondition while other snapshots have it as parent."""
        with self._db.write() as conn:
            self._row(conn, key)
            child = conn.execute("SELECT key FROM snapshots WHERE namespace = ? AND snapshotter = ? AND parent = ?"
                                 " LIMIT 1", (self.namespace, self.name, key)).fetchone()
            if child is not None:
                raise FailedPrecondition(f"cannot remove snapshot {key!r} with child {child['key']!r}")
            conn.execute("DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?",
                         (self.namespace, self.name, key))
            remove_resource(conn, self.namespace, self.lease, self._resource, key)

    def walk(self, *filters: str) -> Iterator[Info]:
        """The namespace's snapshots matching any of ``filters`` (fields: name, kind,
        parent, labels; ``kind`` without case)."""
        flt = parse_filters(filters, casefold=("kind",))
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM snapshots WHERE namespace = ? AND snapshotter = ? ORDER BY key",
                                (self.namespace, self.name)).fetchall()
        for row in rows:
            info = _info(row)
            if flt.match(partial(info_field, info)):
                yield info

    def close(self) -> None:
        """Nothing to release: the backend belongs to the database."""

    # -- helpers -------------------------------------------------------------------------

    def _create(self, key: str, parent: str, labels: dict[str, str] | None, kind: str) -> list[Mount]:
        if not key:
            raise InvalidArgument("snapshot key must not be empty")
        checked = validate_labels(labels, f"snapshot {key!r}")
        target = checked.get(LABEL_SNAPSHOT_REF, "")
        exists = ""
        mounts: list[Mount] = []
        with self._db.write() as conn:
            ensure_namespace(conn, self.namespace)
            if target and self._find(conn, target) is not None:
                add_resource(conn, self.namespace, self.lease, self._resource, target)
                exists = f"target snapshot {target!r}: already exists"
            elif self._find(conn, key) is not None:
                add_resource(conn, self.namespace, self.lease, self._resource, key)
                exists = f"snapshot {key!r}: already exists"
            else:
                add_resource(conn, self.namespace, self.lease, self._resource, key)
                backend_parent = ""
                if parent:
                    prow = self._find(conn, parent)
                    if prow is None:
                        raise NotFound(f"parent snapshot {parent!r} does not exist")
                    if prow["kind"] != KIND_COMMITTED:
                        raise FailedPrecondition(f"parent snapshot {parent!r} is {prow['kind'].lower()}, "
                                                 "not committed")
                    backend_parent = prow["backend_key"]
                backend_key = self._backend_name(conn, key)
                now = time.time()
                conn.execute("INSERT INTO snapshots (namespace, snapshotter, key, backend_key, parent, kind, labels,"
                             " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (self.namespace, self.name, key, backend_key, parent or None, kind, dumps(checked),
                              now, now))
                create = self.backend.view if kind == KIND_VIEW else self.backend.prepare
                mounts = create(backend_key, backend_parent, inherited(checked))
        if exists:  # raised after the transaction, which keeps the lease
            raise AlreadyExists(exists)
        return mounts

    def _commit(self, conn: sqlite3.Connection, name: str, key: str, checked: dict[str, str]) -> None:
        """Replace active ``key`` by committed ``name`` (rows, lease, backend)."""
        row = self._row(conn, key)
        if row["kind"] != KIND_ACTIVE:
            raise FailedPrecondition(f"snapshot {key!r} is {row['kind'].lower()}, not active")
        backend_name = self._backend_name(conn, name)
        now = time.time()
        conn.execute("INSERT INTO snapshots (namespace, snapshotter, key, backend_key, parent, kind, labels,"
                     " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (self.namespace, self.name, name, backend_name, row["parent"], KIND_COMMITTED,
                      dumps(checked), now, now))
        conn.execute("DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?",
                     (self.namespace, self.name, key))
        remove_resource(conn, self.namespace, self.lease, self._resource, key)
        self.backend.commit(backend_name, row["backend_key"], inherited(checked))

    def _backend_name(self, conn: sqlite3.Connection, key: str) -> str:
        return f"{self.namespace}/{next_sequence(conn, 'snapshots/' + self.name)}/{key}"

    def _backend_key(self, key: str) -> str:
        with self._db.read() as conn:
            return str(self._row(conn, key)["backend_key"])

    def _find(self, conn: sqlite3.Connection, key: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?",
            (self.namespace, self.name, key)).fetchone()
        return row

    def _row(self, conn: sqlite3.Connection, key: str) -> sqlite3.Row:
        row = self._find(conn, key)
        if row is None:
            raise NotFound(f"snapshot {key!r} does not exist")
        return row


def _info(row: sqlite3.Row) -> Info:
    return Info(name=row["key"], kind=row["kind"], parent=row["parent"] or "", labels=loads(row["labels"]),
                created=row["created_at"], updated=row["updated_at"])
