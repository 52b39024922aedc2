"""The cgroups of a running container, found from its init's ``/proc/<pid>/cgroup``.

Whatever runtime made the container (dockyard-runc, runc, crun) and however it resolved
``cgroupsPath``, the kernel says where the init lives; a
:class:`~dockyard.runtime.cgroups.Manager` over those directories gives the shim stats and
the OOM eventfd without running the runtime.
"""

from __future__ import annotations

import os

from dockyard.errors import DockyardError, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from dockyard.runtime.cgroups import Manager
    from dockyard.shim.loop import Loop


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        raise Unavailable(f"cgroups: cannot read {path}: {exc.strerror}") from None


def _inside(mount_root: str, path: str) -> str:
    """``path`` (as /proc/<pid>/cgroup shows it) relative to what the mount shows."""
    root = mount_root.rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :]
    return path


def manager_for_pid(pid: int, mountinfo_path: str = "/proc/self/mountinfo") -> Manager:
    """A cgroups manager for the cgroups ``pid`` is in (v1 with its unified dir, or v2)."""
    from dockyard.runtime.cgroups import fs

    mounts = fs.parse_mountinfo(_read(mountinfo_path))
    member = fs.parse_proc_cgroup(_read(f"/proc/{pid}/cgroup"))
    by_set = {frozenset(k.split(",")): v for k, v in member.items() if k}
    paths: dict[str, str] = {}
    unified = ""
    for mount in mounts:
        if mount.version == 2:
            if not unified and "" in member:
                unified = fs.join_path(mount.mountpoint, _inside(mount.root, member[""]))
            continue
        path = by_set.get(frozenset(mount.controllers))
        if path is None or any(c in paths for c in mount.controllers):
            continue
        directory = fs.join_path(mount.mountpoint, _inside(mount.root, path))
        for controller in mount.controllers:
            paths[controller] = directory
    if paths:
        from dockyard.runtime.cgroups.v1 import V1Manager

        return V1Manager(paths, unified)
    if unified:
        from dockyard.runtime.cgroups.v2 import V2Manager

        return V2Manager(unified)
    raise Unavailable(f"cgroups: process {pid} is in no cgroup this host mounts")


class OomWatcher:
    """The container's cgroups, and its v1 OOM eventfd in the loop (``on_oom`` per event).

    ``cgroups`` is None when they cannot be found (stats then come from the runtime); no
    eventfd on a cgroup v2 host (memory.events would need inotify; left out).
    """

    def __init__(self, loop: Loop, pid: int, on_oom: Callable[[], None]) -> None:
        self.loop = loop
        self.on_oom = on_oom
        self.fd = -1
        self.cgroups: Manager | None = None
        try:
            self.cgroups = manager_for_pid(pid)
            efd = self.cgroups.oom_eventfd()
        except DockyardError:
            return
        if efd is not None:
            self.fd = efd
            loop.watch(efd, self._readable)

    def _readable(self) -> None:
        try:
            os.read(self.fd, 8)
        except BlockingIOError:
            return
        if self.cgroups is None or not self.cgroups.exists():  # it fires on rmdir too
            self.close()
            return
        self.on_oom()

    def close(self) -> None:
        if self.fd >= 0:
            self.loop.unwatch(self.fd)
            os.close(self.fd)
            self.fd = -1
