"""The native snapshotter (containerd's ``native``): full copies, for file systems where
overlay does not work (overlay on overlay, some network file systems).

Every snapshot is ``<root>/snapshots/<id>``, a complete tree: ``prepare`` and ``view`` copy
the parent's tree (owners, modes, xattrs, hard links, devices, symlinks, times; reflinks where
the file system shares extents, see :mod:`.copy`). Mounts are one ``rbind`` of that directory,
read-write for active snapshots and read-only for views. Usage is the whole tree's, as in
containerd: a copy is not shared.
"""

from __future__ import annotations

import os

from dockyard.containerd.snapshots import KIND_VIEW, Mount
from dockyard.containerd.snapshots.copy import copy_tree
from dockyard.containerd.snapshots.local import LocalSnapshotter
from dockyard.containerd.snapshots.storage import Record


class NativeSnapshotter(LocalSnapshotter):
    """Snapshots as full directory copies under ``root``."""

    name = "native"

    def _populate(self, path: str, kind: str, parent_ids: list[int]) -> None:
        if parent_ids:
            copy_tree(self.snapshot_dir(parent_ids[0]), path, dst_exists=True)
        else:
            os.chmod(path, 0o755)

    def _mounts(self, rec: Record, parent_ids: list[int]) -> list[Mount]:
        mode = "ro" if rec.kind == KIND_VIEW else "rw"
        return [Mount("bind", self.snapshot_dir(rec.id), [mode, "rbind"])]

    def _usage_dir(self, snapshot_id: int) -> str:
        return self.snapshot_dir(snapshot_id)
