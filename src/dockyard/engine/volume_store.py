"""The engine's volumes on disk: ``<data-root>/volumes/metadata.db`` (SQLite) and the data.

Each volume of the local driver is a directory ``<data-root>/volumes/<name>/`` whose
``_data`` is what containers mount (its mount point, as Docker's). The metadata (name,
driver, labels, driver options, creation time) is one row per volume, written in one
transaction (WAL journal, schema version in ``PRAGMA user_version``), so a volume is
either wholly recorded or not at all; the directory is made before the row and removed
after it, so a row never names a missing directory for long (:meth:`VolumeStore.load`
makes a missing one again).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import FailedPrecondition

SCHEMA_VERSION = 1
FILE_NAME = "metadata.db"
DATA_DIR = "_data"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"


@dataclass
class Volume:
    """One volume: what ``GET /volumes/{name}`` shows, plus where its data lives."""

    name: str
    driver: str
    created_ns: int
    path: str  # the mount point: <data-root>/volumes/<name>/_data
    labels: dict[str, str] | None = None
    options: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in (self.labels or {})

    @property
    def mount_options(self) -> tuple[str, str, str] | None:
        """(type, device, o) when the driver options ask for a file system mount."""
        opts = self.options or {}
        if not opts.get("type") and not opts.get("device"):
            return None
        return opts.get("type", ""), opts.get("device", ""), opts.get("o", "")

    def to_doc(self) -> dict[str, Any]:
        return {"name": self.name, "driver": self.driver, "created_ns": self.created_ns,
                "labels": self.labels, "options": self.options}


class VolumeStore:
    """The metadata database of the volumes under ``root`` (``<data-root>/volumes``)."""

    def __init__(self, root: str) -> None:
        os.makedirs(root, mode=0o701, exist_ok=True)
        self.root = root
        self.path = os.path.join(root, FILE_NAME)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise FailedPrecondition(f"{self.path}: schema version {version} is newer than this engine's "
                                     f"({SCHEMA_VERSION})")
        if version < SCHEMA_VERSION:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute("CREATE TABLE IF NOT EXISTS volumes (name TEXT PRIMARY KEY, doc TEXT NOT NULL)")
                self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def data_path(self, name: str) -> str:
        return os.path.join(self.root, name, DATA_DIR)

    def _volume(self, doc: dict[str, Any]) -> Volume:
        return Volume(name=doc["name"], driver=doc.get("driver") or "local", created_ns=int(doc.get("created_ns") or 0),
                      path=self.data_path(doc["name"]), labels=doc.get("labels"), options=doc.get("options"))

    def load(self) -> list[Volume]:
        """Every recorded volume (a missing data directory is made again, empty)."""
        out = []
        for (text,) in self.conn.execute("SELECT doc FROM volumes ORDER BY name").fetchall():
            volume = self._volume(json.loads(text))
            os.makedirs(volume.path, mode=0o755, exist_ok=True)
            out.append(volume)
        return out

    def add(self, volume: Volume) -> None:
        """Make the directory, then record the volume (the directory goes again on failure)."""
        os.makedirs(os.path.dirname(volume.path), mode=0o701, exist_ok=True)
        os.makedirs(volume.path, mode=0o755, exist_ok=True)
        try:
            self.conn.execute("INSERT INTO volumes (name, doc) VALUES (?, ?)",
                              (volume.name, json.dumps(volume.to_doc(), separators=(",", ":"))))
        except BaseException:
            shutil.rmtree(os.path.dirname(volume.path), ignore_errors=True)
            raise

    def delete(self, name: str) -> None:
        """Forget the volume, then remove its directory."""
        self.conn.execute("DELETE FROM volumes WHERE name = ?", (name,))
        shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)

    def close(self) -> None:
        self.conn.close()
