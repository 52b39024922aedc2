"""The metadata database's schema and its migrations.

``schema_version`` holds one row, the version of the schema in the file. :func:`migrate`
runs, inside the caller's write transaction, every migration above it in order; a file
newer than this code is refused (FailedPrecondition) rather than misread. A migration is a
function of the connection: add one to :data:`MIGRATIONS` under the next number (or pass
extra ones to ``DB(..., migrations=...)``) to change the schema.

Version 1 (containerd's bolt buckets as tables; labels and annotations are JSON objects;
times are seconds since the epoch):

- ``namespaces(name, labels, created_at, updated_at)``
- ``images(namespace, name, media_type, digest, size, annotations, labels, created_at,
  updated_at)``: the target descriptor inline
- ``content(namespace, digest, size, labels, created_at, updated_at)``: which blobs a
  namespace has
- ``ingests(namespace, ref, backend_ref, expected, total, shared, expires_at, started_at)``:
  writes in progress; ``backend_ref`` is the ref in the shared content store
- ``snapshots(namespace, snapshotter, key, backend_key, parent, kind, labels, created_at,
  updated_at)``: ``parent`` is a key in the same namespace and snapshotter (a foreign key,
  so a parent cannot go before its children)
- ``leases(namespace, id, labels, created_at)`` and ``lease_resources(namespace, lease,
  type, id)``: ``type`` is ``content``, ``ingests``, ``images`` or ``snapshots/<name>``
- ``sequences(name, value)``: counters for backend keys

Version 2 adds ``containers`` (see :mod:`dockyard.containerd.metadata.containers`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping

from dockyard.errors import FailedPrecondition

Migration = Callable[[sqlite3.Connection], None]

_V1 = (
    """CREATE TABLE namespaces (
        name TEXT PRIMARY KEY,
        labels TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL)""",
    """CREATE TABLE images (
        namespace TEXT NOT NULL REFERENCES namespaces(name),
        name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        digest TEXT NOT NULL,
        size INTEGER NOT NULL,
        annotations TEXT NOT NULL DEFAULT '{}',
        labels TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (namespace, name))""",
    """CREATE TABLE content (
        namespace TEXT NOT NULL REFERENCES namespaces(name),
        digest TEXT NOT NULL,
        size INTEGER NOT NULL,
        labels TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (namespace, digest))""",
    "CREATE INDEX content_by_digest ON content(digest)",
    """CREATE TABLE ingests (
        namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
        ref TEXT NOT NULL,
        backend_ref TEXT NOT NULL UNIQUE,
        expected TEXT NOT NULL DEFAULT '',
        total INTEGER NOT NULL DEFAULT 0,
        shared INTEGER NOT NULL DEFAULT 0,
        expires_at REAL,
        started_at REAL NOT NULL,
        PRIMARY KEY (namespace, ref))""",
    """CREATE TABLE snapshots (
        namespace TEXT NOT NULL REFERENCES namespaces(name),
        snapshotter TEXT NOT NULL,
        key TEXT NOT NULL,
        backend_key TEXT NOT NULL,
        parent TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('View', 'Active', 'Committed')),
        labels TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (namespace, snapshotter, key),
        UNIQUE (snapshotter, backend_key),
        FOREIGN KEY (namespace, snapshotter, parent) REFERENCES snapshots(namespace, snapshotter, key))""",
    "CREATE INDEX snapshots_by_parent ON snapshots(namespace, snapshotter, parent)",
    """CREATE TABLE leases (
        namespace TEXT NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
        id TEXT NOT NULL,
        labels TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        PRIMARY KEY (namespace, id))""",
    """CREATE TABLE lease_resources (
        namespace TEXT NOT NULL,
        lease TEXT NOT NULL,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        PRIMARY KEY (namespace, lease, type, id),
        FOREIGN KEY (namespace, lease) REFERENCES leases(namespace, id) ON DELETE CASCADE)""",
    "CREATE INDEX lease_resources_by_id ON lease_resources(namespace, type, id)",
    """CREATE TABLE sequences (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL)""",
)


def _v1(conn: sqlite3.Connection) -> None:
    for statement in _V1:
        conn.execute(statement)


def _v2(conn: sqlite3.Connection) -> None:
    from dockyard.containerd.metadata.containers import create_tables

    create_tables(conn)


MIGRATIONS: dict[int, Migration] = {1: _v1, 2: _v2}


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version of the open database (0 when it is new)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, updated_at REAL NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, path: str, extra: Mapping[int, Migration] | None = None) -> int:
    """Bring the schema up to the newest version; return it. Runs in the caller's write
    transaction, so a failing migration leaves the file as it was."""
    migrations = {**MIGRATIONS, **(extra or {})}
    target = max(migrations)
    missing = [v for v in range(1, target + 1) if v not in migrations]
    if missing:
        raise FailedPrecondition(f"metadata schema: no migration to version {missing[0]}")
    version = current_version(conn)
    if version > target:
        raise FailedPrecondition(
            f"metadata database {path}: schema version {version} is newer than this dockyard ({target})")
    for step in range(version + 1, target + 1):
        migrations[step](conn)
        conn.execute(
            "INSERT INTO schema_version (id, version, updated_at) VALUES (1, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at",
            (step, time.time()))
    return target


def next_sequence(conn: sqlite3.Connection, name: str) -> int:
    """The next value of counter ``name`` (1, 2, ...), never reused."""
    row = conn.execute(
        "INSERT INTO sequences (name, value) VALUES (?, 1)"
        " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
        (name,)).fetchone()
    return int(row[0])
