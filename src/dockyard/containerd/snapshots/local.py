"""What the local snapshotters share: metadata, directory lifecycle, crash recovery.

Layout under ``root`` (both backends)::

    metadata.db                 SQLite (see storage.py); keys -> numeric ids
    snapshots/<id>/             one directory per snapshot, named by its id
    snapshots/new-<pid>-<rand>/ a snapshot being prepared (not yet in the metadata)
    snapshots/rm-<id>/          a snapshot being removed (no longer in the metadata)

A new snapshot is built in ``new-*`` first (overlay: empty ``fs``/``work``; native: a copy of
the parent), then renamed to ``<id>`` inside the transaction that records it: if anything
fails the rename is undone and the directory removed, so a failed prepare leaves nothing.
Removal deletes the row and renames ``<id>`` to ``rm-<id>`` in one transaction, then deletes
the tree, so a half-deleted tree is never visible as a snapshot. :meth:`cleanup` (also run
when a root is opened) finishes what a crash interrupted.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator, Sequence

from dockyard.containerd.filters import parse_filters
from dockyard.containerd.snapshots import (
    KIND_ACTIVE,
    KIND_COMMITTED,
    KIND_VIEW,
    Info,
    Mount,
    Snapshotter,
    Usage,
    info_field,
)
from dockyard.containerd.snapshots.fsutil import check_unmounted, disk_usage, remove_tree
from dockyard.containerd.snapshots.storage import MetaStore, Record, check_key, check_labels
from dockyard.errors import DockyardError, FailedPrecondition


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalSnapshotter(Snapshotter):
    """A snapshotter whose snapshots are directories under one root. Backends fill in
    :meth:`_populate` (the new directory's content), :meth:`_mounts` and :meth:`_usage_dir`."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.snapshots_dir = os.path.join(self.root, "snapshots")
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        os.makedirs(self.snapshots_dir, mode=0o700, exist_ok=True)
        self.store = MetaStore(os.path.join(self.root, "metadata.db"))
        try:
            self.cleanup()
        except BaseException:
            self.store.close()
            raise

    # ---- backend hooks
    def _populate(self, path: str, kind: str, parent_ids: list[int]) -> None:
        """Fill the new snapshot directory ``path`` (parent ids nearest first)."""
        raise NotImplementedError

    def _mounts(self, rec: Record, parent_ids: list[int]) -> list[Mount]:
        raise NotImplementedError

    def _usage_dir(self, snapshot_id: int) -> str:
        """The directory whose content is the snapshot's own layer."""
        raise NotImplementedError

    # ---- paths
    def snapshot_dir(self, snapshot_id: int) -> str:
        return os.path.join(self.snapshots_dir, str(snapshot_id))

    # ---- the Snapshotter contract
    def stat(self, key: str) -> Info:
        with self.store.read() as tx:
            return tx.get(key).info()

    def update(self, info: Info, fieldpaths: Sequence[str] = ()) -> Info:
        with self.store.write() as tx:
            return tx.update(info, fieldpaths).info()

    def usage(self, key: str) -> Usage:
        with self.store.read() as tx:
            rec = tx.get(key)
        if rec.kind == KIND_ACTIVE:
            return disk_usage(self._usage_dir(rec.id))
        return rec.usage()

    def mounts(self, key: str) -> list[Mount]:
        with self.store.read() as tx:
            rec = tx.get(key)
            if rec.kind == KIND_COMMITTED:
                raise FailedPrecondition(f"snapshot {key!r}: is committed; only active and view snapshots mount")
            parent_ids = tx.parent_ids(rec)
        return self._mounts(rec, parent_ids)

    def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        return self._create(KIND_ACTIVE, key, parent, labels)

    def view(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        return self._create(KIND_VIEW, key, parent, labels)

    def commit(self, name: str, key: str, labels: dict[str, str] | None = None) -> None:
        check_key(name, "name")
        clean = check_labels(labels)
        with self.store.read() as tx:
            rec = tx.get(key)
            if rec.kind != KIND_ACTIVE:
                raise FailedPrecondition(f"snapshot {key!r}: is {rec.kind.lower()}, only active snapshots commit")
        usage = disk_usage(self._usage_dir(rec.id))
        with self.store.write() as tx:
            tx.commit(name, key, usage, clean, expect_id=rec.id)

    def remove(self, key: str) -> None:
        with self.store.read() as tx:
            rec = tx.get(key)
        check_unmounted(self.snapshot_dir(rec.id), f"snapshot {key!r}")
        with self.store.write() as tx:
            rec = tx.remove(key)
            path = self.snapshot_dir(rec.id)
            trash = os.path.join(self.snapshots_dir, f"rm-{rec.id}")
            if os.path.lexists(path):
                os.rename(path, trash)
                tx.on_rollback(lambda: os.rename(trash, path))
        with contextlib.suppress(OSError, DockyardError):  # cleanup() retries what is left
            remove_tree(trash)

    def walk(self, *filters: str) -> Iterator[Info]:
        selected = parse_filters(filters, casefold=("kind",))
        with self.store.read() as tx:
            infos = [rec.info() for rec in tx.all()]
        return iter([info for info in infos if selected.match(functools.partial(info_field, info))])

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> LocalSnapshotter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the directory lifecycle
    def _create(self, kind: str, key: str, parent: str, labels: dict[str, str] | None) -> list[Mount]:
        clean = check_labels(labels)
        with self.store.read() as tx:
            prec = tx.check_new(kind, key, parent)
            parent_ids = [prec.id, *tx.parent_ids(prec)] if prec else []
        tmp = tempfile.mkdtemp(prefix=f"new-{os.getpid()}-", dir=self.snapshots_dir)
        try:
            self._populate(tmp, kind, parent_ids)
            with self.store.write() as tx:
                rec = tx.create(kind, key, parent, clean)
                if rec.parent_id != (prec.id if prec else None):
                    raise FailedPrecondition(f"snapshot {key!r}: parent {parent!r} changed during prepare")
                final = self.snapshot_dir(rec.id)
                remove_tree(final)  # only a crash leaves a directory under a fresh id
                os.rename(tmp, final)
                tx.on_rollback(lambda: os.rename(final, tmp))
                return self._mounts(rec, parent_ids)
        except BaseException:
            with contextlib.suppress(OSError, DockyardError):
                remove_tree(tmp)
            raise

    def cleanup(self) -> None:
        """Finish what crashed operations left (containerd's ``Cleaner``): remove ``new-*`` of
        dead processes, ``rm-*`` and directories no snapshot owns; give an ``rm-<id>`` whose
        snapshot is still recorded (the removal never committed) its name back."""
        garbage: list[str] = []
        with self.store.write() as tx:
            ids = tx.ids()
            for name in sorted(os.listdir(self.snapshots_dir)):
                path = os.path.join(self.snapshots_dir, name)
                if name.startswith("new-"):
                    pid = name.split("-")[1]
                    if not (pid.isdigit() and _alive(int(pid))):
                        garbage.append(path)
                elif name.startswith("rm-"):
                    sid = name[3:]
                    home = self.snapshot_dir(int(sid)) if sid.isdigit() else ""
                    if home and int(sid) in ids and not os.path.lexists(home):
                        os.rename(path, home)
                    else:
                        garbage.append(path)
                elif name.isdigit() and int(name) not in ids:
                    trash = os.path.join(self.snapshots_dir, f"rm-{name}")
                    if os.path.lexists(trash):
                        remove_tree(trash)
                    os.rename(path, trash)
                    garbage.append(trash)
        for path in garbage:
            with contextlib.suppress(OSError, DockyardError):
                remove_tree(path)
