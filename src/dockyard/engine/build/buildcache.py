"""The classic builder's layer cache and the images' parent links, in one SQLite file.

``<data-root>/builder/cache.db`` (WAL, one transaction per change) holds two tables:

- ``steps``: (parent image ID, step key) -> the image a build made for that step. The key
  (:func:`step_key`) is a SHA-256 over the step's ``created_by`` after substitution (for
  COPY/ADD it carries the sources' content hash, :mod:`.checksum`, never their times) and
  the run config the step produced (Env, Cmd, WorkingDir, User, Labels...), as dockerd's
  cache compares the parent and the container config. A hit counts only while the image
  still exists (the executor checks); :meth:`BuildCache.forget` drops what a deleted
  image leaves.
- ``parents``: child image ID -> parent image ID, for every image a build step wrote.
  ``docker history`` shows these IDs in its IMAGE column, ``docker images`` hides the
  untagged ones that are the parents of other images, and ``rmi`` removes the untagged
  parents nothing else uses (dockerd's rules, see :mod:`dockyard.engine.images_service`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS steps (parent TEXT NOT NULL, key TEXT NOT NULL, image TEXT NOT NULL,
                                  created REAL NOT NULL, PRIMARY KEY (parent, key));
CREATE INDEX IF NOT EXISTS steps_image ON steps (image);
CREATE TABLE IF NOT EXISTS parents (image TEXT PRIMARY KEY, parent TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS parents_parent ON parents (parent);
"""

# run config fields that make two steps different (the rest, e.g. Image, is bookkeeping)
KEY_FIELDS = ("User", "ExposedPorts", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Volumes", "WorkingDir",
              "Entrypoint", "OnBuild", "Labels", "StopSignal", "Shell")


def step_key(created_by: str, run_config: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> str:
    """The cache key of a step: its ``created_by`` and the relevant part of the run config
    it produced (plus ``extra``, e.g. a RUN's network mode), canonical JSON hashed."""
    relevant = {name: run_config[name] for name in KEY_FIELDS if run_config.get(name) not in (None, "", [], {})}
    doc = {"created_by": created_by, "config": relevant, "extra": dict(extra or {})}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class BuildCache:
    """The cache file of one engine (see the module's docstring)."""

    def __init__(self, data_root: str) -> None:
        directory = os.path.join(data_root, "builder")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.cache_mounts = os.path.join(directory, "cache-mounts")
        self.path = os.path.join(directory, "cache.db")
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        with self._tx() as db:
            for statement in SCHEMA.strip().split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # -- steps ---------------------------------------------------------------------------------
    def lookup(self, parent: str, key: str) -> str | None:
        """The image an earlier build made for this step on ``parent`` ("" for scratch)."""
        row = self.db.execute("SELECT image FROM steps WHERE parent=? AND key=?", (parent, key)).fetchone()
        return str(row[0]) if row else None

    def store(self, parent: str, key: str, image: str) -> None:
        """Remember a step's image and its parent link, in one transaction."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO steps (parent, key, image, created) VALUES (?, ?, ?, ?)",
                       (parent, key, image, time.time()))
            if parent:
                db.execute("INSERT OR REPLACE INTO parents (image, parent) VALUES (?, ?)", (image, parent))

    def forget_step(self, parent: str, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM steps WHERE parent=? AND key=?", (parent, key))

    def clear_steps(self) -> int:
        """Forget every cache entry (``docker builder prune``); how many there were."""
        with self._tx() as db:
            count = int(db.execute("SELECT COUNT(*) FROM steps").fetchone()[0])
            db.execute("DELETE FROM steps")
        return count

    def clear_cache_mounts(self) -> int:
        """Remove the ``RUN --mount=type=cache`` directories; the bytes they held."""
        import shutil

        size = 0
        for top, _, files in os.walk(self.cache_mounts):
            for name in files:
                try:
                    size += os.lstat(os.path.join(top, name)).st_size
                except OSError:
                    pass
        shutil.rmtree(self.cache_mounts, ignore_errors=True)
        return size

    # -- parent links ------------------------------------------------------------------------
    def link(self, image: str, parent: str) -> None:
        """``parent`` is the parent of ``image`` (a commit's: the container's image)."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO parents (image, parent) VALUES (?, ?)", (image, parent))

    def parent(self, image: str) -> str:
        row = self.db.execute("SELECT parent FROM parents WHERE image=?", (image,)).fetchone()
        return str(row[0]) if row else ""

    def parent_map(self) -> dict[str, str]:
        return {str(image): str(parent) for image, parent in self.db.execute("SELECT image, parent FROM parents")}

    def forget(self, images: list[str]) -> None:
        """Deleted images: their cache entries and parent links (as child and as parent)."""
        if not images:
            return
        with self._tx() as db:
            for image in images:
                db.execute("DELETE FROM steps WHERE image=? OR parent=?", (image, image))
                db.execute("DELETE FROM parents WHERE image=?", (image,))
