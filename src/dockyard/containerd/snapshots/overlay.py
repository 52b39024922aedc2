"""The overlay snapshotter (containerd's ``overlayfs``; the default backend).

Every snapshot is ``<root>/snapshots/<id>/fs`` (its own layer: the upper directory while it
is active, a lower directory once committed) and, for active snapshots, ``work`` (overlay's
workdir). Layers share their bytes: a child holds only what it changed, deletions included
(whiteouts: 0/0 character devices; opaque directories: ``trusted.overlay.opaque=y``).

Mounts, as containerd returns them (the caller mounts them, see
:mod:`dockyard.containerd.mount`):

- active, no parent: a read-write ``rbind`` of its ``fs``;
- active with parents: ``overlay`` with ``upperdir``, ``workdir`` and ``lowerdir`` = the
  parents' ``fs``, nearest first (any depth: the mount helper never lets the kernel cut the
  options at one page);
- view of one layer (or of none): a read-only ``rbind``;
- view of several layers: ``overlay`` with only ``lowerdir`` (read-only by nature).
"""

from __future__ import annotations

import os
import stat

from dockyard.containerd.snapshots import KIND_ACTIVE, KIND_VIEW, Mount
from dockyard.containerd.snapshots.local import LocalSnapshotter
from dockyard.containerd.snapshots.storage import Record

_INDEX_PARAMETER = "/sys/module/overlay/parameters/index"


class OverlaySnapshotter(LocalSnapshotter):
    """Snapshots as overlayfs layers under ``root`` (see the module docstring)."""

    name = "overlayfs"

    def __init__(self, root: str) -> None:
        super().__init__(root)
        # as containerd: index=off where the kernel knows the option, so the same layers can
        # be mounted by many overlays at once whatever the kernel's default
        self.base_options = ["index=off"] if os.path.exists(_INDEX_PARAMETER) else []

    def fs_dir(self, snapshot_id: int) -> str:
        return os.path.join(self.snapshot_dir(snapshot_id), "fs")

    def work_dir(self, snapshot_id: int) -> str:
        return os.path.join(self.snapshot_dir(snapshot_id), "work")

    def upper_dir(self, key: str) -> str:
        """The directory holding ``key``'s own layer (for appliers that write whiteouts there)."""
        return self.fs_dir(self._id(key))

    def _id(self, key: str) -> int:
        with self.store.read() as tx:
            return tx.get(key).id

    def _populate(self, path: str, kind: str, parent_ids: list[int]) -> None:
        fs = os.path.join(path, "fs")
        os.mkdir(fs, 0o755)
        if kind == KIND_ACTIVE:
            os.mkdir(os.path.join(path, "work"), 0o711)
        if parent_ids:  # overlay's root is the upper's root: give it the parent root's owner/mode
            st = os.stat(self.fs_dir(parent_ids[0]))
            os.chown(fs, st.st_uid, st.st_gid)
            os.chmod(fs, stat.S_IMODE(st.st_mode))

    def _mounts(self, rec: Record, parent_ids: list[int]) -> list[Mount]:
        if not parent_ids:
            mode = "ro" if rec.kind == KIND_VIEW else "rw"
            return [Mount("bind", self.fs_dir(rec.id), [mode, "rbind"])]
        if rec.kind == KIND_VIEW and len(parent_ids) == 1:
            return [Mount("bind", self.fs_dir(parent_ids[0]), ["ro", "rbind"])]
        options = list(self.base_options)
        if rec.kind == KIND_ACTIVE:
            options += [f"workdir={self.work_dir(rec.id)}", f"upperdir={self.fs_dir(rec.id)}"]
        options.append("lowerdir=" + ":".join(self.fs_dir(i) for i in parent_ids))
        return [Mount("overlay", "overlay", options)]

    def _usage_dir(self, snapshot_id: int) -> str:
        return self.fs_dir(snapshot_id)
