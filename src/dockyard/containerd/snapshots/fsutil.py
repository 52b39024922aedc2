"""File-system helpers of the local snapshotters: disk usage, mount checks, tree removal.

Disk usage is counted as containerd's ``fs.DiskUsage``: every inode below (and including) the
root once, hard links counted once, bytes as allocated blocks (``st_blocks * 512``), so a
sparse file costs what it occupies and a small file a whole block.
"""

from __future__ import annotations

import os
import shutil
import stat

from dockyard.containerd.snapshots import Usage
from dockyard.errors import FailedPrecondition
from dockyard.runtime import mountinfo


def disk_usage(root: str) -> Usage:
    """Allocated bytes and inodes of the tree at ``root`` (not following symlinks)."""
    seen: set[tuple[int, int]] = set()
    size = 0
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        return Usage()
    seen.add((st.st_dev, st.st_ino))
    size += st.st_blocks * 512
    if not stat.S_ISDIR(st.st_mode):
        return Usage(size, 1)
    stack = [root]
    while stack:
        path = stack.pop()
        try:
            entries = list(os.scandir(path))
        except FileNotFoundError:  # removed while we walked
            continue
        for entry in entries:
            try:
                est = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            ident = (est.st_dev, est.st_ino)
            if ident not in seen:
                seen.add(ident)
                size += est.st_blocks * 512
            if stat.S_ISDIR(est.st_mode):
                stack.append(entry.path)
    return Usage(size, len(seen))


def mounts_at_or_below(path: str) -> list[str]:
    """Mount points at ``path`` or inside it, from /proc/self/mountinfo."""
    base = os.path.realpath(path).rstrip("/")
    prefix = base + "/"
    return [e.mountpoint for e in mountinfo.read() if e.mountpoint == base or e.mountpoint.startswith(prefix)]


def check_unmounted(path: str, what: str) -> None:
    """FailedPrecondition if something is mounted on or inside ``path``."""
    found = mounts_at_or_below(path)
    if found:
        raise FailedPrecondition(f"{what}: {found[0]} is still mounted")


def remove_tree(path: str) -> None:
    """Remove ``path`` and everything below it; a missing path is fine. Refuses (and removes
    nothing) when something is mounted inside, so a removal never reaches through a mount."""
    if not os.path.lexists(path):
        return
    check_unmounted(path, f"remove {path}")

    def onerror(func: object, failed: str, exc_info: tuple[type[BaseException], BaseException, object]) -> None:
        if not isinstance(exc_info[1], FileNotFoundError):  # gone already: fine
            raise exc_info[1]

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=onerror)
    else:
        os.unlink(path)
