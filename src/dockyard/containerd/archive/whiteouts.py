"""Whiteouts: ``.wh.<name>`` deletes a lower entry, ``.wh..wh..opq`` makes a directory opaque.

OCI image spec, "Whiteouts": a whiteout applies only to the lower layers, never to entries
of its own layer, and an opaque marker hides every lower child of its directory whatever
its position in the archive. So :class:`Whiteouts` remembers where this layer's entries
landed (``unpacked``) and which directories hold them (``ancestors``, which also covers
directories created implicitly), and spares both, as containerd's ``applyNaive`` does.

Two ways to write them:

- *naive* (a plain or merged root): delete the lower entry; empty an opaque directory of
  everything that did not come from this layer.
- *overlay* (applying straight into an overlay upper dir, ``overlay_whiteouts=True``): a
  0/0 character device owned by the header's uid/gid for ``.wh.<name>``, and the
  ``trusted.overlay.opaque=y`` xattr for an opaque directory, as containerd's
  ``OverlayConvertWhiteout``. Needs CAP_MKNOD and CAP_SYS_ADMIN (trusted.* xattrs).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

from dockyard.containerd.archive import fsops
from dockyard.containerd.archive.names import OPAQUE, whiteout_target
from dockyard.containerd.archive.tarread import Entry

OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"


class Whiteouts:
    """Applies whiteout entries of one layer into ``root``."""

    def __init__(self, root: str, overlay: bool, same_owner: bool, removed: Callable[[], None]) -> None:
        self.root = root
        self.overlay = overlay
        self.same_owner = same_owner
        self._removed = removed  # called after a directory or symlink was removed
        self.unpacked: set[str] = set()
        self.ancestors: set[str] = set()
        self._opaque_done: set[str] = set()

    def mark(self, path: str) -> None:
        """An entry of this layer now lives at host path ``path``."""
        self.unpacked.add(path)
        ancestors = self.ancestors
        floor = len(self.root)
        parent = path.rpartition("/")[0]
        while len(parent) > floor and parent not in ancestors:
            ancestors.add(parent)
            parent = parent.rpartition("/")[0]

    def apply(self, entry: Entry, parent_dir: str, base: str) -> None:
        """Handle whiteout entry ``entry`` whose name is ``base`` inside host dir ``parent_dir``."""
        if base == OPAQUE:
            self._opaque(parent_dir)
            return
        target_name = whiteout_target(base, entry.name)
        if target_name is None:
            return  # AUFS metadata (.wh..wh.plnk and the like)
        target = parent_dir + "/" + target_name
        if target in self.unpacked or target in self.ancestors:
            return  # entries of this same layer are not hidden by its whiteouts
        if fsops.remove(target):
            self._removed()
        if self.overlay:
            os.mknod(target, stat.S_IFCHR, 0)
            if self.same_owner:
                os.chown(target, entry.uid, entry.gid, follow_symlinks=False)

    def _opaque(self, directory: str) -> None:
        if directory in self._opaque_done:
            return
        self._opaque_done.add(directory)
        if self.overlay:
            os.setxattr(directory, OVERLAY_OPAQUE_XATTR, b"y", follow_symlinks=False)
            return
        removed = False
        stack = [directory]
        unpacked, ancestors = self.unpacked, self.ancestors
        while stack:
            current = stack.pop()
            with os.scandir(current) as it:
                children = [(child.path, child.is_dir(follow_symlinks=False)) for child in it]
            for path, is_dir in children:
                if is_dir and (path in ancestors or path in unpacked):
                    stack.append(path)  # ours, or holds ours: keep it, hide what lies below
                elif path not in unpacked:
                    removed = fsops.remove(path) or removed
        if removed:
            self._removed()
