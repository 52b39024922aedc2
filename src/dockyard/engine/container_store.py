"""The engine's containers on disk: one SQLite file, ``<data-root>/containers.db``.

WAL journal, one transaction per change, the schema's version in ``PRAGMA user_version``
(a file from a newer engine is refused, an older one upgraded in place). Each row is one
container: its ID, its name (unique: the database refuses a second container of a name,
so two creates racing for one name cannot both win) and the whole record as JSON
(:meth:`~dockyard.engine.container_model.Container.to_doc`).

The service keeps the records in memory and writes each change through :meth:`save`;
:meth:`load` reads them back when the engine starts.
"""

from __future__ import annotations

import json
import os
import sqlite3

from dockyard.engine.container_model import Container
from dockyard.errors import AlreadyExists, FailedPrecondition

SCHEMA_VERSION = 1
FILE_NAME = "containers.db"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS containers ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " created TEXT NOT NULL,"
    " doc TEXT NOT NULL)",
)


class NameInUse(AlreadyExists):
    """The name belongs to another container (``holder``)."""

    def __init__(self, name: str, holder: str) -> None:
        super().__init__(f"Conflict. The container name \"{name}\" is already in use by container \"{holder}\". "
                         "You have to remove (or rename) that container to be able to reuse that name.")
        self.holder = holder


class ContainerStore:
    def __init__(self, data_root: str) -> None:
        os.makedirs(data_root, mode=0o711, exist_ok=True)
        self.path = os.path.join(data_root, FILE_NAME)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    def _migrate(self) -> None:
        version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise FailedPrecondition(f"{self.path}: schema version {version} is newer than this engine's "
                                     f"({SCHEMA_VERSION})")
        if version < SCHEMA_VERSION:
            with self._transaction():
                for statement in _SCHEMA:
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _transaction(self) -> _Tx:
        return _Tx(self.conn)

    def load(self) -> list[Container]:
        rows = self.conn.execute("SELECT doc FROM containers ORDER BY created").fetchall()
        return [Container.from_doc(json.loads(row[0])) for row in rows]

    def holder_of(self, name: str) -> str | None:
        row = self.conn.execute("SELECT id FROM containers WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    def add(self, container: Container) -> None:
        """Insert a new container; NameInUse when its name is taken."""
        with self._transaction():
            holder = self.holder_of(container.name)
            if holder is not None:
                raise NameInUse(container.name, holder)
            self.conn.execute("INSERT INTO containers (id, name, created, doc) VALUES (?, ?, ?, ?)",
                              (container.id, container.name, container.created, _dump(container)))

    def save(self, container: Container) -> None:
        """Write the record (its name must be its own already: see :meth:`rename`)."""
        with self._transaction():
            self.conn.execute("UPDATE containers SET doc = ? WHERE id = ?", (_dump(container), container.id))

    def rename(self, container: Container, new_name: str) -> None:
        """Give the container ``new_name`` (NameInUse if another has it) and save it."""
        with self._transaction():
            holder = self.holder_of(new_name)
            if holder is not None and holder != container.id:
                raise NameInUse(new_name, holder)
            old = container.name
            container.name = new_name
            try:
                self.conn.execute("UPDATE containers SET name = ?, doc = ? WHERE id = ?",
                                  (new_name, _dump(container), container.id))
            except BaseException:
                container.name = old
                raise

    def delete(self, container_id: str) -> None:
        with self._transaction():
            self.conn.execute("DELETE FROM containers WHERE id = ?", (container_id,))

    def close(self) -> None:
        self.conn.close()


class _Tx:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def _dump(container: Container) -> str:
    return json.dumps(container.to_doc(), separators=(",", ":"))
