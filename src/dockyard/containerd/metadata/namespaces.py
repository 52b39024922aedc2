"""Namespaces (containerd's ``namespaces.Store``): names with labels that partition images,
content, snapshots and leases. Creating any object in a namespace creates the namespace;
deleting it is refused while it still holds images, blobs, containers or snapshots (its
leases and ingests go with it).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field

from dockyard.containerd.metadata.validation import dumps, loads, validate_identifier, validate_labels
from dockyard.errors import AlreadyExists, FailedPrecondition, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.containerd.metadata.db import DB


@dataclass
class Namespace:
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0


def ensure_namespace(conn: sqlite3.Connection, name: str) -> None:
    """Create namespace ``name`` if it does not exist (inside a write transaction)."""
    validate_identifier(name, "namespace")
    now = time.time()
    conn.execute(
        "INSERT INTO namespaces (name, labels, created_at, updated_at) VALUES (?, '{}', ?, ?)"
        " ON CONFLICT (name) DO NOTHING", (name, now, now))


def namespace_exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM namespaces WHERE name = ?", (name,)).fetchone() is not None


class NamespaceStore:
    """All namespaces of one database."""

    def __init__(self, db: DB) -> None:
        self._db = db

    def create(self, name: str, labels: dict[str, str] | None = None) -> Namespace:
        validate_identifier(name, "namespace")
        checked = validate_labels(labels, f"namespace {name!r}")
        now = time.time()
        with self._db.write() as conn:
            if namespace_exists(conn, name):
                raise AlreadyExists(f"namespace {name!r}: already exists")
            conn.execute("INSERT INTO namespaces (name, labels, created_at, updated_at) VALUES (?, ?, ?, ?)",
                         (name, dumps(checked), now, now))
        return Namespace(name, checked, now, now)

    def get(self, name: str) -> Namespace:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM namespaces WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"namespace {name!r}: not found")
        return Namespace(row["name"], loads(row["labels"]), row["created_at"], row["updated_at"])

    def labels(self, name: str) -> dict[str, str]:
        return self.get(name).labels

    def set_label(self, name: str, key: str, value: str) -> None:
        """Set (or, with an empty value, remove) one label; NotFound if no such namespace."""
        validate_labels({key: value or "x"}, f"namespace {name!r}")
        with self._db.write() as conn:
            row = conn.execute("SELECT labels FROM namespaces WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"namespace {name!r}: not found")
            labels = loads(row["labels"])
            if value:
                labels[key] = value
            else:
                labels.pop(key, None)
            conn.execute("UPDATE namespaces SET labels = ?, updated_at = ? WHERE name = ?",
                         (dumps(labels), time.time(), name))

    def list(self) -> list[str]:
        with self._db.read() as conn:
            return [row[0] for row in conn.execute("SELECT name FROM namespaces ORDER BY name")]

    def delete(self, name: str) -> None:
        """Delete an empty namespace: FailedPrecondition names what it still holds."""
        with self._db.write() as conn:
            if not namespace_exists(conn, name):
                raise NotFound(f"namespace {name!r}: not found")
            held = []
            if conn.execute("SELECT 1 FROM images WHERE namespace = ? LIMIT 1", (name,)).fetchone():
                held.append("images")
            if conn.execute("SELECT 1 FROM content WHERE namespace = ? LIMIT 1", (name,)).fetchone():
                held.append("blobs")
            if conn.execute("SELECT 1 FROM containers WHERE namespace = ? LIMIT 1", (name,)).fetchone():
                held.append("containers")
            for row in conn.execute(
                    "SELECT DISTINCT snapshotter FROM snapshots WHERE namespace = ? ORDER BY snapshotter", (name,)):
                held.append(f"snapshots on {row[0]!r} snapshotter")
            if held:
                raise FailedPrecondition(f"namespace {name!r} must be empty, but it still has {', '.join(held)}")
            conn.execute("DELETE FROM namespaces WHERE name = ?", (name,))
