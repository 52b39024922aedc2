"""The layer of ``docker commit``: a container's changes as a gzip layer tar (with whiteouts).

:func:`write_container_layer` walks the overlay upper directory of the container's
snapshot with containerd's change walker (:class:`~dockyard.containerd.archive.changes.ChangeWalker`,
the overlay way: whiteout devices become ``.wh.`` entries, opaque directories
``.wh..wh..opq``), against a read-only view of the image's layers so that copied-up but
unchanged directories stay out. It runs in a worker thread (it reads the disk).

Like dockerd, which keeps them in an init layer of its own, the mount points the engine
and the runtime make (:data:`~dockyard.engine.container_fs.INIT_PATHS`: ``/proc``,
``/etc/hosts``...) are not part of the layer, nor a directory that only they touched
(:class:`InitPathFilter`); ``docker diff`` leaves out the same paths.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from dockyard.containerd.archive import tarread
from dockyard.containerd.archive.changes import ChangeWalker
from dockyard.containerd.archive.tarwrite import Header, LayerWriter, Writable
from dockyard.containerd.snapshots import Mount
from dockyard.engine.container_fs import INIT_PATHS, overlay_dirs
from dockyard.engine.container_rootfs import lower_mounts

INIT_TREES = ("/proc/", "/sys/", "/dev/")
# the diffID of a layer without entries (two zero blocks): docker's "empty layer"
EMPTY_LAYER_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


def is_init_path(path: str) -> bool:
    """Whether ``path`` (absolute, no trailing slash) is a mount point the engine or runtime made."""
    return path in INIT_PATHS or path.startswith(INIT_TREES)


@dataclass
class _Pending:
    header: Header
    touched: bool = False  # an init path below it was left out


class InitPathFilter(LayerWriter):
    """A :class:`LayerWriter` that leaves out the init paths, and the directories that hold
    nothing else the layer writes (held back until something below them is written, or
    written when their turn is over and no init path touched them)."""

    def __init__(self, out: Writable, compression_name: str = "gzip") -> None:
        super().__init__(out, compression_name)
        self._dirs: list[_Pending] = []  # directory headers not written yet, outermost first
        self.entries = 0

    @staticmethod
    def _path(header: Header) -> str:
        return "/" + header.name.rstrip("/")

    def _write_held(self, upto: int) -> None:
        """Write the held directories ``[0, upto)`` (all ancestors of what comes next)."""
        for held in self._dirs[:upto]:
            self.entries += 1
            super().add(held.header)
        del self._dirs[:upto]

    def _leave(self, path: str) -> None:
        """Decide about the held directories that ``path`` is not inside of (innermost first)."""
        while self._dirs and not path.startswith(self._path(self._dirs[-1].header) + "/"):
            held = self._dirs[-1]
            if held.touched:
                self._dirs.pop()
            else:
                self._write_held(len(self._dirs))

    def add(self, header: Header, fd: int | None = None) -> None:
        path = self._path(header)
        self._leave(path)
        if is_init_path(path):
            for held in self._dirs:
                held.touched = True
            return
        if header.type == tarread.DIR:
            self._dirs.append(_Pending(header))
            return
        self._write_held(len(self._dirs))
        self.entries += 1
        super().add(header, fd)

    def close(self) -> None:
        self._leave("")
        super().close()


@dataclass(frozen=True)
class LayerResult:
    diff_id: str  # of the tar
    digest: str  # of the gzip blob
    size: int  # of the gzip blob
    empty: bool  # nothing changed (docker's empty layer: not stored)


def write_container_layer(mounts: Sequence[Mount], out: Writable, mount_dir: str) -> LayerResult:
    """The changes of the container whose snapshot has ``mounts`` as a gzip layer into
    ``out`` (the image's layers are mounted read-only on a directory under ``mount_dir``)."""
    from dockyard.containerd.mount import mounted

    upper, _ = overlay_dirs(list(mounts))
    writer = InitPathFilter(out, "gzip")
    with ExitStack() as stack:
        lowers = lower_mounts(list(mounts))
        lower_root = stack.enter_context(mounted(lowers, parent_dir=mount_dir)) if lowers else None
        ChangeWalker(writer, os.path.realpath(upper), lower_root, True).run()
    writer.close()
    return LayerResult(writer.diff_id, writer.digest, writer.compressed_size, writer.entries == 0)
