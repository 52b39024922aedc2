"""Mount the cgroup file systems for a ``"type": "cgroup"`` entry of the config's mounts.

cgroup v1 (and hybrid hosts): a tmpfs at the destination with one directory per host v1
hierarchy, named as on the host (``memory``, ``cpu,cpuacct``, ``systemd``); like runc 1.1, a
hybrid host's cgroup2 ``unified`` mount is left out (the container still joins it).
Without a cgroup namespace each is a bind mount of the container's own cgroup directory
(from ``cgroup_paths``, else this process's /proc/self/cgroup) with the entry's flags
(usually ro, nosuid, nodev, noexec); with one, a fresh ``cgroup``/``cgroup2`` mount, whose
root the kernel puts at the namespace's root. Combined hierarchies get a symlink per
controller (``cpu -> cpu,cpuacct``) as hosts have. Pure cgroup v2: one cgroup2 mount (a
bind of the container's directory if the kernel refuses it).
"""

from __future__ import annotations

import errno
import os

from dockyard.errors import Internal
from dockyard.runtime import linux as L
from dockyard.runtime import mountinfo
from dockyard.runtime.devices import error_from
from dockyard.runtime.paths import is_within

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.rootfs import Mount, _Preparer

PROC_CGROUP = "/proc/self/cgroup"
CGROUP_FLAGS = L.MS_NOSUID | L.MS_NODEV | L.MS_NOEXEC
_NOT_CONTROLLERS = frozenset(
    {"rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods"}
)


class Hierarchy:
    """One host cgroup mount: v1 with its controllers, or cgroup2 (``controllers == ()``)."""

    __slots__ = ("controllers", "mountpoint", "root", "v2")

    def __init__(self, mountpoint: str, root: str, controllers: tuple[str, ...], v2: bool):
        self.mountpoint = mountpoint
        self.root = root
        self.controllers = controllers
        self.v2 = v2

    @property
    def name(self) -> str:
        return os.path.basename(self.mountpoint)


def host_hierarchies(exclude: str) -> list[Hierarchy]:
    """The host's cgroup mounts (one per hierarchy), ignoring those under ``exclude``."""
    found: list[Hierarchy] = []
    seen: set[tuple[bool, frozenset[str]]] = set()
    for entry in mountinfo.read():
        if entry.fstype not in ("cgroup", "cgroup2") or is_within(exclude, entry.mountpoint):
            continue
        v2 = entry.fstype == "cgroup2"
        controllers: tuple[str, ...] = ()
        if not v2:
            controllers = tuple(
                o for o in entry.super_options.split(",")
                if o and o not in _NOT_CONTROLLERS and not o.startswith("release_agent=")
            )  # fmt: skip
        key = (v2, frozenset(controllers))
        if key not in seen:
            seen.add(key)
            found.append(Hierarchy(entry.mountpoint, entry.root, controllers, v2))
    return found


def own_cgroups(path: str = PROC_CGROUP) -> dict[frozenset[str], str]:
    """This process's cgroup per hierarchy, keyed by its controller set (empty: cgroup2)."""
    result: dict[frozenset[str], str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) == 3:
                result[frozenset(c for c in parts[1].split(",") if c)] = parts[2]
    return result


def host_dir(h: Hierarchy, path: str) -> str:
    """``path`` as a host directory: kept if under the mount point, else a cgroup path."""
    if path == h.mountpoint or path.startswith(h.mountpoint + "/"):
        return path
    rel = os.path.relpath(os.path.normpath("/" + path), h.root)
    if rel.startswith(".."):
        raise Internal(f"cgroup {path!r} is outside the mount of {h.mountpoint} (root {h.root})")
    return h.mountpoint if rel == "." else h.mountpoint + "/" + rel


def container_dir(h: Hierarchy, cgroup_paths: dict[str, str]) -> str:
    keys = ["", "unified", h.name] if h.v2 else [*h.controllers, h.name]
    keys += [k[len("name=") :] for k in keys if k.startswith("name=")]
    for key in keys:
        if cgroup_paths.get(key):
            return host_dir(h, cgroup_paths[key])
    own = own_cgroups().get(frozenset(h.controllers))
    if own is None:
        raise Internal(f"cgroup hierarchy {h.mountpoint}: not in /proc/self/cgroup")
    return host_dir(h, own)


def mount_cgroups(p: _Preparer, m: Mount, dest: str) -> None:
    """Mount the cgroup tree for entry ``m`` at host path ``dest`` (inside the rootfs)."""
    hierarchies = host_hierarchies(p.rootfs)
    if not any(not h.v2 for h in hierarchies):
        _mount_v2(p, m, dest, hierarchies[0] if hierarchies else None)
        return
    hierarchies = [h for h in hierarchies if not h.v2]  # runc 1.1 mounts v1 ones only
    p.mkdir(m, dest)
    p.mount(m, "tmpfs", dest, "tmpfs", CGROUP_FLAGS, "mode=755", " (tmpfs)")
    p.propagate(m, dest)
    for h in hierarchies:
        sub = dest + "/" + h.name
        p.mkdir(m, sub)
        if p.cgroup_ns:
            flags = CGROUP_FLAGS | (m.opts.flags & L.MS_RDONLY)
            data = ",".join(h.controllers)
            source = "systemd" if data == "name=systemd" else "cgroup"  # as runc names it
            p.mount(m, source, sub, "cgroup", flags, data, f" ({h.name})")
        else:
            src = container_dir(h, p.cgroup_paths)
            p.mount(m, src, sub, None, L.MS_BIND | L.MS_REC, None, f" ({h.name}: bind {src})")
            p.bind_remount(m, sub, L.MS_BIND | L.MS_REC | m.opts.flags)
            p.propagate(m, sub)
    for h in hierarchies:
        if "," not in h.name:
            continue
        for part in h.name.split(","):
            try:
                p.sys.symlink(h.name, dest + "/" + part)
            except FileExistsError:
                continue
            except OSError as exc:
                raise error_from(f"{m.name} (symlink {part} -> {h.name})", exc) from None


def _mount_v2(p: _Preparer, m: Mount, dest: str, h: Hierarchy | None) -> None:
    p.mkdir(m, dest)
    try:
        p.sys.mount(m.source, dest, "cgroup2", m.opts.flags, m.opts.data or None)
    except OSError as exc:
        if p.cgroup_ns or h is None or exc.errno not in (errno.EPERM, errno.EBUSY):
            raise error_from(m.name, exc) from None
        src = container_dir(h, p.cgroup_paths)
        p.mount(m, src, dest, None, L.MS_BIND | L.MS_REC, None, f" (bind {src})")
        p.bind_remount(m, dest, L.MS_BIND | L.MS_REC | m.opts.flags)
    p.propagate(m, dest)
