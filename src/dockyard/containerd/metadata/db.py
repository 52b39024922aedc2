"""The metadata database: one SQLite file holding containerd's namespaced view of images,
content, snapshots and leases over the shared content store and snapshotters.

The file runs in WAL mode with foreign keys on. Every change happens in a transaction:
:meth:`DB.write` opens ``BEGIN IMMEDIATE`` (the one writer at a time; others wait up to
``timeout`` seconds, then Unavailable) and commits, or rolls back on any exception;
:meth:`DB.read` gives a consistent snapshot. Nested ``write`` blocks become savepoints, so
a store call that fails inside a caller's transaction undoes only itself, and the stores'
own transactions join the caller's. Each thread has its own connection, so one ``DB`` may
be used from many threads.

The per-namespace stores are views made by :meth:`namespaces`, :meth:`images`,
:meth:`content`, :meth:`snapshotter` and :meth:`leases`; the views of content, images and
snapshots take an optional lease that protects what they create until it is deleted or
expires (containerd's lease in the context).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from dockyard.containerd.content import ContentStore
from dockyard.containerd.metadata.content import NamespacedContentStore
from dockyard.containerd.metadata.images import ImageStore
from dockyard.containerd.metadata.leases import LeaseManager
from dockyard.containerd.metadata.namespaces import NamespaceStore
from dockyard.containerd.metadata.schema import Migration, migrate
from dockyard.containerd.metadata.snapshots import NamespacedSnapshotter
from dockyard.containerd.snapshots import Snapshotter
from dockyard.errors import FailedPrecondition, Internal, NotFound, Unavailable


class DB:
    """The metadata database at ``path`` over ``content`` and the named ``snapshotters``."""

    def __init__(self, path: str | Path, content: ContentStore | None = None,
                 snapshotters: Mapping[str, Snapshotter] | None = None, *, timeout: float = 30.0,
                 migrations: Mapping[int, Migration] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.content_store = content
        self.snapshotters: dict[str, Snapshotter] = dict(snapshotters or {})
        self.timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._writer = threading.Lock()
        self._closed = False
        with self.write() as conn:
            self.schema_version = migrate(conn, str(self.path), migrations)

    # -- connections and transactions ------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._guard:
            if self._closed:
                raise FailedPrecondition(f"metadata database {self.path}: closed")
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            self._connections.append(conn)
        conn.row_factory = sqlite3.Row
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise Unavailable(f"metadata database {self.path}: cannot use WAL mode (got {mode})")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        self._local.conn = conn
        self._local.depth = 0
        self._local.writing = False
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (or a savepoint inside this thread's open one)."""
        conn = self.connection()
        depth: int = self._local.depth
        if depth and not self._local.writing:
            raise Internal(f"metadata database {self.path}: write inside a read transaction")
        if depth:
            name = f"sp{depth}"
            conn.execute(f"SAVEPOINT {name}")
            self._local.depth = depth + 1
            try:
                yield conn
            except BaseException:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                raise
            else:
                conn.execute(f"RELEASE {name}")
            finally:
                self._local.depth = depth
            return
        # Threads of this process queue on a lock, which wakes the next one at once;
        # SQLite's own busy wait (polling, up to 100 ms a round) is left to other processes.
        if not self._writer.acquire(timeout=self.timeout):
            raise Unavailable(f"metadata database {self.path}: locked by another writer for {self.timeout}s")
        try:
            self._begin(conn, "BEGIN IMMEDIATE")
            self._local.depth, self._local.writing = 1, True
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._local.depth, self._local.writing = 0, False
        finally:
            self._writer.release()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read (joins this thread's open transaction, if any)."""
        conn = self.connection()
        if self._local.depth:
            yield conn
            return
        self._begin(conn, "BEGIN")
        self._local.depth = 1
        try:
            yield conn
        finally:
            self._local.depth = 0
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def _begin(self, conn: sqlite3.Connection, statement: str) -> None:
        try:
            conn.execute(statement)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise Unavailable(
                    f"metadata database {self.path}: locked by another writer for {self.timeout}s") from exc
            raise

    def close(self) -> None:
        """Close every thread's connection; the DB is unusable afterwards."""
        with self._guard:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> DB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- stores -------------------------------------------------------------------------

    def namespaces(self) -> NamespaceStore:
        return NamespaceStore(self)

    def images(self, namespace: str, lease: str = "") -> ImageStore:
        return ImageStore(self, namespace, lease)

    def content(self, namespace: str, lease: str = "") -> NamespacedContentStore:
        if self.content_store is None:
            raise FailedPrecondition(f"metadata database {self.path}: no content store")
        return NamespacedContentStore(self, self.content_store, namespace, lease)

    def snapshotter(self, name: str, namespace: str, lease: str = "") -> NamespacedSnapshotter:
        backend = self.snapshotters.get(name)
        if backend is None:
            raise NotFound(f"snapshotter {name!r}: not found")
        return NamespacedSnapshotter(self, name, backend, namespace, lease)

    def leases(self, namespace: str) -> LeaseManager:
        return LeaseManager(self, namespace)
