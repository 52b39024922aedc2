"""A container's filesystem seen from outside: ``docker diff`` and ``docker export``.

- :func:`changes`: the overlay upper directory against the image's layers: a whiteout is
  a deletion (Kind 2), a path the layers have is a change (0), any other an addition (1).
  Like dockerd, which keeps them in an init layer of its own, the mount points the engine
  and the runtime make (``/proc``, ``/sys``, ``/dev``..., ``/etc/hosts``, ``hostname``,
  ``resolv.conf``) are not reported, nor a directory changed or made only for them (``/etc``
  of an image that has none).
- :func:`export_root`: the whole root filesystem (upper over the layers) mounted read-only
  on a temporary directory, for ``tar`` to stream (``GET /containers/{id}/export``).
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import Any

from dockyard.containerd.snapshots import Mount
from dockyard.errors import NotImplementedYet

ADDED, MODIFIED, DELETED = 1, 0, 2
INIT_PATHS = frozenset(("/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/console",
                        "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab", "/.dockerenv",
                        "/sys/fs/cgroup"))


def overlay_dirs(mounts: list[Mount]) -> tuple[str, list[str]]:
    """(upper, lowers) of a container snapshot's overlay mount; a snapshot without a parent
    (``FROM scratch``) is the snapshotter's read-write bind of its upper directory."""
    if len(mounts) == 1 and mounts[0].type == "bind" and "ro" not in mounts[0].options:
        return mounts[0].source, []
    for m in mounts:
        if m.type != "overlay":
            continue
        upper, lowers = "", []
        for option in m.options:
            if option.startswith("upperdir="):
                upper = option[len("upperdir="):]
            elif option.startswith("lowerdir="):
                lowers.extend(option[len("lowerdir="):].split(":"))
            elif option.startswith("lowerdir+="):
                lowers.append(option[len("lowerdir+="):])
        if upper:
            return upper, lowers
    raise NotImplementedYet("changes and export need the overlayfs snapshotter")


def _whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _in_lowers(lowers: list[str], rel: str) -> bool:
    return any(os.path.lexists(os.path.join(lower, rel)) for lower in lowers)


def changes(upper: str, lowers: list[str]) -> list[dict[str, Any]]:
    found: dict[str, int] = {}
    for top, dirs, files in os.walk(upper):
        rel_top = os.path.relpath(top, upper)
        for name in sorted(dirs + files):
            rel = os.path.normpath(os.path.join(rel_top, name))
            path = "/" + rel
            st = os.lstat(os.path.join(top, name))
            if _whiteout(st):
                found[path] = DELETED
                if name in dirs:
                    dirs.remove(name)
                continue
            found[path] = MODIFIED if _in_lowers(lowers, rel) else ADDED
    kept = {p: k for p, k in found.items() if p not in INIT_PATHS}
    out = []
    for path, kind in sorted(kept.items()):
        if kind != DELETED and _init_only_dir(upper, path, kind, kept):
            continue  # a directory the init paths alone touched (or made: /etc of an image without one)
        out.append({"Path": path, "Kind": kind})
    return out


def _init_only_dir(upper: str, path: str, kind: int, kept: dict[str, int]) -> bool:
    """A directory of the upper layer with nothing reported under it, changed (or, when
    added, holding a mount point) only because of the init paths."""
    if not os.path.isdir(os.path.join(upper, path.lstrip("/"))):
        return False
    if any(other.startswith(path + "/") for other in kept):
        return False
    return kind == MODIFIED or any(init.startswith(path + "/") for init in INIT_PATHS)


def rootfs_mounts(mounts: list[Mount]) -> list[Mount]:
    """The container's whole root, read-only (the upper layer joins the lower ones)."""
    upper, lowers = overlay_dirs(mounts)
    return [Mount("overlay", "overlay", ["lowerdir=" + ":".join([upper, *lowers]), "ro"])]


def mount_root(mounts: list[Mount], parent_dir: str) -> str:
    from dockyard.containerd.mount import mount_all

    path = tempfile.mkdtemp(prefix="dockyard-export-", dir=parent_dir)
    try:
        mount_all(rootfs_mounts(mounts), path)
    except BaseException:
        os.rmdir(path)
        raise
    return path


def unmount_root(path: str) -> None:
    from dockyard.containerd.mount import unmount_all

    unmount_all(path)
    os.rmdir(path)
